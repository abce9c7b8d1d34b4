"""The JSQuAD ceiling a tokenizer allows: the best score of a perfect model that can only answer token spans.

A model answers with a span of whole tokens inside one window, so an answer that starts or ends inside a token
(MeCab cut the word elsewhere, or NFKC merged characters) cannot be matched exactly, and an answer that fits no
window cannot be found. The metric compares strings, so any place in the context where a gold text stands
counts, not only the annotated one. For each question we find every occurrence of every gold text, try every
span the decoder could return over the tokens an occurrence touches (at most max_answer_length tokens, start in
its max-context window), and keep the best exact match and the best F1 twice: for the answer sliced from the
original context (ours) and for the answer rebuilt from its tokens (JGLUE's patched script, *_official).
Spans reaching past an occurrence's tokens only add characters from outside it (a gain there would be a
coincidence of the character-bag F1), so they are not tried.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from jglue_bench import metrics
from jglue_bench.support.markdown import markdown_table
from jglue_bench.tasks.common import Example
from jglue_bench.tasks.extractive_qa import gold_texts, official_answer_text, qa_setting, window_stats
from jglue_bench.tasks.spec import TaskSpec


def oracle_scores(
    examples: Sequence[Example], features: Sequence[dict], spec: TaskSpec, tokenizer=None
) -> dict[str, Any]:
    """Counts and oracle scores (fractions in [0, 1]) for `examples` and their features (the prepare stage's);
    with the tokenizer also the ceiling of the answers rebuilt from tokens (exact_match_official, f1_official)."""
    max_answer_length = qa_setting(spec, "max_answer_length")
    windows_of: dict[int, list[dict]] = defaultdict(list)
    for feature in features:
        windows_of[feature["example_index"]].append(feature)
    totals = defaultdict(float)
    on_boundaries = 0
    for index, example in enumerate(examples):
        windows = windows_of[index]
        candidates = candidate_answers(example, windows, max_answer_length, tokenizer) or {("", "")}
        golds = gold_texts(example)
        exact_match, f1 = best_scores({text for text, _ in candidates}, golds)
        totals["exact_match"] += exact_match
        totals["f1"] += f1
        if tokenizer is not None:
            exact_match, f1 = best_scores({rebuilt for _, rebuilt in candidates}, golds)
            totals["exact_match_official"] += exact_match
            totals["f1_official"] += f1
        on_boundaries += bool(example.label) and on_token_boundaries(example.label[0], windows)
    count = len(examples)
    windows = window_stats(examples, features)
    return {
        "questions": count,
        "windows": windows["windows"],
        "gold_in_window": windows["gold_in_window"],
        "gold_in_window_fraction": windows["gold_in_window_fraction"],
        "gold_on_token_boundaries": on_boundaries,
        "gold_on_token_boundaries_fraction": on_boundaries / count if count else 0.0,
        **{name: total / count if count else 0.0 for name, total in totals.items()},
    }


def candidate_answers(
    example: Example, windows: Sequence[dict], max_answer_length: int, tokenizer=None
) -> set[tuple[str, str]]:
    """(text sliced from the original context, text rebuilt from its tokens) of every span the decoder could
    return within the tokens of any occurrence of any gold text."""
    context = example.texts[1]
    found: set[tuple[str, str]] = set()
    for window in windows:
        offsets, max_context, ids = window["offsets"], window["max_context"], window["input_ids"]
        positions = [p for p, span in enumerate(offsets) if span is not None]
        for answer_start, answer_end in gold_occurrences(example):
            touched = [p for p in positions if offsets[p][0] < answer_end and offsets[p][1] > answer_start]
            for s in (s for s in touched if max_context[s]):
                for e in (e for e in touched if s <= e and e - s + 1 <= max_answer_length):
                    rebuilt = official_answer_text(tokenizer, ids[s : e + 1]) if tokenizer is not None else ""
                    found.add((context[offsets[s][0] : offsets[e][1]], rebuilt))
    return found


def gold_occurrences(example: Example) -> set[tuple[int, int]]:
    """(start, end) of every place in the context where a gold answer's text stands."""
    context, places = example.texts[1], set()
    for text, _ in example.label:
        start = context.find(text)
        while start >= 0:
            places.add((start, start + len(text)))
            start = context.find(text, start + 1)
    return places


def best_scores(texts: set[str], golds: list[str]) -> tuple[float, float]:
    """The best exact match and the best F1 among `texts`, each on its own."""
    # Most questions have a gold among the candidates: an exact match means F1 1, so skip scoring the rest.
    if any(metrics.jsquad_exact_match(text, golds) == 1.0 for text in texts & set(golds)):
        return 1.0, 1.0
    return (
        max(metrics.jsquad_exact_match(text, golds) for text in texts),
        max(metrics.jsquad_f1(text, golds) for text in texts),
    )


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
    rows = [
        ("questions", [f"{result['questions']:,}" for result in results.values()]),
        ("windows (features)", [f"{result['windows']:,}" for result in results.values()]),
        (
            "gold answer inside a window",
            [_count_and_percent(result["gold_in_window"], result["questions"]) for result in results.values()],
        ),
        (
            "gold answer on token boundaries",
            [
                _count_and_percent(result["gold_on_token_boundaries"], result["questions"])
                for result in results.values()
            ],
        ),
        ("oracle exact match", [f"{100 * result['exact_match']:.2f}" for result in results.values()]),
        ("oracle F1", [f"{100 * result['f1']:.2f}" for result in results.values()]),
    ]
    if all("f1_official" in result for result in results.values()):
        rows += [
            (
                "oracle exact match, rebuilt from tokens (JGLUE)",
                [f"{100 * result['exact_match_official']:.2f}" for result in results.values()],
            ),
            (
                "oracle F1, rebuilt from tokens (JGLUE)",
                [f"{100 * result['f1_official']:.2f}" for result in results.values()],
            ),
        ]
    return markdown_table(
        ["JSQuAD oracle", *results],
        [[name, *values] for name, values in rows],
        right_aligned=[False] + [True] * len(results),
    )


def _count_and_percent(part: int, whole: int) -> str:
    return f"{part:,} ({100 * part / whole:.2f}%)" if whole else f"{part:,}"
