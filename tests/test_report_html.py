"""`jglue-bench report --format html`: the page's content, escaping, links and command, read back with the standard
library's HTML parser. tests/test_report_html_browser.py opens the same pages in a real headless Chromium."""

from __future__ import annotations

import base64
import hashlib
import html
import re
import shlex
from html.parser import HTMLParser
from pathlib import Path

import pytest
from test_report import PUBLISHED, cli, make_record, mixed_records, render, write_store

from jglue_bench.errors import UserError
from jglue_bench.records.published import COLUMNS

REPO = Path(__file__).resolve().parent.parent
LEADERBOARD_COMMAND = (
    "jglue-bench report --results results/records/tiny-cpu.jsonl --protocol all --table all "
    "--published --format html --plot"
)


class Page(HTMLParser):
    """The page as data: its tables (header texts; per row its attributes and cells), every element's attributes in
    document order, each section's title, notes and empty-table message, the inline scripts and styles, and the
    command."""

    TEXT_TAGS = ("th", "td", "p", "h2", "script", "style", "pre", "code")

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, dict] = {}
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.titles: dict[str, str] = {}
        self.notes: dict[str, list[str]] = {}
        self.empty: dict[str, str] = {}
        self.scripts: list[str] = []
        self.styles: list[str] = []
        self.command = ""
        self._open: list[tuple[str, dict[str, str], list[str]]] = []  # text-collecting elements being read
        self._table: dict | None = None
        self._section = ""
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        self.elements.append((tag, attributes))
        if tag == "section":
            self._section = attributes.get("id", "")
        elif tag == "table":
            self._table = self.tables[attributes["data-table"]] = {"columns": [], "rows": []}
        elif tag == "tr" and self._table is not None and attributes:  # body rows carry data-task / data-model
            self._table["rows"].append({"attributes": attributes, "cells": []})
        if tag in self.TEXT_TAGS:
            self._open.append((tag, attributes, []))

    def handle_data(self, data):
        for _, _, text in self._open:
            text.append(data)

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        if not self._open or self._open[-1][0] != tag:
            return
        _, attributes, parts = self._open.pop()
        text, classes = "".join(parts), attributes.get("class", "").split()
        if tag == "th" and self._table is not None:
            self._table["columns"].append(text)
        elif tag == "td" and self._table is not None:
            self._table["rows"][-1]["cells"].append({"attributes": attributes, "text": text})
        elif tag == "h2":
            self.titles[self._section] = text
        elif tag == "p" and "note" in classes:
            self.notes.setdefault(self._section, []).append(text)
        elif tag == "p" and "empty" in classes:
            self.empty[self._section] = text
        elif tag == "script":
            self.scripts.append(text)
        elif tag == "style":
            self.styles.append(text)
        elif tag == "code" and self._open and self._open[-1][0] == "pre":
            self.command = text

    def table_rows(self, name: str) -> list[dict[str, str]]:
        """A table's rows as {column: cell text}."""
        table = self.tables[name]
        return [dict(zip(table["columns"], (cell["text"] for cell in row["cells"]))) for row in table["rows"]]

    def cells(self, name: str, column: str) -> list[dict]:
        table = self.tables[name]
        index = table["columns"].index(column)
        return [row["cells"][index] for row in table["rows"]]


def markdown_tables(text: str) -> dict[str, tuple[list[str], list[dict[str, str]], list[str]]]:
    """The Markdown report's tables by title: columns, rows as {column: text}, notes."""
    tables = {}
    for chunk in text.split("## ")[1:]:
        title, _, body = chunk.partition("\n\n")
        lines = [line for line in body.splitlines() if line.startswith("|")]
        split = [[cell.strip() for cell in line.strip("|").split(" | ")] for line in lines]
        columns = split[0] if split else []
        rows = [dict(zip(columns, cells)) for cells in split[2:]]
        notes = [part for part in body.split("\n\n")[1:] if part.strip()] if lines else []
        tables[title.strip()] = (columns, rows, [note.strip() for note in notes])
    return tables


def page(capsys, *argv: str) -> str:
    return render(capsys, *argv, "--format", "html")


