"""A Hydra callback that ends a sweep (`jglue-bench train -m ...`) with one table of its runs and the cells that
failed (each with its one-line error); any failure makes the command exit 2."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

FAILED_CELL_FILE = "failed.json"  # a failed cell's one-line error, in its job folder (written by `train`)


class SweepSummary(Callback):
    failed_cells: list[dict] = []  # read by `jglue-bench train` after the sweep, for its exit code

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from jglue_bench.records.store import read_records
        from jglue_bench.report.render import runs_markdown as markdown_table
        from jglue_bench.support.processes import is_launch_main_process

        if not is_launch_main_process():  # under torchrun every process ran the sweep; the main one sums it up
            return

        sweep_dir = Path(str(config.hydra.sweep.dir)).resolve()
        records = [
            record
            for record in read_records(config.results.path, skip_corrupt=True)
            if sweep_dir in Path(record.get("output_dir", "")).resolve().parents
        ]
        if records:
            print(f"\nsweep {sweep_dir}: {len(records)} runs\n")
            print(markdown_table(records))
        failed = [json.loads(path.read_text(encoding="utf-8")) for path in sorted(sweep_dir.rglob(FAILED_CELL_FILE))]
        SweepSummary.failed_cells = failed
        if failed:
            print(f"\n{len(failed)} cell{'s' * (len(failed) != 1)} failed:")
            for cell in failed:
                settings = " ".join(f"{key}={value}" for key, value in cell["cell"].items())
                print(f"  {settings}: {cell['error']}")
