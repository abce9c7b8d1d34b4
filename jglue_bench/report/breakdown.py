"""`report --table breakdown`: where a model's score comes from, per run that stands for a model on a task (as in
significance.py), from its predictions file:

- classification and multiple choice: the confusion counts (gold -> predicted);
- JCoLA's out-of-domain split: the score per `source` (the linguistics paper each sentence comes from);
- regression (JSTS): the mean absolute error per gold-score bucket ([0, 1), [1, 2), ... [4, 5]);
- extractive QA (JSQuAD): exact match and F1 per length of the first gold answer (characters);
- `--by COLUMN`: the score per value of any column of the eval file (a user's own task's field, JCoLA's
  `source`, ...), the file read again by its path in the record.
Long format (one row per group), so tasks with different labels share one table and CSV/JSON stay flat.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jglue_bench.errors import UserError
from jglue_bench.records.choice import main_metric_of, split_scores
from jglue_bench.report import confidence
from jglue_bench.report.significance import predictions_of, standing_records
from jglue_bench.report.tables import SPLIT_ORDER, Table, data_label, evaluation_order, ranked

COLUMNS = ["task", "model", "data", "split", "by", "group", "n", "measure", "value"]
ANSWER_LENGTHS = ((1, 2), (3, 5), (6, 10), (11, 20), (21, None))  # characters of the first gold answer


def breakdown_table(records: Sequence[dict[str, Any]], by: str | None = None) -> Table:
    rows, notes = [], []
    standing = standing_records(records)
    for key in sorted(standing, key=evaluation_order):
        record = standing[key]
        for split in sorted(split_scores(record), key=lambda split: ranked(split, SPLIT_ORDER)):
            path = predictions_of(record, split)
            if not path.is_file():
                notes.append(f"{key[1]} {key[0]} {split}: no predictions file ({path}).")
                continue
            predictions = confidence.read_predictions(path)
            base = {"task": key[1], "model": key[0], "data": data_label(key[2]), "split": split}
            rows += [{**base, **row} for row in groups_of(record, split, predictions, by)]
    if by is not None and not any(row["by"] == by for row in rows):
        raise UserError(f"--by {by}: no eval file of these runs has a column {by!r}.")
    notes.insert(
        0,
        "One row per group of examples: confusion counts (n = examples with that gold and prediction); the main "
        "metric per source, column value or answer length; the mean absolute error per JSTS gold bucket.",
    )
    return Table("breakdown", "Breakdowns: where the scores come from", COLUMNS, rows, notes, empty="no predictions")


def groups_of(record: dict[str, Any], split: str, predictions: list[dict], by: str | None) -> list[dict[str, Any]]:
    kind = record["task"].get("kind")
    if by is not None:
        values = column_values(record, split, by)
        return [] if values is None else scored_groups(record, predictions, by, value_of(values))
    if kind in ("classification", "multiple_choice"):
        rows = confusion(predictions)
        if record["task"]["name"] == "jcola" and "out_of_domain" in split:
            rows += scored_groups(record, predictions, "source", value_of(column_values(record, split, "source") or {}))
        return rows
    if kind == "regression":
        return error_by_bucket(predictions)
    if kind == "extractive_qa":
        return scored_groups(record, predictions, "answer length", answer_length_group, ("exact_match", "f1"))
    return []


def value_of(values: dict[str, str]):
    """A row's group: its example's value in the eval file's column."""
    return lambda row: values.get(str(row["id"]), "(missing)")


def confusion(predictions: list[dict]) -> list[dict[str, Any]]:
    counts = Counter((str(row["gold"]), str(row["prediction"])) for row in predictions)
    return [
        {
            "by": "confusion",
            "group": f"{gold} -> {predicted}",
            "n": n,
            "measure": "share of split",
            "value": 100.0 * n / len(predictions),
        }
        for (gold, predicted), n in sorted(counts.items())
    ]


def scored_groups(record, predictions, by: str, group_of, metrics: Sequence[str] | None = None) -> list[dict]:
    """The record's main metric (or `metrics`) over each group's examples; a metric undefined on a group (MCC of a
    group with one gold class) is n/a."""
    groups: dict[str, list[dict]] = defaultdict(list)
    for row in predictions:
        groups[str(group_of(row))].append(row)
    rows = []
    for group in sorted(groups, key=group_order):
        for metric in metrics or (main_metric_of(record),):
            data = confidence.columns(groups[group], metric)
            undefined = metric == "mcc" and min(len(set(data.golds)), len(set(data.predictions))) < 2
            try:  # MCC over one class is undefined (scikit-learn says 0 with a warning): n/a here
                value = None if undefined else confidence.scorer(metric)(data.golds, data.predictions)
            except ValueError:
                value = None
            rows.append({"by": by, "group": group, "n": len(groups[group]), "measure": metric, "value": value})
    return rows


def error_by_bucket(predictions: list[dict]) -> list[dict[str, Any]]:
    buckets: dict[str, list[float]] = defaultdict(list)
    for row in predictions:
        low = min(int(float(row["gold"])), 4)  # 5.0 belongs to [4, 5]
        buckets[f"[{low}, {low + 1}{']' if low == 4 else ')'}"].append(
            abs(float(row["prediction"]) - float(row["gold"]))
        )
    return [
        {
            "by": "gold score",
            "group": bucket,
            "n": len(errors),
            "measure": "mean abs error",
            "value": sum(errors) / len(errors),
        }
        for bucket, errors in sorted(buckets.items())
    ]


def answer_length_group(row: dict[str, Any]) -> str:
    golds = row.get("gold") or [""]
    length = len(golds[0])
    for low, high in ANSWER_LENGTHS:
        if high is None or length <= high:
            return f"{low}+ chars" if high is None else f"{low}-{high} chars"
    return "?"


def group_order(group: str) -> tuple:
    """Numbers in order (answer lengths, buckets), then text."""
    digits = "".join(char for char in group.split("-")[0] if char.isdigit())
    return (0, int(digits), group) if digits else (1, 0, group)


def column_values(record: dict[str, Any], split: str, column: str) -> dict[str, str] | None:
    """id -> the value of `column` in the eval file the record names for `split` (read again from its path);
    None when the file has no such column."""
    from jglue_bench.data.readers import read_rows

    files = [entry for entry in record["task"].get("files") or [] if entry.get("split") == split]
    if not files:
        raise UserError(f"the record of {record['model']['name']} on {record['task']['name']} names no {split} file.")
    entry = files[0]
    path = Path(entry["path"])
    if not path.is_file():
        raise UserError(f"{path} (the {split} file of {record['task']['name']}) is gone; --by reads it again.")
    fields = ((record.get("config") or {}).get("task") or {}).get("fields") or {}
    id_field = fields.get("id")
    values, seen = {}, False
    for row in read_rows(path, entry.get("format") or "jsonl"):
        seen = seen or column in row.values
        example_id = row.values.get(id_field) if id_field else row.number
        values[str(example_id)] = str(row.values.get(column, "(missing)"))
    return values if seen else None
