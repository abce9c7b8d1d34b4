"""LoRA adapters (`model.peft`) through the peft library: the base weights stay frozen, low-rank updates of the
attention projections and the task's head (fully: peft's SEQ_CLS task saves `score`/`classifier` whole, its
QUESTION_ANS task `qa_outputs`) train.

A run with an adapter saves it in PEFT's own format (adapter_config.json, adapter_model.safetensors) in model/;
`evaluate` and `predict` load the base weights the run started from and put the adapter on them.
"""

from __future__ import annotations

import importlib.util
import json
import warnings
from collections.abc import Mapping
from contextlib import contextmanager
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
DEFAULT_TARGETS = {
    model_type: ATTENTION_PROJECTIONS for model_type in ("llama", "qwen2", "qwen3", "gemma", "gemma2", "mistral")
}


def peft_settings(model_cfg: Mapping[str, Any]) -> dict[str, Any] | None:
    """model.peft as plain checked values, or None when no adapter is asked for (method null or no block)."""
    block = model_cfg.get("peft")
    settings = OmegaConf.to_container(block, resolve=True) if isinstance(block, DictConfig) else dict(block or {})
    method = settings.get("method")
    if method is None:
        return None
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


def check_qlora(settings: Mapping[str, Any] | None, on_cpu: bool) -> None:
    """QLoRA's 4-bit base weights are bitsandbytes kernels on a CUDA GPU: what is missing, in one line."""
    if settings is None or settings["method"] != "qlora":
        return
    missing = [
        *(["a CUDA GPU (this run is on the CPU)"] if on_cpu else []),
        *(
            ["bitsandbytes (pip install 'jglue-bench[qlora]')"]
            if importlib.util.find_spec("bitsandbytes") is None
            else []
        ),
    ]
    if missing:
        raise UserError(
            f"model.peft.method=qlora (4-bit base weights) needs {' and '.join(missing)}; use model.peft.method=lora."
        )


def four_bit_loading(model_cfg: Mapping[str, Any]) -> dict[str, Any]:
    """from_pretrained's settings for QLoRA's base (none for other runs): NF4 weights with double quantisation
    (the quantisation constants quantised too), computing in bf16, as the QLoRA paper does; on this process's GPU
    (Accelerate does not move 4-bit weights)."""
    settings = peft_settings(model_cfg)
    if settings is None or settings["method"] != "qlora":
        return {}
    check_qlora(settings, on_cpu=not torch.cuda.is_available())
    return {"quantization_config": four_bit_config(), "device_map": {"": torch.cuda.current_device()}}


def four_bit_config():
    from transformers import BitsAndBytesConfig

    return BitsAndBytesConfig(
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=torch.bfloat16,
    )


def check_merge(model_cfg: Mapping[str, Any], strategy: str, sharded: bool) -> None:
    """model.merge_adapter=true folds the adapters into whole base weights, which no process of an FSDP or
    DeepSpeed run holds: one line before any work (the adapter in model/ is saved whole all the same)."""
    settings = peft_settings(model_cfg) if model_cfg.get("merge_adapter") else None
    if settings is not None and settings["method"] == "qlora":
        raise UserError(
            "model.merge_adapter=true with model.peft.method=qlora would fold the adapters into 4-bit weights, "
            "rounding them away; set model.merge_adapter=false and merge onto the unquantised base weights."
        )
    if sharded and settings is not None:
        raise UserError(
            f"model.merge_adapter=true needs whole weights in one process, and trainer.distributed={strategy} "
            "shards them; set model.merge_adapter=false (model/ still holds the adapter and head) and merge on "
            "one process: PeftModel.from_pretrained(base, 'model/').merge_and_unload()."
        )


