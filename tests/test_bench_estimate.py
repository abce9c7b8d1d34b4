"""`bench estimate --decoder`: the parameter counts and weight bytes of the estimate are peft's own on a real model
built at random from the same config, and its activation bytes are within a few percent of what autograd keeps
for backward (measured with saved-tensor hooks on the CPU). Small Llama, Qwen2 and Gemma configs, each in a
fraction of a second."""

from __future__ import annotations

import pytest
import torch
import transformers

from jglue_bench.bench.decoder_memory import decoder_memory
from jglue_bench.errors import UserError
from jglue_bench.train.peft_adapters import add_adapter

SHAPE = {
    "vocab_size": 1000,
    "hidden_size": 256,
    "intermediate_size": 688,
    "num_hidden_layers": 4,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 64,
    "pad_token_id": 0,
}
FAMILIES = {"llama": "LlamaConfig", "qwen2": "Qwen2Config", "gemma": "GemmaConfig"}
DEFAULT_LORA = {"method": "lora", "r": 8, "alpha": 16, "dropout": 0.0, "target_modules": None}
MLP_LORA = {"method": "lora", "r": 4, "alpha": 8, "dropout": 0.1, "target_modules": ["q_proj", "v_proj", "down_proj"]}
LORAS = {"full": None, "lora-qkvo": DEFAULT_LORA, "lora-q-v-down": MLP_LORA}


def config_of(family: str, num_labels: int = 3):
    return getattr(transformers, FAMILIES[family])(**SHAPE, num_labels=num_labels)


def real_model(family: str, peft, dtype: torch.dtype, question_answering: bool = False):
    """What train(cfg) fine-tunes: the sequence classifier (JSQuAD: the question-answering model), with
    model.peft's adapters put on as train(cfg) does."""
    torch.manual_seed(0)
    auto = (
        transformers.AutoModelForQuestionAnswering
        if question_answering
        else transformers.AutoModelForSequenceClassification
    )
    model = auto.from_config(config_of(family), dtype=dtype, attn_implementation="sdpa")
    return add_adapter(model, peft) if peft else model


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
@pytest.mark.parametrize("lora", LORAS)
@pytest.mark.parametrize("family", FAMILIES)
def test_parameters_and_weight_bytes_are_pefts_own(family, lora, dtype):
    peft = LORAS[lora]
    estimate = decoder_memory(config_of(family), peft, dtype, "bf16", batch=2, length=16)
    model = real_model(family, peft, getattr(torch, dtype))
    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    assert estimate["trainable_parameters"] == sum(parameter.numel() for parameter in trainable)
    assert estimate["parameters"] == sum(parameter.numel() for parameter in model.parameters())
    memory = estimate["memory"]
    assert memory["weights"] == sum(parameter.numel() * parameter.element_size() for parameter in model.parameters())
    trainable_bytes = sum(parameter.numel() * parameter.element_size() for parameter in trainable)
    assert memory["gradients"] == trainable_bytes and memory["optimizer"] == 2 * trainable_bytes


@pytest.mark.parametrize("lora", ["full", "lora-qkvo"])
@pytest.mark.parametrize("family", ["llama", "qwen2"])
def test_question_answering_counts_are_pefts_own_and_gemma_has_no_qa_class(family, lora):
    """JSQuAD on a decoder: the family's *ForQuestionAnswering, its qa_outputs head trained whole under LoRA."""
    peft = LORAS[lora]
    estimate = decoder_memory(config_of(family), peft, "bfloat16", "bf16", 2, 16, question_answering=True)
    model = real_model(family, peft, torch.bfloat16, question_answering=True)
    trainable = [parameter for parameter in model.parameters() if parameter.requires_grad]
    assert estimate["trainable_parameters"] == sum(parameter.numel() for parameter in trainable)
    assert estimate["memory"]["weights"] == sum(p.numel() * p.element_size() for p in model.parameters())
    measured = saved_for_backward(model, 4, 64, autocast=True)
    memory = decoder_memory(config_of(family), peft, "bfloat16", "bf16", 4, 64, question_answering=True)["memory"]
    assert memory["activations"] + memory["autocast_copies"] == pytest.approx(measured, rel=0.05)
    with pytest.raises(UserError, match="no question-answering class for model type 'gemma'"):
        decoder_memory(config_of("gemma"), peft, "bfloat16", "bf16", 2, 16, question_answering=True)


def saved_for_backward(model, batch: int, length: int, autocast: bool) -> int:
    """Bytes autograd keeps for backward during one forward pass (each storage once, the parameters not counted)."""
    kept: dict[int, int] = {}

    def pack(tensor):
        storage = tensor.untyped_storage()
        kept[storage.data_ptr()] = max(kept.get(storage.data_ptr(), 0), storage.nbytes())
        return tensor

    ids = torch.randint(5, SHAPE["vocab_size"], (batch, length))
    model.train()
    with (
        torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast),
        torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor),
    ):
        model(input_ids=ids, attention_mask=torch.ones_like(ids))
    parameters = {parameter.untyped_storage().data_ptr() for parameter in model.parameters()}
    return sum(size for pointer, size in kept.items() if pointer not in parameters)


