"""A Hydra sweeper that adds each task's own hyperparameter grid (the task YAML's `grid:`) to a sweep.

`jglue-bench train -m experiment=paper model=...` sweeps over tasks; the paper protocol then needs, for each task,
every cell of that task's grid (JGLUE's is lr {5e-5, 3e-5, 2e-5} x epochs {3, 4}, but a user's task may declare
another). Hydra's basic sweeper can only take one cartesian product for all jobs, so this one takes it, then
expands each job by the grid of the task it runs. A key the command line sets itself is not expanded. Launching
is the basic sweeper's, so every launcher (basic, joblib, submitit) runs the cells.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import yaml
from hydra._internal.core_plugins.basic_sweeper import BasicSweeper

from jglue_bench.config import config_dir


class TaskGridSweeper(BasicSweeper):
    def __init__(
        self, max_batch_size: int | None = None, params: dict[str, str] | None = None, use_task_grid: bool = True
    ) -> None:
        super().__init__(max_batch_size=max_batch_size, params=params)
        self.use_task_grid = use_task_grid

    def split_arguments(self, overrides, max_batch_size):  # BasicSweeper calls it on the instance
        [jobs] = BasicSweeper.split_arguments(overrides, None)
        if self.use_task_grid:
            jobs = [expanded for job in jobs for expanded in expand_by_grid(job, self._task_grid)]
        return list(BasicSweeper.split_overrides_to_chunks(jobs, max_batch_size)) if jobs else [[]]

    def _task_grid(self, task: str | None) -> dict[str, list]:
        name = task or str(self.config.task.name)
        for root in [config_dir(), *search_path_folders(self.config)]:
            path = Path(root) / "task" / f"{name}.yaml"
            if path.is_file():
                return dict((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("grid") or {})
        return {}


def expand_by_grid(job: list[str], grid_of) -> list[list[str]]:
    """`job` (a list of key=value overrides) once per cell of its task's grid, keys the job sets left alone."""
    settings = dict(override.split("=", 1) for override in job)
    grid = {key: values for key, values in grid_of(settings.get("task")).items() if key not in settings}
    if not grid:
        return [job]
    keys = sorted(grid)
    return [
        job + [f"{key}={value}" for key, value in zip(keys, cell)]
        for cell in itertools.product(*(grid[key] for key in keys))
    ]


def search_path_folders(config: Any) -> list[str]:
    """The file:// folders on Hydra's search path (where users' task files are materialized)."""
    entries = list(config.hydra.searchpath or [])
    return [entry[len("file://") :] for entry in entries if str(entry).startswith("file://")]
