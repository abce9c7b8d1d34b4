"""TaskSpec: a task is data. One YAML file declares its kind, files, fields, labels, metrics and protocol.

The YAML is checked strictly: an unknown key is an error with a did-you-mean, so a typo never silently falls
back to a default. Every message names the task and the key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from jglue_bench import metrics as metric_registry
from jglue_bench.data.readers import FORMATS
from jglue_bench.data.sources import FileEntry, Source
from jglue_bench.errors import UserError, did_you_mean

KINDS = ("classification", "regression", "multiple_choice", "extractive_qa")
QA_KEYS = ("doc_stride", "max_query_length", "n_best_size", "max_answer_length")
TASK_KEYS = (
    "name",
    "kind",
    "description",
    "version",
    "versions",
    "source",
    "files",
    "format",
    "hf_dataset",
    "fields",
    "labels",
    "label_range",
    "metrics",
    "main_metric",
    "max_seq_length",
    "batch_size",
    "learning_rate",
    "num_train_epochs",
    "grid",
    "split",
    "eval_splits",
    "origin",
    *QA_KEYS,
)
FIELD_KEYS = {  # required, then optional fields per kind
    "classification": (("texts", "label"), ("id",)),
    "regression": (("texts", "label"), ("id",)),
    "multiple_choice": (("question", "choices", "label"), ("id",)),
    "extractive_qa": ((), ("id", "question", "context", "answers", "answer_text", "answer_start", "title")),
}
SOURCE_KEYS = ("dir", "url", "pins", "sample")
FILE_KEYS = ("path", "format", "sha256", "git_blob")
HF_KEYS = ("path", "name", "revision")
SPLIT_KEYS = ("valid", "test", "seed")
GRID_KEYS = ("learning_rate", "num_train_epochs", "batch_size", "seed", "max_seq_length")
NESTED_KEYS = {"source": SOURCE_KEYS, "hf_dataset": HF_KEYS, "split": SPLIT_KEYS, "grid": GRID_KEYS}
# What every task YAML must say, and what each is expected to be. The root config reads `max_seq_length` with no
# default (and `name` for the run folder), so a task without them cannot even be composed into a run.
REQUIRED_KEYS = {
    "name": "a name of letters, digits, '_', '.' or '-' (it names output folders)",
    "kind": f"one of {', '.join(KINDS)}",
    "files": "a file per split (files: {train: data/train.csv, valid: data/dev.csv})",
    "max_seq_length": "a whole number of tokens, at least 8",
}
KIND_ONLY_KEYS = {"extractive_qa": QA_KEYS, "classification": ("labels",), "regression": ("label_range",)}
# `fields` keys that hold the gold answer: a file of new rows to predict does not need their columns
GOLD_FIELDS = ("label", "answers", "answer_text", "answer_start")
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class TaskSpec:
    name: str
    kind: str
    files: Mapping[str, FileEntry]
    source: Source
    fields: Mapping[str, Any]
    metrics: tuple[str, ...]
    main_metric: str
    max_seq_length: int
    labels: tuple[str, ...] | None = None  # classification; None: inferred from the train file
    label_range: tuple[float, float] | None = None
    qa: Mapping[str, int] = field(default_factory=dict)
    eval_splits: tuple[str, ...] = ("valid",)
    carve: Mapping[str, Any] | None = None  # split: {valid: 0.2, seed: 42}
    hf_dataset: Mapping[str, Any] | None = None
    version: str | None = None
    origin: str | None = None  # the YAML file a user's task came from
    grid: Mapping[str, tuple] = field(default_factory=dict)

    @classmethod
    def from_config(cls, task: Mapping[str, Any]) -> TaskSpec:
        """Check a task config strictly and build its spec."""
        task = dict(task)
        check_task_keys(task)
        check = _Checker(task)
        name, kind = task["name"], task["kind"]
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
            raise check.fail(f"key 'name' is {name!r}; expected {REQUIRED_KEYS['name']}.")
        fields = check.fields(kind, task.get("fields"))
        metrics = tuple(check.string_list("metrics", task.get("metrics") or metric_registry.DEFAULT_METRICS[kind]))
        for metric in metrics:
            problem = metric_registry.problem_with(metric, kind)
            if problem:
                raise UserError(f"task '{name}': key 'metrics': {problem}")
        main_metric = task.get("main_metric") or metrics[0]
        if main_metric not in metrics:
            raise UserError(
                f"task '{name}': key 'main_metric' is {main_metric!r}; expected one of its metrics "
                f"({', '.join(metrics)}){did_you_mean(main_metric, metrics)}."
            )
        files, source, hf_dataset = check.files(task)
        carve = check.carve(task.get("split"), files)
        splits = set(files) | set(carve or {}) - {"seed"}
        default_eval = ["valid"] if "valid" in splits else []  # a task of one file can still be validated
        eval_splits = tuple(
            check.string_list("eval_splits", task["eval_splits"]) if task.get("eval_splits") else default_eval
        )
        for split in eval_splits:
            if split not in splits:
                raise UserError(
                    f"task '{name}': key 'eval_splits' names {split!r}, which is not among its files "
                    f"({', '.join(sorted(splits))}){did_you_mean(split, splits)}."
                )
        return cls(
            name=name,
            kind=kind,
            files=files,
            source=source,
            fields=fields,
            metrics=metrics,
            main_metric=main_metric,
            max_seq_length=check.integer("max_seq_length", task.get("max_seq_length"), minimum=8),
            labels=check.labels(task.get("labels")),
            label_range=check.label_range(task.get("label_range")),
            qa={key: check.integer(key, task[key], minimum=1) for key in QA_KEYS if task.get(key) is not None},
            eval_splits=eval_splits,
            carve=carve,
            hf_dataset=hf_dataset,
            version=check.version(task),
            origin=str(task["origin"]) if task.get("origin") else None,
            grid=check.grid(task.get("grid")),
        )

    def with_labels(self, labels: tuple[str, ...]) -> TaskSpec:
        return replace(self, labels=labels)

    def split_names(self) -> tuple[str, ...]:
        carved = tuple(split for split in ("valid", "test") if self.carve and split in self.carve)
        return tuple(self.files) + carved


def check_task_keys(task: Mapping[str, Any]) -> None:
    """Which keys a task may have and which it must have: checked on the keys alone, nothing resolved, so every
    command says the same one line for the same file before Hydra or OmegaConf reads any value (a typo in
    `max_seq_length` would otherwise surface as an interpolation the root config cannot resolve, and one in
    `learning_rate` would silently fall back to the root config's default)."""
    check = _Checker(task)
    check.keys(task, TASK_KEYS, "")
    for key, expected in REQUIRED_KEYS.items():
        if task.get(key) is None:
            state = "is missing" if key not in task else "has no value"
            raise check.fail(
                f"key '{key}' {state}; expected {expected} (every task needs "
                f"{', '.join(list(REQUIRED_KEYS)[:-1])} and {list(REQUIRED_KEYS)[-1]})."
            )
    kind = check.choice("kind", task["kind"], KINDS)
    for other, keys in KIND_ONLY_KEYS.items():
        if other != kind:
            check.absent(task, keys, other)
    check.field_keys(kind, task.get("fields"))
    for key, allowed in NESTED_KEYS.items():
        if isinstance(task.get(key), Mapping):
            check.keys(task[key], allowed, f"{key}.")
    if isinstance(task.get("hf_dataset"), Mapping) and not task["hf_dataset"].get("path"):
        raise check.fail("key 'hf_dataset.path' is missing; expected a Hugging Face dataset id or a local folder.")
    if isinstance(task["files"], Mapping):
        for split, entry in task["files"].items():
            if isinstance(entry, Mapping):
                check.keys(entry, FILE_KEYS, f"files.{split}.")


def _from(task: Mapping[str, Any], line: int | None = None) -> str:
    if not task.get("origin"):
        return ""
    return f" (from {task['origin']}" + (f", line {line})" if line else ")")


def _line_of(origin: Any, keys: Sequence[str]) -> int | None:
    """The line of a (nested) key in the task's YAML file, for a message; None when it cannot be told."""
    try:
        node = yaml.compose(Path(str(origin)).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    line = None
    for key in keys:
        if not isinstance(node, yaml.MappingNode):
            return None
        found = [(name, value) for name, value in node.value if getattr(name, "value", None) == str(key)]
        if not found:
            return None
        line, node = found[0][0].start_mark.line + 1, found[0][1]
    return line


class _Checker:
    """Checks of one task's keys; every message starts with the task's name (when it has one) and its file."""

    def __init__(self, task: Mapping[str, Any]):
        self.task = task
        name = task.get("name")
        self.label = f"task '{name}'" if isinstance(name, str) else "task"

    def fail(self, message: str, at: Sequence[str] = ()) -> UserError:
        line = _line_of(self.task["origin"], at) if at and self.task.get("origin") else None
        return UserError(f"{self.label}{_from(self.task, line)}: {message}")

    def keys(self, mapping: Mapping[str, Any], allowed: tuple[str, ...], prefix: str) -> None:
        for key in mapping:
            if key not in allowed:
                raise self.fail(
                    f"unknown key '{prefix}{key}'{did_you_mean(key, allowed)}; the keys are {', '.join(allowed)}.",
                    at=[*prefix.split(".")[:-1], str(key)],
                )

    def field_keys(self, kind: str, fields: Any) -> None:
        """The `fields` a kind reads: none unknown, the required ones there."""
        required, optional = FIELD_KEYS[kind]
        if fields is None and required:
            raise self.fail(
                f"key 'fields' is missing; expected the file's column for each of {', '.join(required)} "
                f"(a {kind} task reads them)."
            )
        if not isinstance(fields, Mapping):
            return  # its value is checked with the others
        self.keys(fields, required + optional, "fields.")
        for key in required:
            if key not in fields:
                raise self.fail(f"key 'fields.{key}' is missing; a {kind} task needs fields {', '.join(required)}.")

    def absent(self, mapping: Mapping[str, Any], keys: tuple[str, ...], kind: str) -> None:
        for key in keys:
            if mapping.get(key) is not None:
                raise self.fail(
                    f"key '{key}' applies to {kind} tasks only; this task is {mapping.get('kind')}.", at=[key]
                )

    def choice(self, key: str, value: Any, choices: tuple[str, ...]) -> str:
        if value not in choices:
            raise self.fail(
                f"key '{key}' is {value!r}; expected one of {', '.join(choices)}{did_you_mean(value, choices)}."
            )
        return value

    def mapping(self, key: str, value: Any) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self.fail(f"key '{key}' should be a mapping (key: value), found {value!r}.")
        return value

    def string_list(self, key: str, value: Any) -> list[str]:
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, (list, tuple)) or not values or not all(isinstance(v, str) and v for v in values):
            raise self.fail(f"key '{key}' should be a non-empty list of names, found {value!r}.")
        return list(values)

    def integer(self, key: str, value: Any, minimum: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(f"key '{key}' is {value!r}; expected a whole number of at least {minimum}.")
        return value

    def fields(self, kind: str, value: Any) -> dict[str, Any]:
        fields = dict(self.mapping("fields", value)) if value is not None else {}
        for key in ("texts", "choices"):
            if key in fields:
                fields[key] = self.string_list(f"fields.{key}", fields[key])
        if "texts" in fields and len(fields["texts"]) > 2:
            raise self.fail(f"key 'fields.texts' lists {len(fields['texts'])} columns; expected one text or a pair.")
        if "choices" in fields and len(fields["choices"]) < 2:
            raise self.fail("key 'fields.choices' should list at least two choice columns.")
        for key, column in fields.items():
            if key not in ("texts", "choices") and not isinstance(column, str):
                raise self.fail(f"key 'fields.{key}' should name one column, found {column!r}.")
        return fields

    def files(self, task: Mapping[str, Any]) -> tuple[dict[str, FileEntry], Source, Mapping[str, Any] | None]:
        raw = self.mapping("files", task.get("files"))
        if not raw:
            raise self.fail("key 'files' is empty; name at least the train file (files: {train: data/train.csv}).")
        default_format = task.get("format")
        if default_format is not None:
            self.choice("format", default_format, FORMATS)
        hf_dataset = None
        if task.get("hf_dataset") is not None:
            hf_dataset = dict(self.mapping("hf_dataset", task["hf_dataset"]))
        files = {}
        for split, entry in raw.items():
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", str(split)):
                raise self.fail(f"key 'files.{split}': a split name of letters, digits and '_' is expected.")
            if isinstance(entry, str):
                entry = {"path": entry}
            entry = dict(self.mapping(f"files.{split}", entry))
            if not isinstance(entry.get("path"), str) or not entry["path"]:
                raise self.fail(f"key 'files.{split}.path' should be a file path, found {entry.get('path')!r}.")
            if entry.get("format") is not None:
                self.choice(f"files.{split}.format", entry["format"], FORMATS)
            files[str(split)] = FileEntry(
                str(split),
                entry["path"],
                entry.get("format") or default_format,
                entry.get("sha256"),
                entry.get("git_blob"),
            )
        source = Source(base_dir=Path(str(task["origin"])).parent if task.get("origin") else None)
        if task.get("source") is not None:
            block = dict(self.mapping("source", task["source"]))
            source = Source(
                dir=block.get("dir"),
                url=block.get("url"),
                pins=block.get("pins"),
                sample=bool(block.get("sample", False)),
                base_dir=source.base_dir,
                declared=True,
            )
        return files, source, hf_dataset

    def carve(self, value: Any, files: Mapping[str, FileEntry]) -> dict[str, Any] | None:
        if value is None:
            return None
        carve = dict(self.mapping("split", value))
        if "train" not in files:
            raise self.fail("key 'split' carves splits out of the train file, but 'files' has no train.")
        total = 0.0
        for split in ("valid", "test"):
            if split not in carve:
                continue
            if split in files:
                raise self.fail(f"key 'split.{split}' carves a {split} split, but files.{split} names one already.")
            fraction = carve[split]
            if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
                raise self.fail(f"key 'split.{split}' is {fraction!r}; expected a fraction of train between 0 and 1.")
            total += fraction
        if total >= 1:
            raise self.fail("key 'split': the carved fractions leave nothing to train on.")
        carve["seed"] = self.integer("split.seed", carve.get("seed", 42), minimum=0)
        return carve

    def labels(self, value: Any) -> tuple[str, ...] | None:
        if value is None:
            return None
        if not isinstance(value, (list, tuple)) or any(
            isinstance(label, (bool, float, dict, list)) or label is None for label in value
        ):
            raise self.fail(f"key 'labels' should be a list of label names, found {value!r}.")
        labels = tuple(str(label) for label in value)
        if len(labels) < 2 or len(set(labels)) != len(labels):
            raise self.fail(f"key 'labels' should list at least two distinct labels, found {list(labels)}.")
        return labels

    def label_range(self, value: Any) -> tuple[float, float] | None:
        if value is None:
            return None
        if (
            not isinstance(value, (list, tuple))
            or len(value) != 2
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
            or value[0] >= value[1]
        ):
            raise self.fail(f"key 'label_range' should be [low, high] with low < high, found {value!r}.")
        return float(value[0]), float(value[1])

    def version(self, task: Mapping[str, Any]) -> str | None:
        version = task.get("version")
        if version is None:
            return None
        version = str(version)
        versions = [str(v) for v in task.get("versions") or ()]
        if versions and version not in versions:
            raise self.fail(f"version is {version!r} (data.version); expected one of {', '.join(versions)}.")
        return version

    def grid(self, value: Any) -> dict[str, tuple]:
        if value is None:
            return {}
        grid = dict(self.mapping("grid", value))
        for key, values in grid.items():
            if not isinstance(values, (list, tuple)) or not values:
                raise self.fail(f"key 'grid.{key}' should be a non-empty list of values, found {values!r}.")
        return {key: tuple(values) for key, values in grid.items()}