# The quick suite measures two cases; `-m slow` the rest (each a few seconds on 2 cores).
QUICK_ACTIVATIONS = {("llama", "lora-qkvo", "bfloat16", "bf16"), ("llama", "full", "float32", "bf16")}
ACTIVATION_CASES = [
    pytest.param(
        family,
        lora,
        dtype,
        precision,
        marks=() if (family, lora, dtype, precision) in QUICK_ACTIVATIONS else pytest.mark.slow,
        id=f"{family}-{lora}-{dtype}-{precision}",
    )
    for family in ("llama", "qwen2", "gemma")
    for lora in ("full", "lora-qkvo")
    for dtype, precision in (("float32", "fp32"), ("float32", "bf16"), ("bfloat16", "fp32"), ("bfloat16", "bf16"))
]


@pytest.mark.parametrize("family, lora, dtype, precision", ACTIVATION_CASES)
def test_activations_are_what_backward_keeps(family, lora, dtype, precision):
    """Activations + autocast's half-precision weight copies against autograd's saved tensors, within 5%."""
    batch, length = 8, 128
    model = real_model(family, LORAS[lora], getattr(torch, dtype))
    measured = saved_for_backward(model, batch, length, autocast=precision == "bf16")
    memory = decoder_memory(config_of(family), LORAS[lora], dtype, precision, batch, length)["memory"]
    estimated = memory["activations"] + memory["autocast_copies"]
    assert estimated == pytest.approx(measured, rel=0.05), (estimated, measured)


def test_checkpointing_keeps_each_layers_input_and_rebuilds_one_layer():
    def activations(layers: int, checkpointing: bool) -> int:
        config = config_of("llama")
        config.num_hidden_layers = layers
        memory = decoder_memory(config, DEFAULT_LORA, "bfloat16", "bf16", 8, 128, gradient_checkpointing=checkpointing)
        return memory["memory"]["activations"]

    tokens, input_bytes = 8 * 128, SHAPE["hidden_size"] * 2  # a layer's input: hidden values in bfloat16
    assert activations(4, True) - activations(2, True) == 2 * input_bytes * tokens
    per_layer = (activations(4, False) - activations(2, False)) // 2
    assert activations(2, True) == activations(2, False) - per_layer + 2 * input_bytes * tokens


def test_unknown_targets_are_one_line():
    with pytest.raises(UserError, match=r"no Linear layer of this llama model matches \['query'\]"):
        decoder_memory(config_of("llama"), {**DEFAULT_LORA, "target_modules": ["query"]}, "float32", "fp32", 1, 8)
    with pytest.raises(UserError, match="precision 'fp8'; expected one of fp32, bf16, fp16"):
        decoder_memory(config_of("llama"), None, "float32", "fp8", 1, 8)


def test_bench_estimate_decoder_from_a_config_json(tmp_path, capsys):
    """The command: one row per task at the task's batch and length, its JSON, and the ratio-style last line."""
    import argparse
    import json

    from jglue_bench.bench.cli import add_bench_parser

    config_of("qwen2").save_pretrained(tmp_path / "qwen2")
    parser = argparse.ArgumentParser()
    add_bench_parser(parser.add_subparsers(dest="command"))
    arguments = [
        "bench",
        "estimate",
        "--decoder",
        str(tmp_path / "qwen2"),
        "--lora-r",
        "16",
        "--out-dir",
        str(tmp_path),
    ]
    args = parser.parse_args(arguments)
    args.handler(args)
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-1].startswith("estimate: largest peak") and "(not measured)" in lines[-1]
    (saved,) = tmp_path.glob("estimate-decoder-*.json")
    result = json.loads(saved.read_text(encoding="utf-8"))
    assert result["peft"]["r"] == 16 and result["weights_dtype"] == "float32"  # as train loads it (model.dtype)
    jcommonsenseqa = result["tasks"]["jcommonsenseqa"]
    assert (jcommonsenseqa["batch_sequences"], jcommonsenseqa["length"]) == (64 * 5, 64)
    model = real_model("qwen2", {**DEFAULT_LORA, "r": 16, "alpha": 32}, torch.float32)
    trainable = sum(parameter.numel() for parameter in model.parameters() if parameter.requires_grad)
    assert result["tasks"]["jnli"]["memory"]["trainable_parameters"] == trainable
    jsquad = result["tasks"]["jsquad"]  # the QA model: its 2-output qa_outputs copy trains beside the adapters
    qa_model = real_model("qwen2", {**DEFAULT_LORA, "r": 16, "alpha": 32}, torch.float32, question_answering=True)
    qa_trainable = sum(parameter.numel() for parameter in qa_model.parameters() if parameter.requires_grad)
    assert jsquad["memory"]["trainable_parameters"] == qa_trainable != trainable
    config_of("gemma").save_pretrained(tmp_path / "gemma")
    args = parser.parse_args(["bench", "estimate", "--decoder", str(tmp_path / "gemma"), "--out-dir", str(tmp_path)])
    args.handler(args)
    assert any(
        line.startswith("| jsquad") and "no question-answering class" in line
        for line in capsys.readouterr().out.splitlines()
    )


def test_a_decoder_config_that_is_not_here_is_one_line(jglue_bench_cli):
    code, _, stderr = jglue_bench_cli("bench", "estimate", "--decoder", "qwen2_5_7b")
    assert code != 0
    assert stderr.strip().splitlines()[-1] == (
        "jglue-bench: error: bench estimate --decoder qwen2_5_7b: the config.json of Qwen/Qwen2.5-7B is not here and "
        "the estimate does not go to the hub; download it (`huggingface-cli download Qwen/Qwen2.5-7B config.json "
        "--local-dir DIR`) and pass --decoder DIR."
    )
