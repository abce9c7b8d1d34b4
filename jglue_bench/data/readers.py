"""Read the rows of a task file, each with where it came from, so every later error can name the file and line.

Formats: jsonl (JSON Lines), json (a list of objects; a SQuAD document is read as squad), squad (SQuAD v1.1
JSON, one row per question with its context and title), csv and tsv (the csv module: a header row, quoted
fields, delimiters and newlines inside quotes), parquet (pyarrow). `predict` also reads plain text, one text per
line (read_lines). This layer knows files and rows only; what a row means is the task kind's business.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jglue_bench.errors import DataError

FORMATS = ("jsonl", "json", "squad", "csv", "tsv", "parquet")
EXTENSIONS = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
LINES = "txt"  # plain text, one text per line: new inputs for `predict`, never a task's own files
# Japanese files that are not UTF-8 are usually one of these; the first that decodes the file is named.
LIKELY_ENCODINGS = ("cp932", "euc_jp", "iso2022_jp")


@dataclass(frozen=True)
class Row:
    """One record of a file. `where` is a 1-based physical line (JSON Lines, CSV, TSV), "row N" (Parquet,
    Hugging Face datasets) or a JSON path; `number` is the row's 1-based position among the file's records
    (the default id); `typed` is False for CSV and TSV, whose values are all strings."""

    values: Mapping[str, Any]
    path: Path
    where: int | str
    number: int
    typed: bool = True


def format_of(path: Path, declared: str | None = None) -> str:
    """The declared format, else the one the file's extension names."""
    if declared:
        if declared not in FORMATS:
            raise DataError.at(path, None, "format", f"one of {', '.join(FORMATS)}", found=declared)
        return declared
    found = EXTENSIONS.get(Path(path).suffix.lower())
    if found is None:
        raise DataError.at(
            path,
            None,
            "format",
            f"a file ending in {', '.join(EXTENSIONS)}, or `format:` in the task YAML",
            found=Path(path).suffix or "no extension",
        )
    return found


OnError = Callable[[DataError], None]


def read_rows(path: Path, file_format: str, on_error: OnError | None = None) -> Iterator[Row]:
    """Every row of the file, in order. An unreadable row (bad JSON on a line, a ragged CSV row) raises a
    DataError naming its place, or, when `on_error` is given, is handed to it and skipped. A file that cannot be
    read at all (not UTF-8, not JSON) always raises."""
    path = Path(path)
    if file_format == "parquet":
        return _read_parquet(path)
    text = read_text(path)
    report = on_error or _raise
    if file_format == "jsonl":
        return _read_jsonl(path, text, report)
    if file_format == "squad":
        return _read_squad(path, _parse_json(path, text))
    if file_format == "json":
        return _read_json(path, text, report)
    if file_format in ("csv", "tsv"):
        return _read_delimited(path, text, "," if file_format == "csv" else "\t", report)
    raise DataError.at(path, None, "format", f"one of {', '.join(FORMATS)}", found=file_format)


def _raise(error: DataError) -> None:
    raise error


def read_columns(path: Path, file_format: str) -> list[str] | None:
    """The file's column names, known before any row is read: a CSV or TSV header, a Parquet schema. None for
    the JSON formats (each record has its own keys), for a file without a header, and for a file that does not
    open as its format (read_rows then says why, so that error keeps its own words)."""
    if file_format == "parquet":
        import pyarrow
        import pyarrow.parquet

        try:
            return list(pyarrow.parquet.read_schema(path).names)
        except (pyarrow.ArrowException, OSError):
            return None
    if file_format not in ("csv", "tsv"):
        return None
    _allow_long_fields()
    try:  # the header only: the rows are read once, by read_rows
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, delimiter="," if file_format == "csv" else "\t", strict=True)
            cells = next((cells for cells in reader if cells and cells != [""]), None)
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    return None if cells is None else _checked_header(path, reader.line_num, cells, file_format.upper())


