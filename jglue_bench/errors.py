"""Errors a user can cause. The CLI prints them as one paragraph and exits non-zero, without a traceback;
any other exception is a bug and keeps its traceback."""

from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """A mistake in the user's input, configuration or environment, explained in plain words."""


class DataError(UserError):
    """A data file that cannot be used; the message names the file, the line, the field and what was expected."""

    @classmethod
    def at(cls, path: str | Path, line: int | str | None, field: str | None, expected: str,
           found: object = None) -> "DataError":
        """`line` is a 1-based line number, or a JSON path such as `data[3].paragraphs[0].qas[2]`."""
        if line is None:
            where = f"{path}"
        else:
            where = f"{path}, line {line}" if isinstance(line, int) else f"{path}, at {line}"
        what = f"field '{field}'" if field else "record"
        message = f"{where}: {what}: expected {expected}"
        if found is not None:
            message += f", found {_short(found)}"
        return cls(message + ".")


class ChecksumError(UserError):
    """A file whose content does not match its pinned checksum (a corrupt or partial download)."""


def _short(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
