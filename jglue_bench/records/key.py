"""The experiment key: what a run's result depends on, and nothing about where its files live.

Two runs with the same key are the same experiment: the same task reading of the same data (files by sha256),
the same model weights (hub id and revision, or a fingerprint of local weights), the same tokenizer (by
fingerprint), every hyperparameter, the seed, the protocol and the jglue-bench version. Folders, the cache, the
records store, the device and progress bars are left out, so the same cell run on two machines groups together,
and a sweep run again can skip the cells the results store already holds.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

import jglue_bench
from jglue_bench.prepare.stage import SplitData
from jglue_bench.tasks import TaskSpec

PROTOCOLS = ("single", "paper", "robust")
# trainer settings that change how a run goes, not what it computes
TRAINER_KEYS_LEFT_OUT = (
    "progress_bar",
    "device",
    "eval_batch_size",
    "checkpoint_steps",
    "dataloader_workers",
    "keep_checkpoints",
    "log_with",
    "project",
    "run_name",
    "log_every",
    "tracker_dir",
    "gradient_checkpointing",  # the same loss and gradients, recomputed in the backward pass
)
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth")


def experiment_key(cfg: DictConfig, spec: TaskSpec, splits: Sequence[SplitData], tokenizer_fingerprint: str) -> str:
    return hashlib.sha256(
        json.dumps(experiment_parts(cfg, spec, splits, tokenizer_fingerprint), sort_keys=True, default=str).encode()
    ).hexdigest()[:16]


def experiment_parts(
    cfg: DictConfig, spec: TaskSpec, splits: Sequence[SplitData], tokenizer_fingerprint: str
) -> dict[str, Any]:
    trainer = OmegaConf.to_container(cfg.trainer, resolve=True)
    return {
        "task": {
            "name": spec.name,
            "kind": spec.kind,
            "version": spec.version,
            "fields": dict(spec.fields),
            "labels": spec.labels,
            "label_range": spec.label_range,
            "qa": dict(spec.qa),
            "metrics": spec.metrics,
            "files": [[data.split, data.file.sha256, (data.file.extra or {}).get("carve")] for data in splits],
        },
        "model": model_identity(cfg.model),
        # only when set, so a full fine-tune keeps the key it had before model.peft existed
        **(
            {"peft": OmegaConf.to_container(cfg.model.peft, resolve=True)}
            if OmegaConf.select(cfg, "model.peft.method") is not None
            else {}
        ),
        # the weights' dtype when not float32 (model.dtype=bfloat16 trains other numbers); float32 keeps the old key
        **({"dtype": str(cfg.model.dtype)} if cfg.model.get("dtype") not in (None, "float32") else {}),
        # experiment=frozen_embedding's pooling decides its result; other runs have no such block and keep their key
        **(
            {"frozen_embedding": OmegaConf.to_container(cfg.frozen_embedding, resolve=True)}
            if OmegaConf.select(cfg, "frozen_embedding") is not None
            else {}
        ),
        "tokenizer": tokenizer_fingerprint,
        "hyperparameters": {
            "learning_rate": cfg.learning_rate,
            "num_train_epochs": cfg.num_train_epochs,
            "batch_size": cfg.batch_size,
            "max_seq_length": cfg.max_seq_length,
            "seed": cfg.seed,
            "max_train_samples": cfg.data.max_train_samples,
            "max_eval_samples": cfg.data.max_eval_samples,
        },
        "trainer": {key: value for key, value in trainer.items() if key not in TRAINER_KEYS_LEFT_OUT},
        "protocol": cfg.get("protocol", "single"),
        "jglue_bench": jglue_bench.__version__,
    }


def model_identity(model_cfg: Mapping[str, Any]) -> dict[str, Any]:
    """Hub weights by id and revision; local weights by the sha256 of their files; random ones by architecture."""
    source = model_cfg.get("pretrained")
    if source is None:
        return {
            "random": OmegaConf.to_container(model_cfg["architecture"], resolve=True)
            if isinstance(model_cfg["architecture"], DictConfig)
            else dict(model_cfg["architecture"])
        }
    local = Path(str(source)).expanduser()
    if local.is_dir():
        return {"weights": weights_fingerprint(local)}
    return {"id": str(source), "revision": model_cfg.get("revision")}


def weights_fingerprint(folder: Path) -> str:
    """sha256 over the weight files of a local model folder (their names and contents) and its config.json."""
    digest = hashlib.sha256()
    files = sorted(path for path in folder.iterdir() if path.suffix in WEIGHT_SUFFIXES or path.name == "config.json")
    for path in files:
        digest.update(path.name.encode() + b"\0")
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()[:16]
