"""`bench padding`: padding efficiency (real tokens / computed tokens) per task on the real files, BandaiNamco
tokenizer: ours (length-grouped batches, each padded to its own longest sequence: batching.training_batches;
multiple choice in choice groups: batching.Collator) against JGLUE's official setup (every sequence padded to
max_seq_length); random-order dynamic padding is shown between them. Batches as in training: 32
(JCommonsenseQA: 64 questions x 5 choices)."""

from __future__ import annotations

from pathlib import Path

from jglue_bench.bench.common import bandainamco_tokenizer, inputs, present_splits, ratio, report, task_config

TASK_SPLITS = (("jnli", "valid"), ("jsts", "train"), ("jcommonsenseqa", "train"), ("jsquad", "valid"))


def run(
    data: Path,
    vocab: Path | None,
    *,
    seed: int = 42,
    tasks=TASK_SPLITS,
    version: str = "1.3",
    limit: int | None = None,
    out_dir: Path | None = None,
) -> dict:
    tokenizer = bandainamco_tokenizer(vocab)
    measures = [measure_task(task, split, data, version, tokenizer, limit, seed) for task, split in tasks]
    rows = [
        [
            m["data"],
            m["features"],
            m["mean_tokens"],
            m["pad_to_max"],
            m["dynamic_random"],
            m["grouped"],
            ratio(m["grouped"], m["pad_to_max"]),
        ]
        for m in measures
    ]
    ours = sum(m["computed"]["grouped"] for m in measures)
    official = sum(m["computed"]["pad_to_max"] for m in measures)
    overall = ratio(official, ours)
    per_task = ", ".join(f"{m['task']} {ratio(m['grouped'], m['pad_to_max']):.2f}x" for m in measures)
    result = {**inputs(data, vocab, version), "tasks": measures, "ratio_ours_over_pad_to_max": overall, "seed": seed}
    report(
        "padding",
        "bench padding: real tokens / computed tokens, BandaiNamco tokenizer (batch 32; "
        "JCommonsenseQA 64 questions x 5 choices)",
        [
            "data",
            "features",
            "mean tokens",
            "pad to max_seq_length (official)",
            "dynamic, random order",
            "length-grouped (ours)",
            "ours / pad-to-max",
        ],
        rows,
        result,
        f"ratio ours/pad-to-max padding efficiency: {per_task}; all tasks together {overall:.2f}x fewer "
        f"computed tokens",
        out_dir,
    )
    return result


def measure_task(task: str, split: str, data: Path, version: str, tokenizer, limit: int | None, seed: int) -> dict:
    """Features of one split (prepare's own featurization), and their padding under the three batchings."""
    from jglue_bench.prepare.stage import featurize_split, read_split, task_spec

    cfg = task_config(task, data, version)
    spec = task_spec(cfg)
    split = (present_splits(spec, data, (split, "valid", "train", "test")) or [split])[0]
    prepared = featurize_split(
        read_split(spec, cfg.data, split, limit), spec, tokenizer, cfg.max_seq_length, with_token_types=False
    )
    measured = padding_efficiency(
        prepared.features, int(cfg.batch_size), int(cfg.max_seq_length), seed, int(cfg.trainer.choice_groups)
    )
    label = f"{task} {split}" + (" (choices)" if spec.kind == "multiple_choice" else "")
    return {
        "task": task,
        "split": split,
        "data": label,
        "batch_size": int(cfg.batch_size),
        "max_seq_length": int(cfg.max_seq_length),
        "features": len(prepared.features),
        **measured,
    }


def padding_efficiency(
    features: list[dict], batch_size: int, max_seq_length: int, seed: int, choice_groups: int = 1
) -> dict:
    """Real tokens over computed tokens for pad-to-max, random dynamic and length-grouped batches, counted in
    the tensors the training loop's collator builds. Pad-to-max and random dynamic batches pad a multiple
    choice question's choices to one length (as HF Trainer does); ours run them in `choice_groups` groups."""
    from jglue_bench.train.batching import Collator, feature_length, has_choices, training_batches

    lengths = [feature_length(feature) for feature in features]
    # each sequence's length: one per choice in a multiple choice feature
    sequences = [
        [len(row) for row in feature["input_ids"]] if has_choices(feature) else [len(feature["input_ids"])]
        for feature in features
    ]
    rows = [len(lengths_of_feature) for lengths_of_feature in sequences]
    real = sum(sum(lengths_of_feature) for lengths_of_feature in sequences)

    def computed(batches: list[list[int]], collator: Collator) -> int:
        return sum(computed_tokens(collator([features[i] for i in batch])) for batch in batches)

    plain = Collator(("input_ids",), pad_token_id=0)
    # seed + 1: the order train_one_epoch draws for the first epoch
    tokens = {
        "pad_to_max": sum(rows) * max_seq_length,
        "dynamic_random": computed(training_batches(lengths, batch_size, seed + 1, group_by_length=False), plain),
        "grouped": computed(
            training_batches(lengths, batch_size, seed + 1, group_by_length=True),
            Collator(("input_ids",), pad_token_id=0, choice_groups=choice_groups),
        ),
    }
    return {
        "real_tokens": real,
        "sequences": sum(rows),
        "mean_tokens": round(real / max(sum(rows), 1), 1),
        "computed": tokens,
        **{name: round(real / count, 3) for name, count in tokens.items()},
    }


def computed_tokens(batch: dict) -> int:
    """Token positions the model computes for a collated batch (every choice group's)."""
    return sum(int(group["input_ids"].numel()) for group in batch.get("choice_groups", [batch]))
