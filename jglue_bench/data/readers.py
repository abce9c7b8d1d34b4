"""Read raw records with their location, so every later error can name the file and line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from jglue_bench.errors import DataError

Located = tuple[int | str, dict[str, Any]]  # (1-based line number or JSON path, record)


def read_jsonl(path: Path) -> Iterator[Located]:
    """JSON Lines (JSTS, JNLI, JCommonsenseQA, MARC-ja end in .json but hold one object a line)."""
    with open(path, encoding="utf-8-sig") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise DataError.at(path, line_number, None, "one JSON object on each line (JSON Lines)",
                                   found=f"invalid JSON ({error.msg} at character {error.pos + 1})") from None
            if not isinstance(record, dict):
                raise DataError.at(path, line_number, None, "a JSON object", found=record)
            yield line_number, record


def read_squad(path: Path) -> Iterator[Located]:
    """SQuAD v1.1 JSON (JSQuAD): one record per question, with title and context attached."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as error:
        raise DataError.at(path, error.lineno, None, "a SQuAD v1.1 JSON document",
                           found=f"invalid JSON ({error.msg} at column {error.colno})") from None
    articles = _list_at(path, document, "data", "data")
    for a, article in enumerate(articles):
        for p, paragraph in enumerate(_list_at(path, article, "paragraphs", f"data[{a}]")):
            where = f"data[{a}].paragraphs[{p}]"
            context = paragraph.get("context") if isinstance(paragraph, dict) else None
            if not isinstance(context, str) or not context:
                raise DataError.at(path, where, "context", "a non-empty string", found=context)
            for q, qa in enumerate(_list_at(path, paragraph, "qas", where)):
                if not isinstance(qa, dict):
                    raise DataError.at(path, f"{where}.qas[{q}]", None, "a JSON object", found=qa)
                yield f"{where}.qas[{q}]", {**qa, "context": context, "title": article.get("title", "")}


def read_records(path: Path, file_format: str) -> Iterator[Located]:
    if file_format == "jsonl":
        return read_jsonl(path)
    if file_format == "squad":
        return read_squad(path)
    raise DataError.at(path, None, "files.format", "'jsonl' or 'squad'", found=file_format)


def _list_at(path: Path, parent: Any, key: str, where: str) -> list:
    value = parent.get(key) if isinstance(parent, dict) else None
    if not isinstance(value, list):
        raise DataError.at(path, where, key, "a list", found=value)
    return value
