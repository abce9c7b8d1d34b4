"""The encoder with the head of the task's kind: a fresh tiny model, or pretrained weights (local or hub)."""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import torch
from transformers import AutoConfig, PreTrainedModel

from jglue_bench.errors import UserError
from jglue_bench.tasks import TaskSpec
from jglue_bench.train.decoders import checkpoint_key_mapping, decoder_auto_class, decoder_head, for_kind, is_decoder
from jglue_bench.train.peft_adapters import four_bit_loading


def build_model(
    model_cfg: Mapping[str, Any], spec: TaskSpec, kind: ModuleType, tokenizer, seed: int
) -> PreTrainedModel:
    head = kind.head_config(spec)
    if model_cfg.get("pretrained") is None:
        architecture = dict(model_cfg.get("architecture") or {})
        if not architecture:
            raise UserError(
                f"model '{model_cfg.get('name')}' needs `pretrained` (a folder or hub id) or an "
                f"`architecture` to build at random."
            )
        config = AutoConfig.for_model(
            **architecture, vocab_size=len(tokenizer), pad_token_id=tokenizer.pad_token_id, **head
        )
        torch.manual_seed(seed)  # the random initialisation is part of the run, so the seed fixes it
        return kind.AUTO_MODEL.from_config(config)
    return for_kind(load_base(model_cfg, spec, kind, tokenizer), model_cfg, spec.kind)


def load_base(
    model_cfg: Mapping[str, Any], spec: TaskSpec, kind: ModuleType, tokenizer, supplied: Sequence[str] = ()
) -> PreTrainedModel:
    """The pretrained weights `model_cfg` names, with a fresh head for the task (a decoder's scores its last real
    token); a LoRA adapter goes on these. `supplied`: the modules a saved adapter fills afterwards (its head), so
    transformers' load report, which would list them as missing, is kept quiet, and only other missing weights
    are named (one line)."""
    model, missing = load_weights(
        kind,
        model_cfg["pretrained"],
        model_cfg.get("revision"),
        bool(model_cfg.get("trust_remote_code", False)),
        bool(model_cfg.get("allow_pickle", False)),
        auto_class=decoder_auto_class(model_cfg, spec.kind),
        quiet=bool(supplied) or is_decoder(model_cfg),  # what is missing is checked below
        key_mapping=checkpoint_key_mapping(model_cfg, spec.kind),
        **(four_bit_loading(model_cfg) or weights_dtype(model_cfg)),  # qlora: the base in 4 bits, on this GPU
        **kind.head_config(spec),
        **decoder_head(model_cfg, tokenizer, spec.kind),
    )
    unfilled = sorted(key for key in missing if not in_modules(key, (*supplied, *DECODER_HEADS)))
    if unfilled and (supplied or is_decoder(model_cfg)):
        # a decoder body left at random, or weights neither the checkpoint nor the adapter has: scores would be noise
        cause = (
            "the saved adapter does not hold them either (an adapter saved before LoRA kept every module the "
            "checkpoint lacks: train it again)"
            if supplied
            else "is it a checkpoint of this family?"
        )
        raise UserError(
            f"the weights in {model_cfg['pretrained']} leave {len(unfilled)} tensors of the "
            f"{type(model).__name__} unfilled (e.g. {', '.join(unfilled[:3])}); {cause}"
        )
    model.jglue_fresh_modules = fresh_modules(model, missing)
    return model


