"""TaskSpec: a task is data. One YAML file declares its kind, files, fields, labels, metrics and protocol."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from jglue_bench.errors import UserError

KINDS = ("classification", "regression", "multiple_choice", "extractive_qa")
KIND_METRICS = {"classification": ("accuracy",), "regression": ("pearson", "spearman"),
                "multiple_choice": ("accuracy",), "extractive_qa": ("exact_match", "f1")}
REQUIRED_FIELDS = {
    "classification": ("id", "texts", "label"),
    "regression": ("id", "texts", "label"),
    "multiple_choice": ("id", "question", "choices", "label"),
    "extractive_qa": (),
}


@dataclass(frozen=True)
class TaskSpec:
    name: str
    kind: str
    dir_name: str
    file_format: str
    fields: Mapping[str, Any]
    metrics: tuple[str, ...]
    main_metric: str
    max_seq_length: int
    labels: tuple[str, ...] = ()
    label_range: tuple[float, float] | None = None
    qa: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_config(cls, task: Mapping[str, Any]) -> "TaskSpec":
        """Check a task config and build its spec; a mistake names the task and the key."""
        name = task.get("name") or "<unnamed>"
        kind = _require(task, name, "kind", str)
        if kind not in KINDS:
            raise UserError(f"task '{name}': key 'kind' is {kind!r}; expected one of {', '.join(KINDS)}.")
        files = _require(task, name, "files", Mapping)
        fields = dict(task.get("fields") or {})
        for key in REQUIRED_FIELDS[kind]:
            if key not in fields:
                raise UserError(f"task '{name}': key 'fields.{key}' is missing; a {kind} task needs "
                                f"fields {', '.join(REQUIRED_FIELDS[kind])}.")
        labels = tuple(str(label) for label in task.get("labels") or ())
        if kind == "classification" and len(labels) < 2:
            raise UserError(f"task '{name}': key 'labels' must list at least two labels for classification.")
        label_range = task.get("label_range")
        metrics = tuple(_require(task, name, "metrics", list))
        main_metric = _require(task, name, "main_metric", str)
        unknown = [metric for metric in metrics if metric not in KIND_METRICS[kind]]
        if unknown or not metrics:
            raise UserError(f"task '{name}': key 'metrics' lists {', '.join(unknown) or 'nothing'}; a {kind} task "
                            f"scores {', '.join(KIND_METRICS[kind])}.")
        if main_metric not in metrics:
            raise UserError(f"task '{name}': key 'main_metric' is {main_metric!r}; expected one of its metrics "
                            f"({', '.join(metrics)}).")
        return cls(
            name=name, kind=kind, dir_name=str(files.get("dir_name", name)),
            file_format=str(files.get("format", "jsonl")), fields=fields,
            metrics=metrics, main_metric=main_metric,
            max_seq_length=int(_require(task, name, "max_seq_length", int)), labels=labels,
            label_range=tuple(float(bound) for bound in label_range) if label_range else None,
            qa={key: int(task[key]) for key in ("doc_stride", "max_query_length", "n_best_size", "max_answer_length")
                if key in task},
        )


def _require(task: Mapping[str, Any], name: str, key: str, kind: type) -> Any:
    value = task.get(key)
    if value is None:
        raise UserError(f"task '{name}': key '{key}' is missing.")
    if kind is list:
        value = list(value) if not isinstance(value, (str, bytes)) and hasattr(value, "__iter__") else value
    if not isinstance(value, kind):
        raise UserError(f"task '{name}': key '{key}' should be a {kind.__name__}, found {value!r}.")
    return value
