"""Task kinds. A task is a YAML file (configs/task/); Python exists only per kind, never per task."""

from __future__ import annotations

import importlib
from types import ModuleType

from jglue_bench.tasks.spec import KINDS, TaskSpec

__all__ = ["KINDS", "TaskSpec", "kind_module"]


def kind_module(kind: str) -> ModuleType:
    """The module implementing a kind: to_example, featurize, AUTO_MODEL, head_config, forward (model outputs
    for a collated batch), batch_outputs, decode, score, prediction_rows (with golds), output_rows (for
    `predict`)."""
    if kind not in KINDS:
        raise ValueError(f"unknown task kind {kind!r}")
    return importlib.import_module(f"jglue_bench.tasks.{kind}")
