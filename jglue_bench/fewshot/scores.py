"""lm-eval's logged samples -> per-example predictions, our extra metrics and the chance level of each score.

The preset's own metrics are lm-eval's (its aggregation, as the published numbers were made); these add what
the field's single number hides: balanced accuracy and macro-F1 for classification, JGLUE's character F1
against every gold answer for generated JSQuAD answers, the share of generations in the required format, and
beside every score what guessing would get. All values x100, as records keep them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from jglue_bench import metrics

# lm-eval metric names -> the names our records and reports use
LM_EVAL_NAMES = {"acc": "accuracy", "exact_match": "exact_match", "pearson": "pearson", "spearman": "spearman"}


def preset_metrics(results: Mapping[str, Any]) -> dict[str, float]:
    """The preset's own scores from lm-eval's `results[task]` ("acc,none" -> accuracy), x100."""
    found = {}
    for key, value in results.items():
        name, _, filter_name = key.partition(",")
        if not filter_name or name.endswith("_stderr") or not isinstance(value, (int, float)):
            continue
        found[f"{LM_EVAL_NAMES.get(name, name)}"] = round(100 * float(value), 4)
    return found


def prediction_rows(samples: Sequence[Mapping[str, Any]], output_type: str) -> list[dict[str, Any]]:
    """One row per scored document: id, the full prompt, each choice's log-likelihood (or the generated text),
    the prediction and the gold."""
    rows = []
    for sample in sorted(samples, key=lambda item: item["doc_id"]):
        doc = sample["doc"]
        if output_type == "multiple_choice":
            arguments = [argument for argument in sample["arguments"]]
            loglikelihoods = [float(response[0]) for response in sample["filtered_resps"]]
            choices = [continuation for _, continuation in arguments]
            best = max(range(len(loglikelihoods)), key=loglikelihoods.__getitem__)
            rows.append(
                {
                    "id": doc["id"],
                    "prompt": arguments[0][0],
                    "choices": choices,
                    "loglikelihoods": loglikelihoods,
                    "prediction": best,
                    "gold": sample["target"],
                    "correct": best == sample["target"],
                }
            )
        else:
            generated = sample["filtered_resps"]
            generated = generated[0] if isinstance(generated, list) else generated
            rows.append(
                {
                    "id": doc["id"],
                    "prompt": sample["arguments"][0][0],
                    "generation": sample["resps"][0][0],
                    "prediction": generated,
                    "gold": sample["target"],
                    "golds": list(doc.get("answers", {}).get("text", [])) or [sample["target"]],
                    "context": doc.get("context"),
                }
            )
    return rows


INVALID = "<invalid>"  # every generated answer that is none of the task's labels


def extra_metrics(kind: str, rows: Sequence[Mapping[str, Any]], num_choices: int) -> dict[str, float]:
    """Our own metrics over the predictions, x100."""
    if kind in ("classification", "multiple_choice"):
        golds = [row["gold"] for row in rows]
        predictions = [row["prediction"] for row in rows]
        if any("generation" in row for row in rows):
            # a generated answer that is none of the golds' labels is one invalid class, not a class of its own
            # each (macro-F1 would average over every distinct malformed answer)
            golds = [str(gold) for gold in golds]
            labels = set(golds)
            predictions = [str(answer) if str(answer) in labels else INVALID for answer in predictions]
        found = {
            "balanced_accuracy": metrics.balanced_accuracy(golds, predictions),
            "macro_f1": metrics.macro_f1(golds, predictions),
        }
        if kind == "classification" and num_choices == 2:
            found["mcc"] = metrics.mcc(golds, predictions)
    elif kind == "extractive_qa":
        golds = [row["golds"] for row in rows]
        predictions = [row["prediction"] for row in rows]
        found = {
            "exact_match_all_golds": metrics.mean_exact_match(golds, predictions),
            "f1": metrics.mean_f1(golds, predictions),
            "format_rate": sum(in_context(row) for row in rows) / len(rows),
        }
    else:
        found = {}
    return {name: round(100 * value, 4) for name, value in found.items()}


def in_context(row: Mapping[str, Any]) -> bool:
    """An extractive answer is in the required format when it is non-empty, one line, and a span of the context."""
    answer = str(row["prediction"]).strip()
    return bool(answer) and "\n" not in answer and answer in str(row.get("context") or "")


def normalized_like_llm_jp_eval(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """llm-jp-eval compares NFKC-normalised answers: its rows get NFKC golds (and context) so that our extra
    metrics (character F1 against every gold, the format check) compare like with like."""
    from jglue_bench.fewshot.llm_jp_eval import normalize

    return [
        {
            **row,
            "golds": [normalize(str(gold)) for gold in row["golds"]],
            "context": normalize(row["context"]) if row.get("context") else row.get("context"),
        }
        for row in rows
    ]


def llm_jp_eval_format_rate(rows: Sequence[Mapping[str, Any]], scoring: str, spec) -> float:
    """The share of llm-jp-eval answers in the format its instruction asks for (x100): a label word (JNLI), a
    choice index 0-4 (JCommonsenseQA), a number in 0-5 (JSTS), a span of the context (JSQuAD)."""
    from jglue_bench.fewshot.llm_jp_eval import in_format

    if spec.kind == "extractive_qa":
        valid = [in_context(row) for row in rows]
    else:
        choices = spec.fields.get("choices") or ()
        labels = list(spec.labels) if spec.labels else [str(index) for index in range(len(choices))]
        valid = [in_format(str(row["prediction"]), scoring, labels) for row in rows]
    return round(100 * sum(valid) / len(rows), 4)


def chance_levels(kind: str, scores: Mapping[str, float], golds: Sequence[Any], num_choices: int) -> dict[str, float]:
    """What guessing uniformly at random scores on each metric (x100), for the same golds: accuracy and
    balanced accuracy 1/k, macro-F1 its expectation, MCC and correlations 0, generated answers 0."""
    levels: dict[str, float] = {}
    for name in scores:
        if name in ("accuracy", "balanced_accuracy") or (name == "exact_match" and kind != "extractive_qa"):
            levels[name] = 100.0 / num_choices
        elif name == "macro_f1":
            levels[name] = 100 * metrics.chance_macro_f1(golds, num_choices)
        elif name == "format_rate":
            continue  # not a score of the answers
        else:
            levels[name] = 0.0
    return {name: round(value, 4) for name, value in levels.items()}
