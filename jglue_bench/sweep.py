"""A Hydra callback that ends a sweep (`jglue-bench train -m ...`) with one table of all its runs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig


class SweepSummary(Callback):
    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        from jglue_bench.report import markdown_table
        from jglue_bench.results import read_records

        sweep_dir = Path(str(config.hydra.sweep.dir)).resolve()
        records = [record for record in read_records(config.results.path)
                   if sweep_dir in Path(record.get("output_dir", "")).resolve().parents]
        if records:
            print(f"\nsweep {sweep_dir}: {len(records)} runs\n")
            print(markdown_table(records))