def with_published_deltas() -> list[dict]:
    """LINE's card: JNLI 88.9 and JSTS pearson 89.2 (v1.1 valid); ours above the first, below the second, and Laboro
    (card: JNLI 82.0) level."""
    return [
        make_record(scores={"valid": {"accuracy": 89.4}}, version="1.1"),
        make_record(
            task="jsts", main_metric="pearson", version="1.1", scores={"valid": {"pearson": 87.0, "spearman": 84.0}}
        ),
        make_record(model="laboro_distilbert", version="1.1", scores={"valid": {"accuracy": 82.0}}),
    ]


# ---- the same tables as the Markdown report ----------------------------------------------------------------


def test_every_table_shows_the_markdown_reports_rows_headers_and_notes(tmp_path, capsys):
    store = write_store(tmp_path / "runs.jsonl", mixed_records() + with_published_deltas())
    argv = ["--results", str(store), "--table", "all", "--published", str(PUBLISHED)]
    markdown = markdown_tables(render(capsys, *argv))
    parsed = Page(page(capsys, *argv))
    assert list(parsed.titles.values()) == list(markdown)  # the same tables, in the same order
    assert set(parsed.tables) == {"runs", "paper", "robust", "published", "models", "efficiency"}
    for name, table in parsed.tables.items():
        columns, rows, notes = markdown[parsed.titles[f"table-{name}"]]
        added = [column for column in table["columns"] if column not in columns]
        assert added in ([], ["protocol"], ["data", "protocol"]), (name, added)  # every row: protocol, data version
        assert [column for column in table["columns"] if column not in added] == columns
        html_rows = [
            {column: text for column, text in row.items() if column not in added} for row in parsed.table_rows(name)
        ]
        assert html_rows == rows, name
        assert parsed.notes.get(f"table-{name}", []) == [note.replace("`", "") for note in notes]
    assert len(parsed.tables["published"]["rows"]) == 4  # LINE JNLI, JSTS pearson and spearman; Laboro JNLI


def test_one_row_per_record_and_evaluated_split(tmp_path, capsys):
    records = mixed_records()
    store = write_store(tmp_path / "runs.jsonl", records)
    parsed = Page(page(capsys, "--results", str(store)))
    rows = parsed.tables["runs"]["rows"]
    assert len(rows) == sum(len(record["eval_metrics"]) for record in records) == 18
    assert [row["attributes"]["data-task"] for row in rows] == [row["task"] for row in parsed.table_rows("runs")]
    run_ids = [row["run"] for row in parsed.table_rows("runs")]
    assert sorted(set(run_ids)) == sorted(record["run_id"] for record in records)


def test_every_row_names_its_protocol_and_data_version(tmp_path, capsys):
    store = write_store(tmp_path / "runs.jsonl", mixed_records() + with_published_deltas())
    parsed = Page(page(capsys, "--results", str(store), "--table", "all", "--published", str(PUBLISHED)))
    assert set(parsed.tables) == {"runs", "paper", "robust", "published", "models", "efficiency"}
    for name in parsed.tables:
        for row in parsed.table_rows(name):
            protocol = row.get("protocol") or row.get("ours protocol")
            data = row.get("data") or row.get("ours data")
            assert protocol and data and re.search(r"v\d", data), (name, row)
    paper = parsed.table_rows("paper")
    assert {row["protocol"] for row in paper} == {"jglue_grid_fixed_seed (paper)"}  # JGLUE's six cells, one seed
    assert {row["protocol"] for row in parsed.table_rows("robust")} == {"seed_mean (robust)"}
    models = {(row["task"], row["data"]): row["protocol"] for row in parsed.table_rows("models")}
    assert models[("jnli", "v1.3 valid")] == "jglue_grid_fixed_seed (paper)"
    assert models[("jsts", "v1.1 valid")] == "single_run (single)"
    efficiency = {
        (row["task"], row["model"]): (row["data"], row["protocol"]) for row in parsed.table_rows("efficiency")
    }
    assert efficiency[("jnli", "line_distilbert")] == ("v1.1, v1.3", "paper, robust, single")


# ---- escaping, deltas, links ----------------------------------------------------------------------------------


