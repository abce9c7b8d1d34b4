"""trainer.gradient_checkpointing: layers run again in the backward pass, and training computes what it computes
without it: the same loss every epoch and the same trained weights (so the same gradients), for a random encoder
fully fine-tuned (with dropout) and a decoder with LoRA (frozen embeddings, which reentrant checkpointing would
leave without gradients)."""

from __future__ import annotations

import pytest
import torch
from conftest import MEMORISE_EIGHT

from jglue_bench.train import loop as train_loop
from jglue_bench.train.loop import train


def trained_with(make_config, monkeypatch, overrides, checkpointing: bool):
    """(loss per epoch, the trained model's state, how often the first layer ran) of a one-epoch run of two steps."""
    seen = {}
    real_make_loop = train_loop.make_loop

    def count_layer_calls(model):
        # a module inside the first layer: the checkpoint replays the layer's forward, so its hooks fire again
        layer = next(module for name, module in model.named_modules() if name.endswith(("layers.0", "layer.0")))
        seen["calls"] = 0
        next(layer.children()).register_forward_hook(lambda *_: seen.__setitem__("calls", seen["calls"] + 1))

    def make_loop(cfg, accelerator, model, *rest):
        count_layer_calls(model)
        seen["model"] = model
        return real_make_loop(cfg, accelerator, model, *rest)

    monkeypatch.setattr(train_loop, "make_loop", make_loop)
    result = train(
        make_config(
            *overrides,
            *MEMORISE_EIGHT,
            "num_train_epochs=1",
            "batch_size=4",  # two optimizer steps: the second runs on weights the first step's gradients made
            "save_model=false",
            f"trainer.gradient_checkpointing={str(checkpointing).lower()}",
            "rerun=true",
            "overwrite=true",
        )
    )
    losses = [epoch["train_loss"] for epoch in result.record["history"]]
    state = {name: tensor.detach().clone() for name, tensor in seen["model"].state_dict().items()}
    return losses, state, seen["calls"], result.record


# the quick suite runs the LoRA decoder (peft, frozen embeddings); the encoder is transformers' own path
@pytest.mark.parametrize("model", [pytest.param("encoder", marks=pytest.mark.slow), "decoder-lora"])
def test_checkpointing_recomputes_layers_and_trains_to_the_same_weights(make_config, monkeypatch, tiny_decoder, model):
    overrides = (
        ["model=tiny", "task=jnli"]
        if model == "encoder"
        else [
            "model=causal_lm",
            f"model.pretrained={tiny_decoder}",
            "task=jnli",
            "model.peft.method=lora",
            "model.peft.r=4",
        ]
    )
    plain_losses, plain_state, plain_calls, plain_record = trained_with(make_config, monkeypatch, overrides, False)
    losses, state, calls, record = trained_with(make_config, monkeypatch, overrides, True)
    assert calls > plain_calls  # the layer ran again in the backward pass: checkpointing is on
    assert losses == pytest.approx(plain_losses, rel=1e-5)
    assert set(state) == set(plain_state)
    for name, tensor in state.items():
        torch.testing.assert_close(tensor, plain_state[name], atol=1e-5, rtol=1e-4, msg=f"{name} trained differently")
    assert record["experiment"]["key"] == plain_record["experiment"]["key"]  # how it ran, not what it computed
