"""Checks before any work: the places a run will write to, and settings that would waste it.

A run that trains for an hour and then cannot write its record has lost the hour; these checks fail in the
first second instead, each with one line saying what to change.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from jglue_bench.errors import UserError


def check_output_dir(folder: Path, resuming: bool = False, overwrite: bool = False) -> None:
    """`folder` must be a folder (or not exist yet) we can write in, and empty unless the run is resumed or
    overwrite=true: running again into a finished run's folder would silently replace it."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UserError(f"output_dir {folder} is a file; expected a folder (or a path that does not exist yet).")
    _check_writable(folder, "output_dir")
    if folder.is_dir() and any(folder.iterdir()) and not (resuming or overwrite):
        raise UserError(
            f"output_dir {folder} already holds files (an earlier run?); choose another output_dir, "
            f"add overwrite=true to replace them, or resume=true to continue a killed run."
        )


def check_writable_store(store: str | Path) -> None:
    """The records store (results.path) must be writable, or creatable, before training starts."""
    path = Path(str(store)).expanduser()
    if path.is_dir():
        raise UserError(f"results.path {path} is a folder; expected a JSON Lines file (e.g. results/runs.jsonl).")
    if path.exists():
        if not os.access(path, os.W_OK):
            raise UserError(
                f"results.path {path} is not writable; the run's record could not be stored. Choose "
                f"another results.path."
            )
        return
    _check_writable(path.parent, "results.path's folder")


def check_hub_reachable(model_cfg, timeout_s: float = 5.0) -> None:
    """A hub model with no network is one line in seconds, instead of the hub client's ~30 s of retries. With
    HF_HUB_OFFLINE=1 nothing is tried: the local Hugging Face cache answers (or names what it lacks)."""
    import socket
    from urllib.parse import urlparse

    source = model_cfg.get("pretrained")
    if source is None or Path(str(source)).expanduser().exists():
        return
    if str(source).startswith(("/", "./", "../", "~")):  # a path, never a hub id (ORG/NAME)
        raise UserError(f"model.pretrained {source} is not a folder; expected a model folder or a hub id (ORG/NAME).")
    if os.environ.get("HF_HUB_OFFLINE") in ("1", "true"):
        return
    from huggingface_hub import constants

    endpoint = urlparse(constants.ENDPOINT)
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        socket.create_connection((endpoint.hostname, port), timeout=timeout_s).close()
    except OSError as error:
        raise UserError(
            f"model.pretrained {source} is on the Hugging Face hub, which cannot be reached "
            f"({endpoint.hostname}:{port}: {error.strerror or error}); with the model in your local "
            f"cache set HF_HUB_OFFLINE=1, or point model.pretrained at a local folder."
        ) from None


def check_training_dtype(model_cfg, adapter) -> None:
    """model.dtype for a full fine-tune (`adapter` None): float16 is refused (fp16 autocast's gradient scaler
    cannot unscale float16 gradients: it raises at the first step), bfloat16 warned about (no float32 master
    copy: small steps round away). With LoRA the trained tensors are float32 either way."""
    name = str(model_cfg.get("dtype") or "float32")
    if adapter is not None or name == "float32":
        return
    if name == "float16":
        raise UserError(
            "model.dtype=float16 with every weight fine-tuned: float16 weights cannot be trained with a gradient "
            "scaler; use float32 (the default) with trainer.precision=fp16, or LoRA (model.peft.method=lora)."
        )
    print(
        f"jglue-bench: warning: model.dtype={name} with every weight fine-tuned: the weights are updated in "
        f"{name}, where small steps round away; float32 (the default) trains in bf16 autocast with float32 weights.",
        file=sys.stderr,
    )


def warn_about_precision(trainer, device) -> None:
    """bf16 on a CPU works (autocast) but is slow and rarely what was meant with trainer=gpu_bf16."""
    if trainer.precision == "bf16" and device.type == "cpu":
        print(
            "jglue-bench: warning: trainer.precision=bf16 on the CPU: no GPU is visible, so this runs bf16 "
            "autocast on the CPU (slow, and not the GPU numbers trainer=gpu_bf16 is for).",
            file=sys.stderr,
        )


def _check_writable(folder: Path, what: str) -> None:
    """The nearest existing folder at or above `folder` must be writable (nothing is created here)."""
    existing = folder.expanduser().absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise UserError(f"{what} {folder}: {existing} is a file, so the folder cannot be made.")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"{what} {folder} cannot be written ({existing} is not writable); choose another place.")