def read_lines(path: Path, column: str) -> Iterator[Row]:
    """A plain text file as rows of one column: every non-empty line is one text (trailing "\r" dropped)."""
    text = read_text(path)
    number = 0
    # split("\n"), not splitlines(): U+2028 and friends are characters of a text, not line ends
    for line_number, line in enumerate(text.split("\n"), start=1):
        line = line.rstrip("\r")
        if line.strip():
            number += 1
            yield Row({column: line}, path, line_number, number, typed=False)


def read_text(path: Path) -> str:
    """The file as UTF-8 text (a BOM is allowed). Anything else is an error naming the line, the byte and the
    encoding the file is likely in."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise DataError.at(path, None, None, "a readable file", found=error.strerror) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        guess = _likely_encoding(data)
        hint = f"; it looks like {guess}: convert it with `iconv -f {guess.upper()} -t UTF-8`" if guess else ""
        raise DataError(
            f"{path}, line {line}: expected UTF-8 text, found byte 0x{data[error.start]:02x} that "
            f"UTF-8 cannot start with (byte {error.start}){hint}."
        ) from None


def _likely_encoding(data: bytes) -> str | None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    for encoding in LIKELY_ENCODINGS:
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    return None


def _read_jsonl(path: Path, text: str, report: OnError = _raise) -> Iterator[Row]:
    number = 0
    # split("\n"), not splitlines(): U+2028 and friends may sit unescaped inside JSON strings.
    for line_number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            report(
                DataError.at(
                    path,
                    line_number,
                    None,
                    "one JSON object on each line (JSON Lines)",
                    found_text=f"invalid JSON ({error.msg} at character {error.pos + 1})",
                )
            )
            continue
        if not isinstance(record, dict):
            report(DataError.at(path, line_number, None, "a JSON object", found=record))
            continue
        number += 1
        yield Row(record, path, line_number, number)


def invalid_json(path: Path, error: json.JSONDecodeError) -> DataError:
    """The one-line error for a file that is not JSON: its line, and the parser's reason and column."""
    found = f"invalid JSON ({error.msg} at column {error.colno})"
    return DataError.at(path, error.lineno, None, "a JSON document", found_text=found)


