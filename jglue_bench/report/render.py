"""Rendering report tables: Markdown for people (and GitHub), CSV and JSON (one column per metric) for other tools,
with fixed number formats so the same records always give the same bytes."""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from typing import Any

from jglue_bench.report.tables import SeedValues, Spread, Table, runs_table
from jglue_bench.support.markdown import render_table


def format_number(value: Any, digits: int, signed: bool = False) -> str:
    """Fixed formats: None/NaN (an undefined score, say a correlation over constant predictions) is "n/a"."""
    if isinstance(value, bool) or isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if value is None or not math.isfinite(value):
        return "n/a"
    value = 0.0 if round(value, digits) == 0 else value  # no "-0.00"
    return f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"


def text_cell(value: Any, digits: int, signed: bool = False) -> str:
    if isinstance(value, SeedValues):
        return " ".join(format_number(item, digits) for item in value.values)
    if isinstance(value, Spread):
        mean = format_number(value.mean, digits, signed)
        return mean if value.std is None else f"{mean} ± {format_number(value.std, digits)}"
    return format_number(value, digits, signed)


def runs_markdown(records: Sequence[dict[str, Any]]) -> str:
    """The runs table alone (what `train` prints after a run, and a sweep after its runs)."""
    return render_markdown_table(runs_table(records))


def render_markdown_table(table: Table) -> str:
    return render_table(
        table.columns,
        [
            [
                text_cell(row[column], 4 if column in table.fine else 2, column in table.signed)
                if column in row
                else ""
                for column in table.columns
            ]
            for row in table.rows
        ],
    )


def render_markdown(tables: Sequence[Table]) -> str:
    parts = []
    for table in tables:
        body = render_markdown_table(table) if table.rows else f"({table.empty})"
        notes = "".join(f"\n\n{note}" for note in table.notes) if table.rows else ""
        parts.append(f"## {table.title}\n\n{body}{notes}\n")
    return "\n".join(parts)


def flat_columns(table: Table) -> list[str]:
    """CSV and JSON columns: a column holding mean ± std becomes two, `name` and `name std`."""
    columns = []
    for column in table.columns:
        columns.append(column)
        if any(isinstance(row.get(column), Spread) for row in table.rows):
            columns.append(f"{column} std")
    return columns


def flat_rows(table: Table) -> list[dict[str, Any]]:
    """Rows with Spread cells split in two; a column a row lacks stays absent (blank), unlike an undefined score."""
    rows = []
    for row in table.rows:
        flat = {}
        for column, value in row.items():
            if isinstance(value, Spread):
                flat[column] = value.mean
                if value.std is not None:  # no std (one run, or none given): a blank cell
                    flat[f"{column} std"] = value.std
            else:
                flat[column] = value
        rows.append(flat)
    return rows


def render_csv(table: Table) -> str:
    out = io.StringIO()
    columns = flat_columns(table)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in flat_rows(table):
        writer.writerow(
            [text_cell(row[column], 4, column in table.signed) if column in row else "" for column in columns]
        )
    return out.getvalue()


def render_json(tables: Sequence[Table]) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, SeedValues):
            return [plain(item) for item in value.values]
        if isinstance(value, float):
            return None if not math.isfinite(value) else round(value, 4) + 0.0  # + 0.0: no -0.0
        return value

    document = {
        "tables": [
            {
                "name": table.name,
                "title": table.title,
                "columns": flat_columns(table),
                "rows": [
                    {column: plain(row.get(column)) for column in flat_columns(table)} for row in flat_rows(table)
                ],
                "notes": table.notes,
            }
            for table in tables
        ]
    }
    return json.dumps(document, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
