"""`data validate` and `data stats`: every record of every split, read and checked by the prepare stage exactly as
training reads it, then counted: rows, the label distribution and text lengths (characters, or tokens of a
model's tokenizer)."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jglue_bench.data.sources import SplitFile
from jglue_bench.errors import DataError, UserError
from jglue_bench.prepare.stage import read_split, resolve_labels
from jglue_bench.tasks import TaskSpec, kind_module
from jglue_bench.tasks.common import Example

MAX_PROBLEMS_SHOWN = 20


@dataclass
class SplitCheck:
    split: str
    file: SplitFile | None = None
    examples: list[Example] = field(default_factory=list)
    problems: list[UserError] = field(default_factory=list)
    inferred: bool = False  # not a split: what is inferred from the rows (a classification task's labels)


def validate_task(
    spec: TaskSpec, data_cfg: Mapping[str, Any], splits: Sequence[str] | None = None
) -> tuple[TaskSpec, list[SplitCheck]]:
    """Every split of the task (or those named), each record checked; problems are collected, not raised, and
    listed cause first: each file's columns, then its rows, then what is inferred from them (a classification
    task's labels, from its train rows), so a consequence never hides its cause."""
    inferred: UserError | None = None
    try:
        spec = resolve_labels(spec, data_cfg, lenient=True)
    except UserError as error:
        inferred = error  # listed last; when it repeats a file's own problem, problem_lines keeps one
    # Without labels (none in the YAML, none inferred) a row's label cannot be checked; its texts and id can.
    labelled = spec.kind != "classification" or spec.labels is not None
    checks = []
    for split in splits or spec.split_names():
        check = SplitCheck(split)
        problems: list[DataError] = []
        try:
            data = read_split(spec, data_cfg, split, labelled=labelled, problems=problems)
            check.file, check.examples = data.file, data.examples
        except UserError as error:  # the file is missing, not UTF-8, not JSON at all, or lacks a column
            problems.append(error)
        check.problems = list(problems)
        checks.append(check)
    if inferred is not None:
        checks.append(SplitCheck("labels", problems=[inferred], inferred=True))
    return spec, checks


def split_summary(spec: TaskSpec, check: SplitCheck, tokenize: Callable[[str], list] | None = None) -> list[str]:
    """Lines describing one checked split: its file and row count, labels, and the length of each text."""
    if check.inferred:
        return [f"  {check.split:<8} not inferred from train (the problem is listed below)"]
    if check.file is None:
        return [f"  {check.split:<8} unreadable"]
    kind = kind_module(spec.kind)
    lines = [f"  {check.split:<8} {len(check.examples):>7,} rows  {check.file.path}"]
    if check.examples:
        lines.append(
            f"  {'':<8} "
            + (
                kind.label_summary(check.examples, spec)
                if check.examples[0].label is not None
                else "labels not checked (none in the task YAML, none inferred from train)"
            )
        )
        unit = "tokens" if tokenize else "chars"
        lengths = []
        for position, name in enumerate(kind.text_names(spec)):
            values = [
                len(tokenize(example.texts[position])) if tokenize else len(example.texts[position])
                for example in check.examples
            ]
            lengths.append(f"{name} mean {statistics.fmean(values):.1f} max {max(values)}")
        lines.append(f"  {'':<8} {unit}: " + " | ".join(lengths))
    return lines


def problem_lines(checks: Sequence[SplitCheck], limit: int = MAX_PROBLEMS_SHOWN) -> tuple[int, list[str]]:
    """The number of problems and up to `limit` of them, one line each."""
    problems = list(dict.fromkeys(str(problem) for check in checks for problem in check.problems))  # one file may
    return len(problems), problems[:limit]  # serve 2 splits