def _parse_json(path: Path, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise invalid_json(path, error) from None


def _read_json(path: Path, text: str, report: OnError = _raise) -> Iterator[Row]:
    """A list of objects; a SQuAD document ({"data": [...]}) is read as SQuAD; a file of one object per line
    (JSON Lines with a .json name, as JGLUE's files are) is read as JSON Lines."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        if error.msg == "Extra data" and error.lineno > 1:
            return _read_jsonl(path, text, report)
        raise invalid_json(path, error) from None
    if isinstance(document, dict) and "data" in document:
        return _read_squad(path, document)
    if not isinstance(document, list):
        raise DataError.at(
            path,
            None,
            None,
            "a JSON list of objects (or JSON Lines, or a SQuAD document)",
            found_text=f"a JSON {type(document).__name__}",
        )
    return _json_list_rows(path, document, report)


def _json_list_rows(path: Path, document: list, report: OnError) -> Iterator[Row]:
    for index, record in enumerate(document):
        if not isinstance(record, dict):
            report(DataError.at(path, f"item [{index}]", None, "a JSON object", found=record))
            continue
        yield Row(record, path, f"item [{index}]", index + 1)


def _read_squad(path: Path, document: Any) -> Iterator[Row]:
    if not isinstance(document, dict):
        raise DataError.at(
            path,
            None,
            None,
            'a SQuAD JSON object {"version": ..., "data": [...]} at the top level',
            found_text=f"a JSON {type(document).__name__}",
        )
    number = 0
    for a, article in enumerate(_list_at(path, document, "data", "the top level")):
        for p, paragraph in enumerate(_list_at(path, article, "paragraphs", f"data[{a}]")):
            where = f"data[{a}].paragraphs[{p}]"
            context = paragraph.get("context") if isinstance(paragraph, dict) else None
            if not isinstance(context, str) or not context.strip():
                raise DataError.at(
                    path,
                    where,
                    "context",
                    "a non-empty string",
                    found=context,
                    missing=isinstance(paragraph, dict) and "context" not in paragraph,
                )
            for q, qa in enumerate(_list_at(path, paragraph, "qas", where)):
                if not isinstance(qa, dict):
                    raise DataError.at(path, f"{where}.qas[{q}]", None, "a JSON object", found=qa)
                number += 1
                question_id = qa.get("id")
                label = f"{where}.qas[{q}]" + (f" (question id {question_id!r})" if question_id is not None else "")
                yield Row({**qa, "context": context, "title": article.get("title", "")}, path, label, number)


def _list_at(path: Path, parent: Any, key: str, where: str) -> list:
    if not isinstance(parent, dict):
        raise DataError.at(path, where, None, f"a JSON object with a list '{key}'", found=parent)
    if key not in parent:
        raise DataError.at(path, where, key, "a list", missing=True)
    if not isinstance(parent[key], list):
        raise DataError.at(path, where, key, "a list", found=parent[key])
    return parent[key]


def _read_delimited(path: Path, text: str, delimiter: str, report: OnError = _raise) -> Iterator[Row]:
    """CSV or TSV with a header row. Every row must have the header's number of columns."""
    name = "CSV" if delimiter == "," else "TSV"
    _allow_long_fields()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: list[str] | None = None
    number, last_line = 0, 0
    while True:
        start = last_line + 1  # a quoted field may span lines; the row is named by its first line
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # the reader cannot go on after this
            report(DataError.at(path, reader.line_num, None, f"a well-formed {name} row", found_text=str(error)))
            return
        last_line = reader.line_num
        if not cells or cells == [""]:
            continue
        if header is None:
            header = _checked_header(path, start, cells, name)
            continue
        if len(cells) != len(header):
            report(_ragged(path, start, header, cells, name))
            continue
        number += 1
        yield Row(dict(zip(header, cells)), path, start, number, typed=False)


def _allow_long_fields() -> None:
    csv.field_size_limit(sys.maxsize if sys.maxsize < 2**63 else 2**31 - 1)  # long reviews, long contexts


def _checked_header(path: Path, line: int, cells: list[str], name: str) -> list[str]:
    header = [cell.strip() for cell in cells]
    duplicates = sorted({cell for cell in header if header.count(cell) > 1})
    if duplicates or "" in header:
        raise DataError.at(
            path,
            line,
            None,
            f"a {name} header row of distinct, non-empty column names",
            found_text=", ".join(duplicates) or "an empty column name",
        )
    return header


def _ragged(path: Path, line: int, header: list[str], cells: list[str], name: str) -> DataError:
    columns = ", ".join(header)
    if len(cells) < len(header):
        missing = header[len(cells)]
        return DataError.at(
            path,
            line,
            missing,
            f"{len(header)} columns as in the header ({columns})",
            found_text=f"{len(cells)} columns: the row ends before '{missing}'",
        )
    return DataError.at(
        path,
        line,
        None,
        f"{len(header)} columns as in the header ({columns})",
        found_text=f"{len(cells)} columns (an unquoted {'comma' if name == 'CSV' else 'tab'} in a field?)",
    )


def _read_parquet(path: Path) -> Iterator[Row]:
    import pyarrow
    import pyarrow.parquet

    try:
        table = pyarrow.parquet.read_table(path)
    except (pyarrow.ArrowException, OSError) as error:
        raise DataError.at(path, None, None, "a Parquet file", found_text=str(error).splitlines()[0]) from None
    for index, record in enumerate(table.to_pylist()):
        yield Row(record, path, f"row {index + 1}", index + 1)
