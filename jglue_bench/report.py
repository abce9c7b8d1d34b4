"""Tables from run records: Markdown for people (and GitHub), CSV for other tools."""

from __future__ import annotations

import csv
import io
from typing import Any, Sequence

COLUMNS = ("task", "model", "data", "train -> eval", "lr", "epochs", "seed", "metrics", "wall s")


def record_rows(record: dict[str, Any]) -> list[dict[str, str]]:
    """One row per evaluated split of the record (JCoLA scores two)."""
    task, hyper = record["task"], record.get("hyperparameters", {})
    by_split = record.get("eval_metrics") or {record.get("split"): record["metrics"]}
    version = f"v{task['data_version']} " if task.get("data_version") else ""
    return [{
        "task": task["name"],
        "model": record["model"]["name"],
        "data": f"{version}{_short_source(task.get('data_source', ''))}",
        "train -> eval": f"{task.get('train_split') or '-'} -> {split}",
        "lr": f"{hyper.get('learning_rate', '-')}",
        "epochs": f"{hyper.get('num_train_epochs', '-')}",
        "seed": f"{record.get('seed', '-')}",
        "metrics": " / ".join(f"{name} {_number(value)}" for name, value in metrics.items()),
        "wall s": f"{record.get('wall_time_s', 0):.1f}",
    } for split, metrics in by_split.items()]


def markdown_table(records: Sequence[dict[str, Any]]) -> str:
    rows = [row for record in records for row in record_rows(record)]
    widths = {column: max([len(column)] + [len(row[column]) for row in rows]) for column in COLUMNS}
    lines = ["| " + " | ".join(column.ljust(widths[column]) for column in COLUMNS) + " |",
             "|" + "|".join("-" * (widths[column] + 2) for column in COLUMNS) + "|"]
    lines += ["| " + " | ".join(row[column].ljust(widths[column]) for column in COLUMNS) + " |" for row in rows]
    return "\n".join(lines)


def csv_table(records: Sequence[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS))
    writer.writeheader()
    writer.writerows(row for record in records for row in record_rows(record))
    return out.getvalue()


def _number(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{value:.2f}"  # None/NaN: undefined (constant output)


def _short_source(source: str) -> str:
    return source.replace("bundled-sample", "sample")
