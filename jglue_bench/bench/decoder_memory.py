"""The memory model of `jglue-bench bench estimate --decoder CONFIG` (decoder_estimate): ESTIMATED training memory of a decoder LLM fine-tuned with a
head, with or without LoRA, as jglue-bench's loop runs it (not a measurement).

Parameters come from the model itself, built from its config.json on torch's meta device (shapes, no storage,
no weights downloaded); the adapters from its Linear layers' shapes: LoRA of rank r on a Linear(in, out) adds
r x (in + out) parameters, on every Linear whose name ends with a target module, as peft matches them
(tests/test_bench_estimate.py checks the counts and bytes against peft's own model). With LoRA, peft's
sequence-classification task trains a copy of the head (`score`) in full and keeps the original frozen.

Memory, in bytes, of what the loop allocates:
- weights: every parameter in the weights' dtype (transformers 5 loads a checkpoint in its own dtype, e.g.
  bfloat16), the adapters in float32 (peft upcasts adapters of half-precision layers);
- gradients and AdamW's two moments: of the trainable parameters only, each in its parameter's dtype (torch's
  AdamW keeps its states so). The loop keeps no separate float32 master copy: with trainer.precision=bf16,
  autocast computes in bfloat16 while the weights stay in the dtype they were loaded in, so a full fine-tune of a
  bfloat16 checkpoint updates bfloat16 weights (--weights-dtype float32 estimates float32 weights instead);
- activations: what backward needs, per layer and token, times batch x length (x choices for multiple choice):
  the inputs of the norms, q, k, v and the attention output (SDPA's fused kernels keep no length x length
  matrix), the MLP's gate, up and activation outputs; a Linear's input only where its weight trains or carries an
  adapter (a frozen Linear's backward needs its weight, not its input); r values per adapter. Each value is 2
  bytes under bf16 or fp16 autocast, else 4. With gradient checkpointing only each layer's input is kept, and one
  layer's activations are rebuilt at a time.
Left out: the CUDA context and kernels' workspace (about 0.5-1 GB), the allocator's fragmentation, the
float32 upcasts inside RMSNorm, and the logits over the vocabulary (a classification head has none).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jglue_bench.errors import UserError

ADAPTER_BYTES = 4  # peft keeps LoRA weights in float32 (autocast_adapter_dtype) even on half-precision layers
# peft's modules_to_save (SEQ_CLS: score/classifier; QUESTION_ANS: qa_outputs): trained in full, a copy of the original
HEAD_MODULES = ("score", "classifier", "qa_outputs")
HALF_BYTES = 2  # what bf16 and fp16 autocast compute in
PRECISIONS = ("fp32", "bf16", "fp16")  # trainer.precision
FLOAT32_NORMS = ("gemma", "gemma2", "gemma3", "gemma3_text")
DTYPE_BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}


def decoder_memory(
    config,
    peft: Mapping[str, Any] | None,
    weights_dtype: str,
    precision: str,
    batch: int,
    length: int,
    num_labels: int = 3,
    gradient_checkpointing: bool = False,
    question_answering: bool = False,
) -> dict[str, Any]:
    """Parameters (total, trainable) and the memory of one training step, in bytes, broken down; with
    `question_answering`, of the family's *ForQuestionAnswering model (JSQuAD: a start/end head on every token)."""
    weight_bytes = DTYPE_BYTES[weights_dtype]
    if precision not in PRECISIONS:
        raise UserError(f"bench estimate: precision {precision!r}; expected one of {', '.join(PRECISIONS)}.")
    if weights_dtype not in DTYPE_BYTES:
        raise UserError(f"bench estimate: weights dtype {weights_dtype!r}; expected one of {', '.join(DTYPE_BYTES)}.")
    compute_bytes = HALF_BYTES if precision in ("bf16", "fp16") else weight_bytes
    model = meta_model(config, num_labels, question_answering)
    counts = parameter_counts(model, config, peft)
    trainable_bytes = (
        counts["adapters"] * ADAPTER_BYTES + counts["head"] * weight_bytes if peft else counts["base"] * weight_bytes
    )
    autocast = precision in ("bf16", "fp16")
    layer_saved = saved_per_token_per_layer(config, counts["adapted"], peft, weight_bytes, compute_bytes, autocast)
    memory = {
        "weights": (counts["base"] + counts["head_copy"]) * weight_bytes + counts["adapters"] * ADAPTER_BYTES,
        "gradients": trainable_bytes,
        "optimizer": 2 * trainable_bytes,
        "autocast_copies": autocast_weight_copies(model, counts["adapters"], compute_bytes, weight_bytes),
        "activations": activation_bytes(
            config, layer_saved, batch * length, gradient_checkpointing, peft is None, weight_bytes, compute_bytes
        ),
    }
    return {
        "parameters": counts["base"] + counts["head_copy"] + counts["adapters"],
        "trainable_parameters": counts["trainable"],
        "memory": memory,
        "total_bytes": sum(memory.values()),
    }


