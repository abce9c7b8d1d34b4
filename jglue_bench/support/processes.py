"""Which process of a distributed launch this is, read from the launcher's environment (torchrun, accelerate
launch, SLURM tasks through train.distributed), before any process group exists: the code around a run (error
lines, a sweep's summary) speaks from one process only."""

from __future__ import annotations

import os


def is_launch_main_process() -> bool:
    """True outside a distributed launch, and in its rank-0 process."""
    return os.environ.get("RANK", "0") == "0"
