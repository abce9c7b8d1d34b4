"""The one Markdown table renderer: the report, the benchmarks, the oracle and `models` print through it.

Every column is padded to its widest cell; a right-aligned column gets `:` in the rule under its header. The
report passes cells it formatted itself (left-aligned); `markdown_table` formats numbers for the benchmarks
(thousands separators, 2-3 significant decimals) and right-aligns the columns that hold only numbers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def render_table(
    headers: Sequence[str], cells: Sequence[Sequence[str]], right_aligned: Sequence[bool] | None = None
) -> str:
    """Rows of text cells under `headers`; `right_aligned` per column (default: all left)."""
    right = list(right_aligned) if right_aligned is not None else [False] * len(headers)
    rows = [[str(header) for header in headers], *([str(cell) for cell in row] for row in cells)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        return (
            "| "
            + " | ".join(
                cell.rjust(width) if align else cell.ljust(width) for cell, width, align in zip(row, widths, right)
            )
            + " |"
        )

    rule = "|" + "|".join("-" * (width + 1) + (":" if align else "-") for width, align in zip(widths, right)) + "|"
    return "\n".join([line(rows[0]), rule, *(line(row) for row in rows[1:])])


def markdown_table(
    headers: Sequence[str], rows: Sequence[Sequence[Any]], right_aligned: Sequence[bool] | None = None
) -> str:
    """Values formatted by format_cell; columns of numbers right-aligned (or as `right_aligned` says, for
    numbers already formatted as text)."""
    numeric = right_aligned or [bool(rows) and all(_is_number(row[i]) for row in rows) for i in range(len(headers))]
    return render_table(headers, [[format_cell(value) for value in row] for row in rows], numeric)


def format_cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.0f}" if abs(value) >= 1000 else f"{value:.2f}" if abs(value) >= 1 else f"{value:.3f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "" if value is None else str(value)


def _is_number(value: Any) -> bool:
    return value is None or (isinstance(value, (int, float)) and not isinstance(value, bool))
