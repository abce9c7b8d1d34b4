"""LoRA adapters (`model.peft`) through the peft library: the base weights stay frozen, low-rank updates of the
attention projections and the task's head (fully: peft's SEQ_CLS task saves `score`/`classifier` whole) train.

A run with an adapter saves it in PEFT's own format (adapter_config.json, adapter_model.safetensors) in model/;
`evaluate` and `predict` load the base weights the run started from and put the adapter on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from jglue_bench.errors import UserError

ADAPTER_CONFIG = "adapter_config.json"  # what save_pretrained of a PeftModel writes: a run folder with an adapter
METHODS = ("lora", "qlora")
# Every attention projection, as the LoRA papers' decoder recipes adapt them; peft's own defaults for these
# model types adapt q_proj and v_proj only. Other model types (encoders) get peft's defaults.
ATTENTION_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj")
DEFAULT_TARGETS = {model_type: ATTENTION_PROJECTIONS for model_type in ("llama", "qwen2", "gemma", "gemma2")}


def peft_settings(model_cfg: Mapping[str, Any]) -> dict[str, Any] | None:
    """model.peft as plain checked values, or None when no adapter is asked for (method null or no block)."""
    block = model_cfg.get("peft")
    settings = OmegaConf.to_container(block, resolve=True) if isinstance(block, DictConfig) else dict(block or {})
    method = settings.get("method")
    if method is None:
        return None
    if method == "qlora":
        raise UserError("model.peft.method=qlora needs CUDA and bitsandbytes (4-bit base weights); use lora here.")
    if method not in METHODS:
        raise UserError(f"model.peft.method is {method!r}; expected null, lora or qlora.")
    if model_cfg.get("pretrained") is None:  # a saved adapter is put back on the base weights: random ones are gone
        raise UserError(
            f"model.peft.method={method} needs pretrained base weights (model.pretrained); model "
            f"'{model_cfg.get('name')}' is built at random."
        )
    rank, alpha, dropout = settings.get("r", 8), settings.get("alpha", 16), settings.get("dropout", 0.0)
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise UserError(f"model.peft.r is {rank!r}; expected a positive whole number (the adapters' rank).")
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or alpha <= 0:
        raise UserError(f"model.peft.alpha is {alpha!r}; expected a positive number (the scale is alpha / r).")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise UserError(f"model.peft.dropout is {dropout!r}; expected a number in [0, 1).")
    targets = settings.get("target_modules")
    if targets is not None and (isinstance(targets, str) or not all(isinstance(name, str) for name in targets)):
        raise UserError(f"model.peft.target_modules is {targets!r}; expected null or a list of module names.")
    return {
        "method": method,
        "r": rank,
        "alpha": alpha,
        "dropout": float(dropout),
        "target_modules": list(targets) if targets is not None else None,
    }


def add_adapter(model: torch.nn.Module, settings: Mapping[str, Any]) -> torch.nn.Module:
    """`model` inside a PeftModel with fresh LoRA adapters (their B matrices are zeros: the model starts as the
    base one) and its head trained in full."""
    from peft import LoraConfig, TaskType, get_peft_model

    if hasattr(model, "scorer"):  # a decoder's multiple choice (decoders.ChoiceScores): its scorer gets the adapter
        model.scorer = add_adapter(model.scorer, settings)
        return model
    model_type = getattr(model.config, "model_type", "")
    targets = settings["target_modules"] or DEFAULT_TARGETS.get(model_type)
    config = LoraConfig(
        task_type=TaskType.SEQ_CLS,
        r=settings["r"],
        lora_alpha=settings["alpha"],
        lora_dropout=settings["dropout"],
        target_modules=list(targets) if targets else None,
    )
    try:
        return get_peft_model(model, config)
    except ValueError as error:  # target modules the model does not have, or a model type peft has no defaults for
        raise UserError(f"model.peft: {str(error).splitlines()[0]}") from error


def has_adapter(folder: Path) -> bool:
    return (Path(folder) / ADAPTER_CONFIG).is_file()


def load_adapter(base: torch.nn.Module, folder: Path) -> torch.nn.Module:
    """A saved adapter (and its head) on the base model, for inference."""
    from peft import PeftModel

    return PeftModel.from_pretrained(base, str(folder), is_trainable=False)


def merged_model(model: torch.nn.Module) -> torch.nn.Module:
    """The adapters folded into the base weights: a plain transformers model, as fast as the base one. Works
    in place: the PeftModel is spent afterwards."""
    return model.merge_and_unload()