def parameter_counts(model, config, peft: Mapping[str, Any] | None) -> dict[str, Any]:
    """The base model's parameters with a fresh head, the head's, the adapted Linear layers and the adapters'
    parameters (r x (in + out) each), and the trainable ones."""
    base = sum(parameter.numel() for parameter in model.parameters())
    head = sum(parameter.numel() for name, parameter in model.named_parameters() if is_head(name))
    adapted = adapted_linears(model, config, peft) if peft else {}
    adapters = sum(peft["r"] * (linear.in_features + linear.out_features) for linear in adapted.values())
    return {
        "base": base,
        "head": head,
        "head_copy": head if peft else 0,
        "adapted": adapted,
        "adapters": adapters,
        "trainable": adapters + head if peft else base,
    }


def meta_model(config, num_labels: int, question_answering: bool = False):
    """The sequence-classification (or question-answering) model `config` describes, on the meta device (no memory,
    no weights); a family without a QA class in transformers (Gemma) is one line."""
    import copy

    import torch
    from transformers import AutoModelForQuestionAnswering, AutoModelForSequenceClassification

    config = copy.deepcopy(config)
    config.num_labels = num_labels
    auto = AutoModelForQuestionAnswering if question_answering else AutoModelForSequenceClassification
    try:
        with torch.device("meta"):
            return auto.from_config(config)
    except ValueError:
        if not question_answering:
            raise
        raise UserError(
            f"no question-answering class for model type {getattr(config, 'model_type', '?')!r} in transformers: "
            f"JSQuAD does not fine-tune on it."
        ) from None


def is_head(name: str) -> bool:
    return name.split(".")[0] in HEAD_MODULES


def adapted_linears(model, config, peft: Mapping[str, Any]) -> dict[str, Any]:
    """The Linear layers LoRA goes on: model.peft.target_modules, else jglue-bench's defaults for the model type,
    else peft's own; a name matches a target when it is the target or ends with "." + target (as in peft)."""
    import torch
    from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING

    from jglue_bench.train.peft_adapters import DEFAULT_TARGETS

    model_type = getattr(config, "model_type", "")
    targets = (
        peft.get("target_modules")
        or DEFAULT_TARGETS.get(model_type)
        or TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING.get(model_type)
    )
    if not targets:
        raise UserError(f"bench estimate: no LoRA target modules known for model type {model_type!r}; pass them.")
    adapted = {
        name: module
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.Linear)
        and not is_head(name)
        and any(name == target or name.endswith("." + target) for target in targets)
    }
    if not adapted:
        raise UserError(f"bench estimate: no Linear layer of this {model_type} model matches {list(targets)}.")
    return adapted


