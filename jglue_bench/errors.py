"""Errors a user can cause. The CLI prints them as one line and exits non-zero, without a traceback; any other
exception is a bug and keeps its traceback."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

NOTHING = object()  # "no value to show", as opposed to a JSON null


class UserError(Exception):
    """A mistake in the user's input, configuration or environment, explained in plain words."""


class DataError(UserError):
    """A data file that cannot be used; the message names the file, the line, the field and what was expected."""

    @classmethod
    def at(
        cls,
        path: str | Path,
        line: int | str | None,
        field: str | None,
        expected: str,
        found: object = NOTHING,
        missing: bool = False,
        found_text: str | None = None,
    ) -> DataError:
        """`line` is a 1-based line number, or a location such as "row 4" or a JSON path
        (`data[3].paragraphs[0].qas[2]`). `found` is a value (shown as JSON would), `found_text` a description
        (shown as it is); `missing` says the field is absent rather than null."""
        if line is None:
            where = f"{path}"
        elif isinstance(line, int):
            where = f"{path}, line {line}"
        else:
            where = f"{path}, {line}" if line.startswith(("row ", "line ", "item ")) else f"{path}, at {line}"
        what = f"field '{field}'" if field else "record"
        message = f"{where}: {what}: expected {expected}"
        if missing:
            message += ", but the field is missing"
        elif found_text is not None:
            message += f", found {found_text}"
        elif found is not NOTHING:
            message += f", found {describe_value(found)}"
        return cls(message + ".")


class ChecksumError(UserError):
    """A file whose content does not match its pinned checksum (a corrupt or partial download)."""


def first_line(error: BaseException) -> str:
    """An exception's first line for a one-line message; its type's name when it has no text."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def describe_value(value: object, limit: int = 80) -> str:
    """A value as a message shows it: JSON's own words for null and booleans, repr otherwise, cut to `limit`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """ " (did you mean 'x'?)" when a choice is close to `word`, else ""."""
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


@contextmanager
def explained_write_errors(what: str) -> Iterator[None]:
    """An OSError while writing (a full disk, a folder gone read-only) as one line. Every file is written to a
    temporary name and renamed, and the store is cut back on a failed append, so what was there stays whole."""
    try:
        yield
    except OSError as error:
        place = f" ({error.filename})" if getattr(error, "filename", None) else ""
        raise UserError(
            f"could not write {what}: {error.strerror or error}{place}; the files written before are "
            f"intact (each file is written whole or not at all)."
        ) from None