def test_every_value_is_html_escaped(tmp_path, capsys):
    nasty = "x<img src=http://evil.example/a.png onerror=alert(1)>&\"'"
    records = [
        make_record(model=nasty, scores={"valid": {"accuracy": 89.4}}),
        make_record(task="<b>jnli</b>", scores={"valid": {"accuracy": 80.0}}),
        make_record(scores={"valid": {"accuracy": 91.0}}),
    ]
    mine = tmp_path / "mine.csv"  # published ids are checked on reading; a source is free text with a URL in it
    mine.write_text(
        ",".join(COLUMNS) + "\nline_distilbert,,jnli,accuracy,90.1,,1.3,valid,single_run,"
        "https://example.org/<script>alert(2)</script>,a note\n",
        encoding="utf-8",
    )
    store = write_store(tmp_path / "runs.jsonl", records)
    text = page(capsys, "--results", str(store), "--table", "all", "--published", str(mine))
    for raw in ("<img src=http", "<b>jnli", "<script>alert", "onerror=alert(1)>"):
        assert raw not in text
    assert html.escape(nasty, quote=True) in text
    parsed = Page(text)
    assert [tag for tag, _ in parsed.elements if tag in ("img", "b")] == []
    assert len(parsed.scripts) == 1
    assert {row["model"] for row in parsed.table_rows("runs")} == {nasty, "line_distilbert"}
    assert {row["task"] for row in parsed.table_rows("runs")} == {"<b>jnli</b>", "jnli"}
    assert [row["attributes"]["data-model"] for row in parsed.tables["runs"]["rows"]].count(nasty) == 1
    [option] = [attrs["value"] for tag, attrs in parsed.elements if tag == "option" and attrs["value"] == nasty]
    assert any("<script>alert(2)</script>" in note for note in parsed.notes["table-published"])  # text, not markup


def test_deltas_are_coloured_by_sign_and_carry_the_sign(tmp_path, capsys):
    store = write_store(tmp_path / "runs.jsonl", with_published_deltas())
    parsed = Page(page(capsys, "--results", str(store), "--published", str(PUBLISHED)))
    rows = parsed.table_rows("published")
    deltas = parsed.cells("published", "delta")
    found = {
        (row["model"], row["task"], row["metric"], row["source"]): (cell["text"], cell["attributes"]["class"])
        for row, cell in zip(rows, deltas)
    }
    assert found[("line_distilbert", "jnli", "accuracy", "line_distilbert_card")] == ("+0.50", "num delta pos")
    assert found[("line_distilbert", "jsts", "pearson", "line_distilbert_card")] == ("-2.20", "num delta neg")
    assert found[("laboro_distilbert", "jnli", "accuracy", "line_distilbert_card")] == ("+0.00", "num delta zero")
    for text, classes in found.values():
        sign = {"pos": "+", "neg": "-", "zero": "+0.00"}[classes.split()[-1]]
        assert text.startswith(sign)
    # ours beside published: the two numbers sit in adjacent columns of the same row
    columns = parsed.tables["published"]["columns"]
    assert columns[columns.index("ours") : columns.index("ours") + 3] == ["ours", "ours data", "ours protocol"]
    assert columns.index("published") == columns.index("ours protocol") + 1
    assert "td.delta.pos" in parsed.styles[0] and "td.delta.neg" in parsed.styles[0]