def add_adapter(model: torch.nn.Module, settings: Mapping[str, Any]) -> torch.nn.Module:
    """`model` inside a PeftModel with fresh LoRA adapters (their B matrices are zeros: the model starts as the
    base one) and its head trained in full."""
    from peft import LoraConfig, get_peft_model

    if hasattr(model, "scorer"):  # a decoder's multiple choice (decoders.ChoiceScores): its scorer gets the adapter
        model.scorer = add_adapter(model.scorer, settings)
        return model
    if settings["method"] == "qlora":
        # the 4-bit base frozen, the layer norms and head in float32, the embeddings' output requiring grad;
        # trainer.gradient_checkpointing is ours (set before this), not peft's default of turning it on
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    model_type = getattr(model.config, "model_type", "")
    targets = settings["target_modules"] or DEFAULT_TARGETS.get(model_type)
    config = LoraConfig(
        task_type=peft_task_type(model),
        r=settings["r"],
        lora_alpha=settings["alpha"],
        lora_dropout=settings["dropout"],
        target_modules=list(targets) if targets else None,
        # the head's freshly initialised modules (modeling.load_base), beyond the classifier/score/qa_outputs
        # peft's task trains anyway: DistilBERT's pre_classifier, DeBERTa's pooler, ModernBERT's head
        modules_to_save=list(getattr(model, "jglue_fresh_modules", ())) or None,
    )
    try:
        with without_deprecation_warning():
            return get_peft_model(model, config)
    except ValueError as error:  # target modules the model does not have, or a model type peft has no defaults for
        raise UserError(f"model.peft: {str(error).splitlines()[0]}") from error


def peft_task_type(model: torch.nn.Module):
    """peft's task for the head: QUESTION_ANS trains and saves `qa_outputs` whole, SEQ_CLS the `score` or
    `classifier` layer (also a multiple-choice scorer's)."""
    from peft import TaskType

    return TaskType.QUESTION_ANS if type(model).__name__.endswith("ForQuestionAnswering") else TaskType.SEQ_CLS


def recorded_settings(model: torch.nn.Module, settings: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """model.peft's settings as the record keeps them: target_modules the names peft wrapped (with
    target_modules=null, the family's default or peft's own), not null; None for a model without an adapter (every
    weight fine-tuned)."""
    peft_model = getattr(model, "scorer", model)
    if settings is None or not hasattr(peft_model, "peft_config"):
        return None
    wrapped = peft_model.peft_config["default"].target_modules
    return {**settings, "target_modules": sorted(wrapped)}


def has_adapter(folder: Path) -> bool:
    return (Path(folder) / ADAPTER_CONFIG).is_file()


def adapter_head_modules(folder: Path) -> tuple[str, ...]:
    """The modules a saved adapter holds whole (its head: `score`, `classifier`, `qa_outputs`)."""
    settings = json.loads((Path(folder) / ADAPTER_CONFIG).read_text(encoding="utf-8"))
    return tuple(settings.get("modules_to_save") or ())


def load_adapter(base: torch.nn.Module, folder: Path) -> torch.nn.Module:
    """A saved adapter (and its head) on the base model, for inference."""
    from peft import PeftModel

    with without_deprecation_warning():
        return PeftModel.from_pretrained(base, str(folder), is_trainable=False)


@contextmanager
def without_deprecation_warning():
    """peft 0.21 asks every model it wraps `is_gradient_checkpointing`, which transformers 5 deprecates with a
    FutureWarning each time; the answer peft gets is right, and a user can do nothing about the warning."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "`is_gradient_checkpointing` is deprecated", FutureWarning)
        yield


def merged_model(model: torch.nn.Module) -> torch.nn.Module:
    """The adapters folded into the base weights: a plain transformers model, as fast as the base one. Works
    in place: the PeftModel is spent afterwards."""
    return model.merge_and_unload()


def upcast_trainable(model: torch.nn.Module) -> None:
    """Every trainable parameter in float32 (peft upcasts its LoRA matrices, not the head copies it trains whole):
    AdamW keeps no master copy, so a bfloat16 weight would lose the small late steps."""
    for parameter in model.parameters():
        if parameter.requires_grad and parameter.dtype != torch.float32:
            parameter.data = parameter.data.float()
