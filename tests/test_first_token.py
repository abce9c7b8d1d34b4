"""The first-token last layer (jglue_bench/first_token.py) gives the stock model's logits, loss and gradients."""

from __future__ import annotations

import copy

import pytest
import torch
from transformers import (DistilBertConfig, DistilBertForMultipleChoice, DistilBertForQuestionAnswering,
                          DistilBertForSequenceClassification)

from jglue_bench.first_token import first_token_last_layer, runs_first_token_only


def tiny_config(attention: str, **head) -> DistilBertConfig:
    config = DistilBertConfig(vocab_size=60, dim=32, n_layers=3, n_heads=4, hidden_dim=64, dropout=0.0,
                              attention_dropout=0.0, seq_classif_dropout=0.0, **head)
    config._attn_implementation = attention
    return config


def padded_batch(rows: int, choices: int | None = None) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(3)
    shape = (rows, choices, 11) if choices else (rows, 11)
    ids = torch.randint(5, 60, shape, generator=generator)
    lengths = torch.randint(3, 12, shape[:-1], generator=generator)
    mask = (torch.arange(11) < lengths[..., None]).long()
    return {"input_ids": ids * mask, "attention_mask": mask}


def outputs_and_gradients(model, batch, labels):
    model.zero_grad()
    outputs = model(**batch, labels=labels)
    outputs.loss.backward()
    return outputs, {name: parameter.grad for name, parameter in model.named_parameters()
                     if parameter.grad is not None}


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
@pytest.mark.parametrize("head", ["classification", "regression", "multiple_choice"])
def test_first_token_last_layer_gives_the_stock_models_logits_loss_and_gradients(attention, head):
    torch.manual_seed(0)
    if head == "multiple_choice":
        stock = DistilBertForMultipleChoice(tiny_config(attention))
        batch, labels = padded_batch(4, choices=3), torch.tensor([0, 2, 1, 1])
    else:
        stock = DistilBertForSequenceClassification(tiny_config(attention, num_labels=3 if head == "classification"
                                                                else 1))
        batch = padded_batch(6)
        labels = torch.tensor([0, 1, 2, 2, 1, 0]) if head == "classification" else torch.rand(6) * 5
    fast = copy.deepcopy(stock)
    assert first_token_last_layer(fast)
    assert runs_first_token_only(fast) and not runs_first_token_only(stock)
    expected, expected_grads = outputs_and_gradients(stock, batch, labels)
    got, got_grads = outputs_and_gradients(fast, batch, labels)
    torch.testing.assert_close(got.logits, expected.logits, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(got.loss, expected.loss, atol=1e-6, rtol=1e-5)
    # every parameter still gets a gradient (the last layer's query through position 0), and each matches
    assert set(got_grads) == set(expected_grads)
    for name, gradient in expected_grads.items():
        torch.testing.assert_close(got_grads[name], gradient, atol=1e-5, rtol=1e-4, msg=name)
    assert fast.state_dict().keys() == stock.state_dict().keys()  # saves as the stock model does


def test_first_token_last_layer_changes_the_last_layers_output_shape_only():
    torch.manual_seed(0)
    model = DistilBertForSequenceClassification(tiny_config("sdpa", num_labels=2))
    batch = padded_batch(2)
    first_token_last_layer(model)
    hidden = model.distilbert(**batch).last_hidden_state
    assert hidden.shape == (2, 1, 32)


def test_heads_that_read_every_position_are_left_alone():
    model = DistilBertForQuestionAnswering(tiny_config("sdpa"))
    assert not first_token_last_layer(model)
    assert not runs_first_token_only(model)
