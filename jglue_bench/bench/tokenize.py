"""`bench tokenize`: pairs/s of the fast tokenization path against BertJapaneseTokenizer.__call__ on every
JSTS and JNLI pair of the real files at max length 128 (BandaiNamco's MeCab IPADIC + WordPiece), and whether
the ids are identical on every pair. Both run on one core in this process; the fast path starts cold (a new
encoder, an empty word cache), and a second, warm call is shown too."""

from __future__ import annotations

import time
from pathlib import Path

from jglue_bench.bench.common import bandainamco_tokenizer, inputs, present_splits, ratio, report, task_config

MAX_LENGTH = 128
TASKS = ("jsts", "jnli")


def run(
    data: Path, vocab: Path | None, version: str = "1.3", limit: int | None = None, out_dir: Path | None = None
) -> dict:
    from jglue_bench.tokenization.fast import FastEncoder, fast_encoder

    tokenizer = bandainamco_tokenizer(vocab)
    firsts, seconds, sources = sentence_pairs(data, version, limit)
    started = time.perf_counter()
    slow = tokenizer(firsts, seconds, truncation=True, max_length=MAX_LENGTH, padding=False, return_token_type_ids=True)
    slow_seconds = time.perf_counter() - started
    started = time.perf_counter()
    encoder: FastEncoder | None = fast_encoder(tokenizer, num_proc=1)
    build_seconds = time.perf_counter() - started
    if encoder is None:
        raise RuntimeError("the fast path refused BandaiNamco's tokenizer (its self-check differed); see the log")
    cold_seconds, fast = timed_call(encoder, firsts, seconds)
    warm_seconds, _ = timed_call(encoder, firsts, seconds)
    differing = [i for i in range(len(firsts)) if any(fast[key][i] != slow[key][i] for key in slow)]
    identical = not differing and list(fast) == list(slow)
    pairs = len(firsts)
    rows = [
        ["BertJapaneseTokenizer.__call__ (baseline)", round(slow_seconds, 3), pairs / slow_seconds],
        ["fast path, cold cache (ours)", round(cold_seconds, 3), pairs / cold_seconds],
        ["fast path, warm cache", round(warm_seconds, 3), pairs / warm_seconds],
    ]
    speedup = ratio(slow_seconds, cold_seconds)
    result = {
        **inputs(data, vocab, version),
        "pairs": pairs,
        "sources": sources,
        "max_length": MAX_LENGTH,
        "identical": identical,
        "differing_pairs": len(differing),
        "first_differing": differing[:10],
        "slow_seconds": slow_seconds,
        "fast_cold_seconds": cold_seconds,
        "fast_warm_seconds": warm_seconds,
        "fast_build_seconds": build_seconds,
        "slow_pairs_per_s": pairs / slow_seconds,
        "fast_cold_pairs_per_s": pairs / cold_seconds,
        "fast_warm_pairs_per_s": pairs / warm_seconds,
        "ratio_fast_over_slow": speedup,
    }
    report(
        "tokenize",
        f"bench tokenize: {pairs:,} JSTS + JNLI pairs ({', '.join(sources)}) at max length "
        f"{MAX_LENGTH}, BandaiNamco tokenizer (MeCab IPADIC + WordPiece), one process",
        ["path", "seconds", "pairs/s"],
        rows,
        result,
        f"ratio fast/slow (pairs/s, cold cache): {speedup:.2f}x; identical ids on all {pairs:,} pairs: "
        f"{'yes' if identical else f'NO ({len(differing)} differ)'}",
        out_dir,
        notes=[f"fast encoder built and self-checked in {build_seconds:.3f} s (not in the timings)"],
    )
    return result


def timed_call(encoder, firsts, seconds) -> tuple[float, dict]:
    started = time.perf_counter()
    encoded = encoder(firsts, seconds, MAX_LENGTH, True)
    return time.perf_counter() - started, encoded


def sentence_pairs(data: Path, version: str, limit: int | None) -> tuple[list[str], list[str], list[str]]:
    """(sentence1s, sentence2s, the files they came from) of every JSTS and JNLI split present, the first
    `limit` pairs when given."""
    from jglue_bench.prepare.stage import read_split, task_spec

    firsts, seconds, sources = [], [], []
    for task in TASKS:
        cfg = task_config(task, data, version)
        spec = task_spec(cfg)
        for split in present_splits(spec, data):
            examples = read_split(spec, cfg.data, split).examples
            firsts += [example.texts[0] for example in examples]
            seconds += [example.texts[1] for example in examples]
            sources.append(f"{task} {split}")
            if limit is not None and len(firsts) >= limit:
                return firsts[:limit], seconds[:limit], sources
    if not firsts:
        raise RuntimeError(f"no JSTS or JNLI file of version {version} under {data}")
    return firsts[:limit], seconds[:limit], sources
