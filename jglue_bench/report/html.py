"""`jglue-bench report --format html`: the report's tables as one self-contained page.

The page shows the same Table objects the Markdown report prints (rows, headers, numbers formatted by
report_render.text_cell, notes, the empty-table message), plus what a reader of a page needs:

- every row names its protocol and data version: tables that leave them implicit get a `protocol` column (the
  paper table: its grid label, the robust table: `seed_mean`, the models table: the protocols of its cells) and the
  efficiency table a `data` column, computed from the same records;
- sortable columns (a click on a header sorts by it, numbers as numbers, a second click reverses), a filter by task
  and by model, deltas coloured by sign (the sign is printed too, so colour is not the only cue);
- the `--plot` figure as a data: URI, and the command that made the page.

Nothing is loaded from elsewhere: the CSS and JavaScript are inline, and the page's Content-Security-Policy allows
only them (by hash) and data: images. Every value is HTML-escaped. Standard library only (matplotlib is imported by
report_cli.plot_scores when a plot is asked for); the same records give the same bytes.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import html
import math
import re
import shlex
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from jglue_bench.report import compare as report_compare
from jglue_bench.report import tables as report
from jglue_bench.report.render import text_cell
from jglue_bench.report.tables import SeedValues, Spread, Table


class _EmbedPlot:
    """`--plot` without a file name: the figure goes into the page only (report_cli's argparse const; not a str,
    which argparse would pass through type=Path)."""

    def __repr__(self) -> str:
        return "EMBED_PLOT"


EMBED_PLOT = _EmbedPlot()
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
MODELS_FIXED_COLUMNS = ("task", "metric", "data", "protocol")

CSS = """
:root { color-scheme: light; --pos: #116329; --pos-bg: #dafbe1; --neg: #a40e26; --neg-bg: #ffebe9; --line: #d0d7de;
        --muted: #57606a; --head: #f6f8fa; }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", "Noto Sans", "Noto Sans CJK JP", sans-serif;
       margin: 0 auto; padding: 1rem 1.5rem 3rem; max-width: 110rem; color: #1f2328; background: #fff; }
h1 { font-size: 1.5rem; margin: 0.5rem 0; }
h2 { font-size: 1.15rem; margin: 2rem 0 0.5rem; padding-bottom: 0.25rem; border-bottom: 1px solid var(--line); }
code, pre { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 0.9em; }
pre.command { background: var(--head); border: 1px solid var(--line); border-radius: 6px; padding: 0.5rem 0.75rem;
              white-space: pre-wrap; word-break: break-all; margin: 0.25rem 0 0.75rem; }
nav ul { display: flex; flex-wrap: wrap; gap: 0.25rem 1.25rem; list-style: none; padding: 0; margin: 0.5rem 0; }
.filters { display: flex; flex-wrap: wrap; align-items: center; gap: 0.5rem 1.25rem; position: sticky; top: 0;
           z-index: 2; background: #fff; padding: 0.5rem 0; border-bottom: 1px solid var(--line); }
.filters label { font-weight: 600; }
.filters select { font: inherit; margin-left: 0.35rem; padding: 0.1rem 0.25rem; }
.filters output { color: var(--muted); }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 0.25rem 0; }
th, td { border: 1px solid var(--line); padding: 0.2rem 0.5rem; text-align: left; vertical-align: top;
         white-space: nowrap; }
thead th { background: var(--head); padding: 0; }
th button { all: unset; box-sizing: border-box; display: block; width: 100%; padding: 0.3rem 1.3rem 0.3rem 0.5rem;
            cursor: pointer; font-weight: 600; position: relative; }
th button:focus-visible { outline: 2px solid #0969da; outline-offset: -2px; }
th button::after { content: "\\2195"; position: absolute; right: 0.35rem; color: #8c959f; }
th[aria-sort="ascending"] button::after { content: "\\25B2"; color: #1f2328; }
th[aria-sort="descending"] button::after { content: "\\25BC"; color: #1f2328; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.na { color: var(--muted); }
td.delta.pos { color: var(--pos); background: var(--pos-bg); font-weight: 600; }
td.delta.neg { color: var(--neg); background: var(--neg-bg); font-weight: 600; }
td.delta.zero { color: var(--muted); }
tbody tr:nth-child(even) { background: #fbfcfd; }
tbody tr:hover { background: #eef4fb; }
p.note { color: var(--muted); margin: 0.35rem 0; max-width: 75rem; }
p.empty { color: var(--muted); font-style: italic; }
figure { margin: 0.5rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid var(--line); }
figcaption { color: var(--muted); }
"""

SCRIPT = """
"use strict";
(function () {
  var collator = new Intl.Collator(undefined, {numeric: true, sensitivity: "base"});

  function blank(cell) {
    return cell.classList.contains("na") || cell.textContent.trim() === "";
  }

  function sortTable(table, index) {
    var header = table.tHead.rows[0].cells[index];
    var ascending = header.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) { cell.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var numeric = rows.every(function (row) {
      var cell = row.cells[index];
      return blank(cell) || cell.hasAttribute("data-value");
    });
    var keyed = rows.map(function (row, position) {
      var cell = row.cells[index];
      return {row: row, position: position, blank: blank(cell), text: cell.textContent.trim(),
              number: parseFloat(cell.getAttribute("data-value"))};
    });
    keyed.sort(function (a, b) {
      if (a.blank !== b.blank) { return a.blank ? 1 : -1; }  // empty and n/a cells last, either way
      var order = a.blank ? 0 : (numeric ? a.number - b.number : collator.compare(a.text, b.text));
      return (ascending ? order : -order) || a.position - b.position;
    });
    keyed.forEach(function (item) { body.appendChild(item.row); });
  }

  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (header, index) {
      header.querySelector("button").addEventListener("click", function () { sortTable(table, index); });
    });
  });

  var filters = document.getElementById("filters");
  var task = document.getElementById("filter-task");
  var model = document.getElementById("filter-model");
  var count = document.getElementById("filter-count");

  function applyFilters() {
    var shown = 0, total = 0;
    Array.prototype.forEach.call(document.querySelectorAll("table.sortable tbody tr"), function (row) {
      var visible = (!task.value || !row.hasAttribute("data-task") || row.getAttribute("data-task") === task.value) &&
                    (!model.value || !row.hasAttribute("data-model") || row.getAttribute("data-model") === model.value);
      row.hidden = !visible;
      total += 1;
      shown += visible ? 1 : 0;
    });
    Array.prototype.forEach.call(document.querySelectorAll("[data-model-column]"), function (cell) {
      cell.hidden = Boolean(model.value) && cell.getAttribute("data-model-column") !== model.value;
    });
    count.textContent = shown + " of " + total + " rows shown";
  }

  if (filters) {
    filters.hidden = false;
    task.addEventListener("change", applyFilters);
    model.addEventListener("change", applyFilters);
    applyFilters();
  }
})();
"""


def content_hash(text: str) -> str:
    """A CSP source for an inline <style> or <script> whose content is exactly `text`."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


CSP = f"default-src 'none'; img-src data:; style-src {content_hash(CSS)}; script-src {content_hash(SCRIPT)}"


def escape(value: Any) -> str:
    return html.escape(str(value), quote=True)


def inline_code(text: str) -> str:
    """A note's `code` spans as <code>, after escaping (so a note can never inject markup)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escape(text))


# ---- protocol and data version on every row ----------------------------------------------------------------


def with_row_labels(tables: Sequence[Table], records: Sequence[dict[str, Any]], protocol: str) -> list[Table]:
    """The tables with a `protocol` column where a table leaves it implicit and a `data` column where it has none,
    computed from the records the tables were built from (copies; the tables themselves are not changed)."""
    labelled = []
    for table in tables:
        if table.name == "paper":
            by_row = {
                (choice.key[0], choice.key[1], report.data_label(choice.key[2])): f"{choice.label} (paper)"
                for choice in report.paper_choices(records)
            }
            table = _add_column(
                table,
                "protocol",
                "data",
                [by_row.get((row["model"], row["task"], row["data"]), "paper") for row in table.rows],
            )
        elif table.name == "robust":
            table = _add_column(table, "protocol", "data", ["seed_mean (robust)"] * len(table.rows))
        elif table.name == "models":
            found: dict[tuple[str, str, str], set[str]] = {}
            for s in report.scores_for(records, protocol):
                key = (s.task, s.metric, report.data_label(s.data_version, s.split))
                found.setdefault(key, set()).add(f"{s.protocol_label} ({s.protocol})")
            table = _add_column(
                table,
                "protocol",
                "data",
                [", ".join(sorted(found.get((row["task"], row["metric"], row["data"]), ()))) for row in table.rows],
            )
        elif table.name == "efficiency":
            groups = report.group_by(records, report_compare.efficiency_key)
            keys = [
                (row["model"], row["task"], row["device"], row["precision"], row["processes"]) for row in table.rows
            ]
            table = _add_column(
                table,
                "data",
                "model",
                [
                    ", ".join(sorted({report.data_label(report.version_of(record)) for record in groups.get(key, [])}))
                    for key in keys
                ],
            )
            table = _add_column(
                table,
                "protocol",
                "data",
                [
                    ", ".join(sorted({str(record.get("protocol", "single")) for record in groups.get(key, [])}))
                    for key in keys
                ],
            )
        labelled.append(table)
    return labelled


def _add_column(table: Table, column: str, after: str, values: Sequence[str]) -> Table:
    if column in table.columns:
        return table
    columns = list(table.columns)
    columns.insert(columns.index(after) + 1 if after in columns else len(columns), column)
    rows = [{**row, column: value} for row, value in zip(table.rows, values)]
    return replace(table, columns=columns, rows=rows)


# ---- the page ----------------------------------------------------------------------------------------------


def command_line(args: Any) -> str:
    """The `jglue-bench report` command that makes this page, from its parsed arguments, options in a fixed order
    (stdout is the page: add `> FILE.html`)."""
    parts = ["jglue-bench", "report", "--results", str(args.results), "--protocol", args.protocol]
    if args.table:
        parts += ["--table", args.table]
    for path in args.published or []:
        parts += ["--published"] if path is None else ["--published", str(path)]
    if args.last:
        parts += ["--last", str(args.last)]
    parts += ["--format", "html"]
    if args.plot is not None:
        parts += ["--plot"] if args.plot is EMBED_PLOT else ["--plot", str(args.plot)]
    return shlex.join(parts)


@contextlib.contextmanager
def plot_target(plot: Path | _EmbedPlot) -> Iterator[Path]:
    """Where report_cli.plot_scores draws: the user's PATH.png, or for a bare --plot a temporary file."""
    if plot is EMBED_PLOT:
        with tempfile.TemporaryDirectory(prefix="jglue-bench-plot-") as folder:
            yield Path(folder) / "plot.png"
    else:
        yield Path(plot)


def render_report(
    args: Any, tables: Sequence[Table], records: Sequence[dict[str, Any]], plot_png: bytes | None = None
) -> str:
    """The page `report --format html` prints."""
    return render_html(
        with_row_labels(tables, records, args.protocol),
        command=command_line(args),
        plot_png=plot_png,
        record_count=len(records),
    )


def render_html(
    tables: Sequence[Table],
    *,
    command: str,
    plot_png: bytes | None = None,
    record_count: int | None = None,
    title: str = "jglue-bench report",
) -> str:
    tasks = sorted(
        {str(row["task"]) for table in tables for row in table.rows if row.get("task") is not None},
        key=lambda task: report.ranked(task, report.TASK_ORDER),
    )
    models = sorted(
        {str(row["model"]) for table in tables for row in table.rows if row.get("model") is not None}
        | {column for table in tables if table.name == "models" for column in _model_columns(table)}
    )
    counted = f" from {record_count} record{'s' if record_count != 1 else ''}" if record_count is not None else ""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f'<meta http-equiv="Content-Security-Policy" content="{escape(CSP)}">',
        '<link rel="icon" href="data:,">',
        f"<title>{escape(title)}</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        "<header>",
        f"<h1>{escape(title)}</h1>",
        f"<p>Generated{escape(counted)} by:</p>",
        f'<pre class="command"><code>{escape(command)}</code></pre>',
        "</header>",
        _filters(tasks, models),
        _contents(tables, plot_png is not None),
        "<main>",
    ]
    parts += [_section(table) for table in tables]
    if plot_png is not None:
        parts.append(_figure(plot_png))
    parts += ["</main>", f"<script>{SCRIPT}</script>", "</body>", "</html>"]
    return "\n".join(parts) + "\n"


def _filters(tasks: Sequence[str], models: Sequence[str]) -> str:
    def select(name: str, label: str, everything: str, values: Sequence[str]) -> str:
        options = [f'<option value="">{escape(everything)}</option>']
        options += [f'<option value="{escape(value)}">{escape(value)}</option>' for value in values]
        return (
            f'<label for="filter-{name}">{escape(label)}</label><select id="filter-{name}">{"".join(options)}</select>'
        )

    # hidden until the script runs: without JavaScript every row shows and no control pretends otherwise
    return (
        '<div id="filters" class="filters" role="search" hidden>'
        f"<span>{select('task', 'Task', 'all tasks', tasks)}</span>"
        f"<span>{select('model', 'Model', 'all models', models)}</span>"
        '<output id="filter-count" aria-live="polite"></output></div>'
    )


def _contents(tables: Sequence[Table], with_plot: bool) -> str:
    items = [f'<li><a href="#table-{escape(table.name)}">{escape(table.title)}</a></li>' for table in tables]
    if with_plot:
        items.append('<li><a href="#plot">Plot</a></li>')
    return f'<nav aria-label="tables"><ul>{"".join(items)}</ul></nav>'


def _model_columns(table: Table) -> list[str]:
    return [column for column in table.columns if column not in MODELS_FIXED_COLUMNS] if table.name == "models" else []


def _section(table: Table) -> str:
    head = f'<section id="table-{escape(table.name)}">\n<h2>{escape(table.title)}</h2>'
    if not table.rows:
        return f'{head}\n<p class="empty">({escape(table.empty)})</p>\n</section>'
    model_columns = set(_model_columns(table))

    def model_attribute(column: str) -> str:
        return f' data-model-column="{escape(column)}"' if column in model_columns else ""

    header = "".join(
        f'<th scope="col" data-column="{escape(column)}"{model_attribute(column)}>'
        f'<button type="button">{escape(column)}</button></th>'
        for column in table.columns
    )
    lines = [
        head,
        '<div class="scroll">',
        f'<table class="report sortable" data-table="{escape(table.name)}">',
        f"<thead><tr>{header}</tr></thead>",
        "<tbody>",
    ]
    for row in table.rows:
        attributes = "".join(f' data-{key}="{escape(row[key])}"' for key in ("task", "model") if key in row)
        cells = "".join(
            _cell(row, column, column in table.signed, model_attribute(column), 4 if column in table.fine else 2)
            for column in table.columns
        )
        lines.append(f"<tr{attributes}>{cells}</tr>")
    lines += ["</tbody>", "</table>", "</div>"]
    lines += [f'<p class="note">{inline_code(note)}</p>' for note in table.notes]
    return "\n".join(lines) + "\n</section>"


def sort_value(value: Any) -> float | None:
    """The number a cell sorts by: a score, a Spread's mean, a number written as text (lr "0.001"); else None."""
    if isinstance(value, Spread):
        value = value.mean
    if isinstance(value, str):
        value = float(value) if NUMBER.fullmatch(value.strip()) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _cell(row: dict[str, Any], column: str, signed: bool, extra: str = "", digits: int = 2) -> str:
    if column not in row:  # a column this row lacks: blank, as in Markdown
        return f"<td{extra}></td>"
    value = row[column]
    text = text_cell(value, digits, signed)
    number = sort_value(value)
    classes = []
    if number is not None or isinstance(value, (Spread, SeedValues, float, int)) and not isinstance(value, bool):
        classes.append("num")
    if text == "n/a":
        classes.append("na")
    title = ""
    if signed:
        classes.append("delta")
        if number is not None:
            shown = round(number, 2)
            sign, words = ("pos", "above") if shown > 0 else ("neg", "below") if shown < 0 else ("zero", "equal to")
            classes.append(sign)
            title = f' title="ours {words} published"'
    attributes = f' class="{" ".join(classes)}"' if classes else ""
    if number is not None:
        attributes += f' data-value="{number!r}"'
    return f"<td{attributes}{title}{extra}>{escape(text)}</td>"


def _figure(png: bytes) -> str:
    data = base64.b64encode(png).decode("ascii")
    return (
        '<section id="plot">\n<h2>Plot</h2>\n<figure>'
        f'<img src="data:image/png;base64,{data}" alt="Ours beside the published numbers per task: the main '
        'metric of each model, with seed standard deviations as error bars">'
        "<figcaption>Ours (with the robust protocol's seed std as error bars) beside the closest published "
        "number, per task (the figure <code>--plot</code> draws).</figcaption></figure>\n</section>"
    )
