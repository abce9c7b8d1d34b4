"""Checkpoints of a training run, so a killed run continues where it stopped (`resume=true`).

A checkpoint holds everything the rest of the run depends on: the weights (safetensors), the optimizer and
scheduler states, the loop's position (epoch, batches done, the epoch's running loss), the history so far and
every random generator's state. Batches are planned from the seed before training, so a resumed run sees the
same batches in the same order, and ends with the same weights, metrics and predictions as an uninterrupted one.

Each checkpoint is written into a temporary folder and renamed into place (a kill mid-write leaves no half
checkpoint); the last `keep` are kept. The run's experiment key is stored with it, and an index in the cache
maps the key to the run folder, so `resume=true` finds a killed run even when its folder name has a timestamp.
"""

from __future__ import annotations

import json
import random
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

FOLDER = "checkpoints"
STATE_FILE = "state.json"


def save_checkpoint(
    run_dir: Path, accelerator, model, optimizer, scheduler, state: dict[str, Any], keep: int = 2
) -> Path:
    """Write checkpoint `step-<optimizer steps>` under run_dir/checkpoints; returns its folder."""
    root = Path(run_dir) / FOLDER
    root.mkdir(parents=True, exist_ok=True)
    target = root / f"step-{state['optimizer_steps']:09d}"
    staging = Path(tempfile.mkdtemp(prefix=".writing-", dir=root))
    try:
        weights = {
            name: tensor.detach().cpu().contiguous()
            for name, tensor in accelerator.unwrap_model(model).state_dict().items()
        }
        save_file(_untied(weights), staging / "model.safetensors")
        torch.save(
            {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(), "rng": rng_states()},
            staging / "trainer_state.pt",
        )
        (staging / STATE_FILE).write_text(json.dumps(state, indent=1), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    for old in sorted(root.glob("step-*"))[:-keep]:
        shutil.rmtree(old)
    return target


def latest_checkpoint(run_dir: Path) -> Path | None:
    checkpoints = sorted((Path(run_dir) / FOLDER).glob("step-*"))
    return checkpoints[-1] if checkpoints else None


def load_checkpoint(folder: Path, accelerator, model, optimizer, scheduler) -> dict[str, Any]:
    """Restore weights, optimizer, scheduler and random generators; returns the loop state."""
    weights = load_file(folder / "model.safetensors")
    accelerator.unwrap_model(model).load_state_dict(weights, strict=False)
    saved = torch.load(folder / "trainer_state.pt", map_location="cpu", weights_only=True)  # tensors and plain data
    optimizer.load_state_dict(saved["optimizer"])
    scheduler.load_state_dict(saved["scheduler"])
    restore_rng_states(saved["rng"])
    return json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))


def rng_states() -> dict[str, Any]:
    """Every generator's state as tensors and plain values (so the file loads with weights_only=True)."""
    name, keys, position, has_gauss, cached = np.random.get_state()
    states = {
        "python": random.getstate(),
        "numpy": [name, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, cached],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        states["cuda"] = torch.cuda.get_rng_state_all()
    return states


def restore_rng_states(states: dict[str, Any]) -> None:
    version, internal, gauss = states["python"]
    random.setstate((version, tuple(internal), gauss))
    name, keys, position, has_gauss, cached = states["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    torch.set_rng_state(states["torch"])
    if "cuda" in states and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])


def remove_all(run_dir: Path) -> None:
    shutil.rmtree(Path(run_dir) / FOLDER, ignore_errors=True)


def remember_run(cache_dir: str | Path, key: str, run_dir: Path) -> None:
    """Note in the cache which folder holds the checkpoints of experiment `key`."""
    index = Path(str(cache_dir)).expanduser() / "runs-in-progress"
    index.mkdir(parents=True, exist_ok=True)
    (index / f"{key}.json").write_text(json.dumps({"output_dir": str(Path(run_dir).resolve())}), encoding="utf-8")


def forget_run(cache_dir: str | Path, key: str) -> None:
    (Path(str(cache_dir)).expanduser() / "runs-in-progress" / f"{key}.json").unlink(missing_ok=True)


def run_in_progress(cache_dir: str | Path, key: str) -> Path | None:
    """The folder of a killed run of experiment `key` that has a checkpoint, or None."""
    entry = Path(str(cache_dir)).expanduser() / "runs-in-progress" / f"{key}.json"
    if not entry.is_file():
        return None
    folder = Path(json.loads(entry.read_text(encoding="utf-8"))["output_dir"])
    return folder if latest_checkpoint(folder) is not None else None


def _untied(weights: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """safetensors refuses tensors that share memory (tied embeddings): give each its own copy."""
    seen: dict[int, str] = {}
    untied = {}
    for name, tensor in weights.items():
        pointer = tensor.data_ptr()
        untied[name] = tensor.clone() if pointer in seen else tensor
        seen.setdefault(pointer, name)
    return untied