def weights_dtype(model_cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The dtype weights are loaded and trained in: `model.dtype`, float32 unless set. transformers 5 loads a
    checkpoint in its own dtype, and the loop keeps no float32 master copy, so a full fine-tune of a bfloat16
    checkpoint would update bfloat16 weights, where lr x gradient steps below a weight's precision round away;
    float32 weights with trainer.precision=bf16 compute in bf16 under autocast and update in float32. bfloat16
    halves the memory of a LoRA run's frozen base (the adapters and, under autocast, the head train in float32);
    what training in it means is checked before a run (preflight.check_training_dtype)."""
    name = str(model_cfg.get("dtype") or "float32")
    if name not in ("float32", "bfloat16", "float16"):
        raise UserError(f"model.dtype={name!r}: expected float32, bfloat16 or float16.")
    return {"dtype": getattr(torch, name)}


def fresh_modules(model: PreTrainedModel, missing: set[str]) -> tuple[str, ...]:
    """The modules the checkpoint did not fill, initialised at random here, which LoRA must therefore train and
    save whole (peft's modules_to_save): the head's top-level modules (DistilBERT's pre_classifier and classifier,
    DeBERTa's pooler, ModernBERT's head, a decoder's score), and inside the body the module itself (a BERT
    checkpoint without its pooler), so no wrapped module holds another."""
    prefix = getattr(model, "base_model_prefix", "")
    tops = {key.split(".")[0] if key.split(".")[0] != prefix else key.rpartition(".")[0] for key in missing}
    return tuple(sorted(tops))


def in_modules(key: str, modules: Sequence[str]) -> bool:
    """Whether the weight `key` (say classifier.dense.weight) belongs to one of `modules`, named as peft's
    modules_to_save name them (a top-level module, or the end of a module's path)."""
    path = key.rpartition(".")[0]
    return any(path == name or path.startswith(f"{name}.") or path.endswith(f".{name}") for name in modules)


DECODER_HEADS = ("score", "qa_outputs")  # the fresh heads of decoder classes: missing from a causal LM checkpoint


def load_pretrained(kind: ModuleType, source: str | Path, **options: Any) -> PreTrainedModel:
    """The model of load_weights (its options: revision, trust_remote_code, allow_pickle, auto_class, the head)."""
    return load_weights(kind, source, **options)[0]


def load_weights(
    kind: ModuleType,
    source: str | Path,
    revision: str | None = None,
    trust_remote_code: bool = False,
    allow_pickle: bool = False,
    auto_class=None,
    quiet: bool = False,
    key_mapping: dict[str, str] | None = None,
    **head: Any,
) -> tuple[PreTrainedModel, set[str]]:
    """Weights from a local folder or the hub, and the names of the weights the checkpoint did not fill:
    safetensors only, unless model.allow_pickle=true admits pickled .bin weights (which can run code when
    loaded); no remote code unless model.trust_remote_code=true. `quiet`: without transformers' load report (the
    caller checks what is missing); `key_mapping`: checkpoint names renamed."""
    from transformers.utils import logging as transformers_logging

    if key_mapping is not None:
        head["key_mapping"] = key_mapping
    verbosity = transformers_logging.get_verbosity()
    try:
        if quiet:
            transformers_logging.set_verbosity_error()  # the load report; the caller checks what is missing
        # output_hidden_states: BandaiNamco's config.json turns it on; fine-tuning needs no hidden states kept.
        model, info = (auto_class or kind.AUTO_MODEL).from_pretrained(
            str(source),
            revision=revision,
            trust_remote_code=trust_remote_code,
            use_safetensors=None if allow_pickle else True,
            output_hidden_states=False,
            output_loading_info=True,
            **head,
        )
    except (OSError, ValueError) as error:
        hint = (
            ""
            if allow_pickle
            else (
                " (only safetensors weights are loaded; model.allow_pickle=true admits "
                "pickled .bin weights from a source you trust)"
            )
        )
        raise UserError(
            f"Could not load the model weights from '{source}' (revision {revision}): "
            f"{str(error).splitlines()[0]}{hint}"
        ) from error
    finally:
        transformers_logging.set_verbosity(verbosity)
    if key_mapping is not None:
        forget_renaming(model, key_mapping)
    return model, set(info["missing_keys"])


def forget_renaming(model: PreTrainedModel, key_mapping: dict[str, str]) -> None:
    """transformers 5 saves a model under the names its checkpoint had (it reverts the renames it loaded with):
    a fine-tuned Llama question-answering model would be saved under the causal LM's `model.` names, which its
    own class, loading merged/ or model/, does not read. Forgotten, it saves under its class's own names."""
    from transformers.core_model_loading import WeightRenaming

    ours = set(key_mapping)
    kept = [
        conversion
        for conversion in getattr(model, "_weight_conversions", None) or []
        if not (isinstance(conversion, WeightRenaming) and set(conversion.source_patterns) <= ours)
    ]
    model._weight_conversions = kept or None


def checkpoint_activations(model: torch.nn.Module, model_name: str) -> None:
    """trainer.gradient_checkpointing: each transformer layer keeps its input only and runs again in the backward
    pass. Non-reentrant checkpointing (use_reentrant=False): it needs no input that requires grad, so frozen
    embeddings under LoRA work, and it replays dropout with the same random numbers. Before add_adapter: peft then
    sees a checkpointed model and makes the embeddings' output require grad as well."""
    target = getattr(model, "scorer", model)  # a decoder's multiple choice: the sequence scorer inside
    if not getattr(target, "supports_gradient_checkpointing", False):
        raise UserError(
            f"trainer.gradient_checkpointing=true: model '{model_name}' ({type(target).__name__}) does not support "
            "it; set trainer.gradient_checkpointing=false."
        )
    target.activation_checkpointing_enable(activation_checkpointing_kwargs={"use_reentrant": False})


def library_progress_bars(enabled: bool) -> None:
    """transformers' own bars (loading and writing weights) follow ours: shown only on a terminal, when asked."""
    import sys

    from transformers.utils import logging as transformers_logging

    if enabled and sys.stderr.isatty():
        transformers_logging.enable_progress_bar()
    else:
        transformers_logging.disable_progress_bar()


def forward_input_names(model: PreTrainedModel) -> tuple[str, ...]:
    """The inputs this model's forward uses: DistilBERT and ModernBERT take no token_type_ids; BERT and ELECTRA
    use two types; RoBERTa, XLM-R and LUKE (one type) and DeBERTa-v3 (none) get none, so they see the zeros
    they were pre-trained with (a 1 would index past RoBERTa's single type row)."""
    if hasattr(model, "get_base_model"):  # a PeftModel's forward names fewer inputs than the model it wraps
        model = model.get_base_model()
    accepted = inspect.signature(model.forward).parameters
    token_types = int(getattr(model.config, "type_vocab_size", 0) or 0) >= 2
    return tuple(
        name
        for name in ("input_ids", "attention_mask", "token_type_ids")
        if name in accepted and (name != "token_type_ids" or token_types)
    )


def max_input_length(model: PreTrainedModel, requested: int) -> int:
    """The task's max_seq_length, unless the model has fewer positions (a RoBERTa-style model reserves
    pad_token_id + 1 of them): the task rules where the model allows more (ModernBERT's 8,192)."""
    positions = getattr(model.config, "max_position_embeddings", None)
    if not positions:
        return requested
    if getattr(model.config, "model_type", "") in OFFSET_POSITIONS:
        positions -= int(model.config.pad_token_id or 0) + 1
    return min(requested, int(positions))


OFFSET_POSITIONS = ("roberta", "xlm-roberta", "luke", "camembert")  # position ids start after the padding index


def needs_unused_parameters(model: PreTrainedModel) -> bool:
    """LUKE without entity inputs leaves its entity weights without gradients: DDP must be told to expect that."""
    return getattr(getattr(model, "config", None), "model_type", "") == "luke"


def model_architecture(model_cfg: Mapping[str, Any]):
    """The model's transformers config and where it came from: its config.json when `pretrained` is a local
    folder that has one ("config.json"), else the model config's `shape:` block, the hub config.json's fields
    as read with their source ("shape"); (None, None) when neither is here (a hub id is not fetched for this)."""
    source = model_cfg.get("pretrained")
    folder = Path(str(source)).expanduser() if source else None
    if folder is not None and (folder / "config.json").is_file():
        return AutoConfig.from_pretrained(str(folder), trust_remote_code=False), "config.json"
    shape = dict(model_cfg.get("shape") or {})
    if not shape:
        return None, None
    return AutoConfig.for_model(shape.pop("model_type"), **shape), "shape"


def meta_parameters(config, auto_class=None) -> int:
    """Parameters of the model `config` describes (the bare encoder unless `auto_class` adds a head), built on
    torch's meta device: every tensor has a shape and no storage, so even a large model costs nothing."""
    from transformers import AutoModel

    with torch.device("meta"):
        model = (auto_class or AutoModel).from_config(config, trust_remote_code=False)
    return count_parameters(model)


def model_facts(model: torch.nn.Module, peft: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What a record says of the model that ran, as plain values: its parameter count (with adapters), how many
    of them trained, the adapters' settings (`peft`, None without), and whether the last layer ran for [CLS]
    only."""
    from jglue_bench.train.first_token import runs_first_token_only

    return {
        "num_parameters": count_parameters(model),
        "trainable_parameters": sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad),
        "peft": dict(peft) if peft else None,
        "first_token_last_layer": runs_first_token_only(model),
    }


def count_parameters(model: torch.nn.Module) -> int:
    return sum(parameter.numel() for parameter in model.parameters())
