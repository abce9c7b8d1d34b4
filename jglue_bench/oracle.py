"""The JSQuAD ceiling a tokenizer allows: the best score of a perfect model that can only answer token spans.

A model answers with a span of whole tokens inside one window, so an answer that starts or ends inside a token
(MeCab cut the word elsewhere, or NFKC merged characters) cannot be matched exactly, and an answer that fits no
window cannot be found. For each question we try every span the decoder could return over the tokens a gold
answer touches (at most max_answer_length tokens, start in its max-context window), slice its text from the
original context and keep the best exact match and the best F1. Spans reaching past those tokens only add
characters from outside the answer (a match there would be a coincidence of the character-bag F1), so they
are not tried.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Sequence

from jglue_bench import metrics
from jglue_bench.tasks.common import Example
from jglue_bench.tasks.extractive_qa import gold_texts, qa_setting, window_stats
from jglue_bench.tasks.spec import TaskSpec


def oracle_scores(examples: Sequence[Example], features: Sequence[dict], spec: TaskSpec) -> dict[str, Any]:
    """Counts and oracle scores (fractions in [0, 1]) for `examples` and their features (the prepare stage's)."""
    max_answer_length = qa_setting(spec, "max_answer_length")
    windows_of: dict[int, list[dict]] = defaultdict(list)
    for feature in features:
        windows_of[feature["example_index"]].append(feature)
    exact_matches, f1s, on_boundaries = [], [], 0
    for index, example in enumerate(examples):
        windows = windows_of[index]
        texts = candidate_texts(example, windows, max_answer_length) or {""}
        exact_match, f1 = best_scores(texts, gold_texts(example))
        exact_matches.append(exact_match)
        f1s.append(f1)
        on_boundaries += bool(example.label) and on_token_boundaries(example.label[0], windows)
    count = len(examples)
    windows = window_stats(examples, features)
    return {"questions": count, "windows": windows["windows"], "gold_in_window": windows["gold_in_window"],
            "gold_in_window_fraction": windows["gold_in_window_fraction"],
            "gold_on_token_boundaries": on_boundaries,
            "gold_on_token_boundaries_fraction": on_boundaries / count if count else 0.0,
            "exact_match": sum(exact_matches) / count if count else 0.0,
            "f1": sum(f1s) / count if count else 0.0}


def candidate_texts(example: Example, windows: Sequence[dict], max_answer_length: int) -> set[str]:
    """Texts of the token spans the decoder could return within any gold answer's tokens, sliced from the
    original context."""
    context = example.texts[1]
    texts: set[str] = set()
    for window in windows:
        offsets, max_context = window["offsets"], window["max_context"]
        positions = [p for p, span in enumerate(offsets) if span is not None]
        for answer_text, answer_start in example.label:
            answer_end = answer_start + len(answer_text)
            touched = [p for p in positions if offsets[p][0] < answer_end and offsets[p][1] > answer_start]
            for s in touched:
                if max_context[s]:
                    texts.update(context[offsets[s][0]:offsets[e][1]] for e in touched
                                 if s <= e and e - s + 1 <= max_answer_length)
    return texts


def best_scores(texts: set[str], golds: list[str]) -> tuple[float, float]:
    """The best exact match and the best F1 among `texts`, each on its own."""
    # Most questions have a gold among the candidates: an exact match means F1 1, so skip scoring the rest.
    if any(metrics.jsquad_exact_match(text, golds) == 1.0 for text in texts & set(golds)):
        return 1.0, 1.0
    return (max(metrics.jsquad_exact_match(text, golds) for text in texts),
            max(metrics.jsquad_f1(text, golds) for text in texts))


def on_token_boundaries(answer: tuple[str, int], windows: Sequence[dict]) -> bool:
    """Does some context token start exactly where the answer starts, and some token end where it ends?"""
    answer_text, answer_start = answer
    answer_end = answer_start + len(answer_text)
    spans = {span for window in windows for span in window["offsets"] if span is not None}
    return any(start == answer_start for start, _ in spans) and any(end == answer_end for _, end in spans)


def format_oracle(result: dict[str, Any]) -> str:
    """A small table of an oracle_scores result; scores on the published tables' scale (x100)."""
    return format_oracle_comparison({"value": result})


def format_oracle_comparison(results: dict[str, dict[str, Any]]) -> str:
    """One column per tokenizer (name -> oracle_scores result); a Markdown table."""
    rows = [("questions", [f"{result['questions']:,}" for result in results.values()]),
            ("windows (features)", [f"{result['windows']:,}" for result in results.values()]),
            ("gold answer inside a window",
             [_count_and_percent(result["gold_in_window"], result["questions"]) for result in results.values()]),
            ("gold answer on token boundaries",
             [_count_and_percent(result["gold_on_token_boundaries"], result["questions"])
              for result in results.values()]),
            ("oracle exact match", [f"{100 * result['exact_match']:.2f}" for result in results.values()]),
            ("oracle F1", [f"{100 * result['f1']:.2f}" for result in results.values()])]
    names = list(results)
    width = max(len(name) for name, _ in rows)
    widths = [max([len(name)] + [len(values[i]) for _, values in rows]) for i, name in enumerate(names)]
    lines = ["| " + "JSQuAD oracle".ljust(width) + " | " + " | ".join(n.rjust(w) for n, w in zip(names, widths)) + " |",
             "|" + "-" * (width + 2) + "|" + "|".join("-" * (w + 1) + ":" for w in widths) + "|"]
    lines += ["| " + name.ljust(width) + " | " + " | ".join(v.rjust(w) for v, w in zip(values, widths)) + " |"
              for name, values in rows]
    return "\n".join(lines)


def _count_and_percent(part: int, whole: int) -> str:
    return f"{part:,} ({100 * part / whole:.2f}%)" if whole else f"{part:,}"