def saved_per_token_per_layer(
    config,
    adapted: Mapping[str, Any],
    peft: Mapping[str, Any] | None,
    weight_bytes: int,
    compute_bytes: int,
    autocast: bool,
) -> int:
    """Bytes one decoder layer keeps for backward per token (see the module's docstring)."""
    hidden, intermediate = config.hidden_size, config.intermediate_size
    heads = config.num_attention_heads
    head_dim = getattr(config, "head_dim", None) or hidden // heads
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    inputs = {"q_proj": hidden, "k_proj": hidden, "v_proj": hidden, "o_proj": heads * head_dim}
    inputs.update(gate_proj=hidden, up_proj=hidden, down_proj=intermediate)
    layer0 = [name.split("layers.0.", 1)[1] for name in adapted if ".layers.0." in name]
    learning = [name for name in inputs if peft is None or any(short.endswith(name) for short in layer0)]
    saved = 2 * norm_bytes(hidden, weight_bytes, peft is None, config.model_type)
    saved += (2 * heads * head_dim + 2 * kv_heads * head_dim + 3 * intermediate) * compute_bytes + 4 * heads
    saved += linear_input_bytes(inputs, learning, weight_bytes, compute_bytes, autocast, peft is not None)
    if peft:
        # each adapter's A output (B's input), in the adapter's float32 unless autocast computes in half
        saved += peft["r"] * len(layer0) * (compute_bytes if autocast else ADAPTER_BYTES)
        if peft.get("dropout"):  # the dropped-out input and its mask
            saved += sum(inputs[name.rsplit(".", 1)[-1]] for name in layer0) * (compute_bytes + 1)
    return saved


def norm_bytes(hidden: int, weight_bytes: int, full: bool, model_type: str) -> int:
    """An RMSNorm keeps its input upcast to float32 and the inverse root; the normalised values too where its weight
    trains (they are the weight's gradient's input; Gemma's norm multiplies by 1 + weight in float32)."""
    normalised = 4 if model_type in FLOAT32_NORMS else weight_bytes
    return 4 * hidden + 4 + (hidden * normalised if full else 0)


def linear_input_bytes(
    inputs: Mapping[str, int], learning: list[str], weight_bytes: int, compute_bytes: int, autocast: bool, lora: bool
) -> int:
    """The inputs of the Linear layers that learn (weight or adapter). Each keeps a copy of its own where its input
    is cast: to half precision under autocast when the weights are float32, and for an adapter (float32) on
    half-precision weights (peft casts the input to the adapter's dtype, autocast back); otherwise q, k and v (and
    gate and up) keep the same tensor, and o_proj's input is the attention output, kept anyway."""
    if (autocast and weight_bytes != compute_bytes) or (lora and weight_bytes != ADAPTER_BYTES):
        return sum(inputs[name] for name in learning) * (compute_bytes if autocast else ADAPTER_BYTES)
    groups = [("q_proj", "k_proj", "v_proj"), ("gate_proj", "up_proj"), ("down_proj",)]
    return sum(inputs[group[0]] for group in groups if any(name in learning for name in group)) * weight_bytes


def activation_bytes(
    config,
    layer_saved: int,
    tokens: int,
    gradient_checkpointing: bool,
    full: bool,
    weight_bytes: int,
    compute_bytes: int,
) -> int:
    """Activations of one step over `tokens` (batch x length); with checkpointing each layer keeps its input
    (hidden values a token, in the weights' dtype) and one layer's are rebuilt at a time. Outside the layers: the
    final norm and the head's input."""
    layers, hidden = config.num_hidden_layers, config.hidden_size
    kept = layers * hidden * weight_bytes + layer_saved if gradient_checkpointing else layers * layer_saved
    return (kept + norm_bytes(hidden, weight_bytes, full, config.model_type) + hidden * compute_bytes) * tokens


def autocast_weight_copies(model, adapters: int, compute_bytes: int, weight_bytes: int) -> int:
    """Under bf16/fp16 autocast with float32 weights every Linear casts its weight to half precision, and backward
    keeps that copy (the input's gradient needs it, frozen or not): 2 bytes per Linear weight, the adapters' (float32
    always) too."""
    import torch

    linear = sum(module.weight.numel() for module in model.modules() if isinstance(module, torch.nn.Linear))
    return compute_bytes * (adapters + (linear if compute_bytes != weight_bytes else 0)) if compute_bytes < 4 else 0