def test_no_external_url_in_any_src_or_link_href(tmp_path, capsys):
    store = write_store(tmp_path / "runs.jsonl", mixed_records() + with_published_deltas())
    text = page(capsys, "--results", str(store), "--table", "all", "--published", str(PUBLISHED), "--plot")
    assert "https://huggingface.co" in text  # the sources are named in the notes, as text
    parsed = Page(text)
    sources = [(tag, attrs["src"]) for tag, attrs in parsed.elements if "src" in attrs]
    links = [(tag, attrs["href"]) for tag, attrs in parsed.elements if tag in ("link", "a") and "href" in attrs]
    assert sources and links
    for tag, value in sources + links:
        if value.startswith("data:"):  # inline bytes: nothing to fetch (base64 may spell anything, "//" too)
            header, _, payload = value.partition(",")
            assert header in ("data:image/png;base64", "data:") and base64.b64decode(payload, validate=True) is not None
        else:
            assert value.startswith("#") and "http" not in value and "//" not in value, (tag, value)
    # and on the raw text, as the brief words it: no http in any src= or link href= (data: payloads left out)
    raw = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]*", "data:image/png;base64,", text)
    for pattern in (
        r"""\bsrc\s*=\s*["']?([^"'\s>]*)""",
        r"""<link\b[^>]*\bhref\s*=\s*["']?([^"'\s>]*)""",
        r"""\bhref\s*=\s*["']?([^"'\s>]*)""",
    ):
        for value in re.findall(pattern, raw, flags=re.IGNORECASE):
            assert "http" not in value.lower(), value
    assert not re.search(r"@import|url\(", parsed.styles[0])
    assert not re.search(r"\b(fetch|XMLHttpRequest|import\(|WebSocket)\b", parsed.scripts[0])
    # the Content-Security-Policy allows only the page's own inline style and script, and data: images
    [policy] = [
        attrs["content"] for tag, attrs in parsed.elements if attrs.get("http-equiv") == "Content-Security-Policy"
    ]
    for inline in (parsed.styles[0], parsed.scripts[0]):
        digest = base64.b64encode(hashlib.sha256(inline.encode("utf-8")).digest()).decode("ascii")
        assert f"'sha256-{digest}'" in policy
    assert policy.startswith("default-src 'none'; img-src data:;")


def test_the_page_names_the_command_that_makes_it_and_that_command_makes_it(tmp_path, capsys):
    store = write_store(tmp_path / "runs.jsonl", mixed_records())
    text = page(
        capsys,
        "--results",
        str(store),
        "--protocol",
        "paper",
        "--published",
        "--published",
        str(PUBLISHED),
        "--last",
        "20",
    )
    command = Page(text).command
    assert command == (
        f"jglue-bench report --results {shlex.quote(str(store))} --protocol paper --published "
        f"--published {shlex.quote(str(PUBLISHED))} --last 20 --format html"
    )
    argv = shlex.split(command)
    assert argv[:2] == ["jglue-bench", "report"]
    args = cli(*argv[2:])
    args.handler(args)
    assert capsys.readouterr().out == text


def test_the_plot_is_embedded_as_a_data_uri(tmp_path, capsys, monkeypatch):
    store = write_store(tmp_path / "runs.jsonl", mixed_records() + with_published_deltas())
    monkeypatch.chdir(tmp_path)
    before = sorted(tmp_path.iterdir())
    parsed = Page(page(capsys, "--results", str(store), "--published", "--plot"))
    assert sorted(tmp_path.iterdir()) == before  # a bare --plot writes no file
    [image] = [attrs for tag, attrs in parsed.elements if tag == "img"]
    assert image["src"].startswith("data:image/png;base64,") and image["alt"]
    png = base64.b64decode(image["src"].split(",", 1)[1], validate=True)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert parsed.command.endswith("--format html --plot")
    # --plot PATH.png: the file is written and the page holds the same bytes
    figure = tmp_path / "figures" / "ours.png"
    parsed = Page(page(capsys, "--results", str(store), "--published", "--plot", str(figure)))
    [image] = [attrs for tag, attrs in parsed.elements if tag == "img"]
    assert base64.b64decode(image["src"].split(",", 1)[1]) == figure.read_bytes() == png
    assert parsed.command.endswith(f"--format html --plot {shlex.quote(str(figure))}")
    # without --plot: no figure
    assert [tag for tag, _ in Page(page(capsys, "--results", str(store))).elements if tag == "img"] == []


def test_a_bare_plot_needs_the_html_page(tmp_path):
    args = cli("--results", str(write_store(tmp_path / "runs.jsonl", [make_record()])), "--plot")
    with pytest.raises(UserError, match="--plot without a file name draws into the page of --format html"):
        args.handler(args)


# ---- sorting and filtering data -------------------------------------------------------------------------------


