"""Which process of a distributed launch this is, read from the launcher's environment (torchrun, accelerate
launch, SLURM tasks through train.distributed), before any process group exists: the code around a run (error
lines, a sweep's summary) knows which process speaks."""

from __future__ import annotations

import os


def is_launch_main_process() -> bool:
    """True outside a distributed launch, and in its rank-0 process."""
    return os.environ.get("RANK", "0") == "0"


def error_line(error: Exception) -> str:
    """A user error as one line. Under a distributed launch each process that meets it says so (a mistake only
    one process meets must not pass silently); the others' lines name their process."""
    where = "" if is_launch_main_process() else f" (process {os.environ['RANK']})"
    return f"jglue-bench: error{where}: {error}"
