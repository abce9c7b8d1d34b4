"""Tables from run records: Markdown for people (and GitHub), CSV for other tools."""

from __future__ import annotations

import csv
import io
from typing import Any, Sequence

COLUMNS = ("task", "model", "data", "train -> eval", "lr", "epochs", "seed", "metrics", "wall s")


def record_row(record: dict[str, Any]) -> dict[str, str]:
    task, hyper = record["task"], record.get("hyperparameters", {})
    return {
        "task": task["name"],
        "model": record["model"]["name"],
        "data": f"v{task['data_version']} {_short_source(task.get('data_source', ''))}",
        "train -> eval": f"{task.get('train_split') or '-'} -> {task['eval_split']}",
        "lr": f"{hyper.get('learning_rate', '-')}",
        "epochs": f"{hyper.get('num_train_epochs', '-')}",
        "seed": f"{record.get('seed', '-')}",
        "metrics": " / ".join(f"{name} {_number(value)}" for name, value in record["metrics"].items()),
        "wall s": f"{record.get('wall_time_s', 0):.1f}",
    }


def markdown_table(records: Sequence[dict[str, Any]]) -> str:
    rows = [record_row(record) for record in records]
    widths = {column: max([len(column)] + [len(row[column]) for row in rows]) for column in COLUMNS}
    lines = ["| " + " | ".join(column.ljust(widths[column]) for column in COLUMNS) + " |",
             "|" + "|".join("-" * (widths[column] + 2) for column in COLUMNS) + "|"]
    lines += ["| " + " | ".join(row[column].ljust(widths[column]) for column in COLUMNS) + " |" for row in rows]
    return "\n".join(lines)


def csv_table(records: Sequence[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS))
    writer.writeheader()
    writer.writerows(record_row(record) for record in records)
    return out.getvalue()


def _number(value: float | None) -> str:
    return "n/a" if value is None or value != value else f"{value:.2f}"  # None/NaN: undefined (constant output)


def _short_source(source: str) -> str:
    return "sample" if source == "bundled-sample" else ("download" if source.startswith("download") else "local")