def test_cells_carry_the_numbers_they_sort_by(tmp_path, capsys):
    records = mixed_records() + [
        make_record(
            model="tiny",
            task="jsts",
            main_metric="pearson",
            scores={"valid": {"pearson": float("nan"), "spearman": 1.0}},
        )
    ]
    store = write_store(tmp_path / "runs.jsonl", records)
    parsed = Page(page(capsys, "--results", str(store), "--table", "all"))
    pearson = {cell["text"]: cell["attributes"] for cell in parsed.cells("runs", "pearson")}
    assert pearson["88.10"]["data-value"] == "88.1" and "num" in pearson["88.10"]["class"]
    assert "data-value" not in pearson["n/a"] and "na" in pearson["n/a"]["class"]
    assert "class" not in pearson[""]  # a record without the metric: blank
    lrs = {cell["text"]: cell["attributes"].get("data-value") for cell in parsed.cells("runs", "lr")}
    assert lrs["5e-05"] == "5e-05" and lrs["3e-05"] == "3e-05"  # learning rates sort as numbers, not as text
    robust = parsed.cells("robust", "accuracy")
    assert [(cell["text"], cell["attributes"]["data-value"]) for cell in robust] == [("83.00 ± 3.61", "83.0")]
    headers = [attrs for tag, attrs in parsed.elements if tag == "th"]
    assert all(attrs["scope"] == "col" for attrs in headers)
    assert sum(1 for tag, attrs in parsed.elements if tag == "button") == len(headers)


def test_the_filters_offer_every_task_and_model(tmp_path, capsys):
    store = write_store(tmp_path / "runs.jsonl", mixed_records() + with_published_deltas())
    parsed = Page(page(capsys, "--results", str(store), "--table", "all"))
    options: dict[str, list[str]] = {}
    select = None
    for tag, attrs in parsed.elements:
        if tag == "select":
            select = attrs["id"]
        elif tag == "option":
            options.setdefault(select, []).append(attrs["value"])
    assert options["filter-task"] == ["", "jsts", "jnli", "jcola"]  # JGLUE's order
    assert options["filter-model"] == ["", "laboro_distilbert", "line_distilbert"]
    model_columns = [
        attrs["data-model-column"] for tag, attrs in parsed.elements if tag == "th" and "data-model-column" in attrs
    ]
    assert model_columns == ["laboro_distilbert", "line_distilbert"]  # the models table hides other models' columns
    filters = next(attrs for tag, attrs in parsed.elements if attrs.get("id") == "filters")
    assert "hidden" in filters  # shown by the script; without JavaScript the page shows every row and no filter


def test_the_same_records_give_the_same_page_in_any_order(tmp_path, capsys):
    records = mixed_records() + with_published_deltas()
    store = write_store(tmp_path / "runs.jsonl", records)
    other = write_store(tmp_path / "reversed.jsonl", records[::-1])
    argv = ["--table", "all", "--published", str(PUBLISHED)]
    first = page(capsys, "--results", str(store), *argv)
    second = page(capsys, "--results", str(other), *argv)
    assert first.replace("reversed.jsonl", "runs.jsonl") == second.replace("reversed.jsonl", "runs.jsonl")


def test_an_empty_table_says_why(tmp_path, capsys):
    store = write_store(tmp_path / "runs.jsonl", [make_record(model="tiny")])
    parsed = Page(page(capsys, "--results", str(store), "--published"))
    assert parsed.empty["table-published"] == "(no published number for a model and task of these records)"
    assert "published" not in parsed.tables


def test_the_committed_leaderboard_page_is_what_its_command_makes(capsys, monkeypatch):
    """results/leaderboard.html is generated by the command in results/README.md, never edited by hand."""
    readme = (REPO / "results" / "README.md").read_text(encoding="utf-8")
    assert f"`{LEADERBOARD_COMMAND} >\n  results/leaderboard.html`" in readme or (
        f"{LEADERBOARD_COMMAND} > results/leaderboard.html" in " ".join(readme.split())
    )
    monkeypatch.chdir(REPO)
    argv = shlex.split(LEADERBOARD_COMMAND)
    args = cli(*argv[2:])
    args.handler(args)
    text = capsys.readouterr().out
    committed = (REPO / "results" / "leaderboard.html").read_text(encoding="utf-8")
    # the embedded figure's bytes depend on matplotlib's build; the rest must match exactly
    strip = re.compile(r'src="data:image/png;base64,[^"]*"')
    assert strip.sub("src=PNG", text) == strip.sub("src=PNG", committed)
    assert Page(committed).command == LEADERBOARD_COMMAND
