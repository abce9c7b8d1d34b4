"""The first-token last layer (jglue_bench/train/first_token.py) gives the stock model's logits, loss and gradients."""

from __future__ import annotations

import copy
from functools import partial

import pytest
import torch
from transformers import (
    BertConfig,
    BertForMultipleChoice,
    BertForQuestionAnswering,
    BertForSequenceClassification,
    DebertaV2Config,
    DebertaV2ForSequenceClassification,
    DistilBertConfig,
    DistilBertForMultipleChoice,
    DistilBertForQuestionAnswering,
    DistilBertForSequenceClassification,
    ElectraConfig,
    ElectraForMultipleChoice,
    ElectraForSequenceClassification,
    RobertaConfig,
    RobertaForMultipleChoice,
    RobertaForSequenceClassification,
    XLMRobertaConfig,
    XLMRobertaForMultipleChoice,
    XLMRobertaForSequenceClassification,
)

from jglue_bench.train.first_token import first_token_last_layer, runs_first_token_only

VOCAB, LENGTH, HIDDEN = 100, 11, 32
BERT_SIZES = {
    "vocab_size": VOCAB,
    "hidden_size": HIDDEN,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "max_position_embeddings": 32,
}
BERT_DROPOUT = ("hidden_dropout_prob", "attention_probs_dropout_prob")


def distilbert_config(dropout: float, **head) -> DistilBertConfig:
    return DistilBertConfig(
        vocab_size=VOCAB,
        dim=HIDDEN,
        n_layers=2,
        n_heads=2,
        hidden_dim=64,
        dropout=dropout,
        attention_dropout=dropout,
        seq_classif_dropout=dropout,
        **head,
    )


def bert_family_config(config_class, dropout: float, **head):
    return config_class(**BERT_SIZES, **dict.fromkeys(BERT_DROPOUT, dropout), **head)


def electra_config(dropout: float, **head) -> ElectraConfig:
    # embedding_size below hidden_size: the embeddings are projected before the first layer
    return bert_family_config(ElectraConfig, dropout, embedding_size=16, summary_last_dropout=dropout, **head)


# family: (config builder taking the dropout, sequence classification class, multiple choice class, token types)
FAMILIES = {
    "distilbert": (distilbert_config, DistilBertForSequenceClassification, DistilBertForMultipleChoice, False),
    "bert": (partial(bert_family_config, BertConfig), BertForSequenceClassification, BertForMultipleChoice, True),
    "roberta": (
        partial(bert_family_config, RobertaConfig),
        RobertaForSequenceClassification,
        RobertaForMultipleChoice,
        False,
    ),
    "xlm-roberta": (
        partial(bert_family_config, XLMRobertaConfig),
        XLMRobertaForSequenceClassification,
        XLMRobertaForMultipleChoice,
        False,
    ),
    "electra": (electra_config, ElectraForSequenceClassification, ElectraForMultipleChoice, True),
}


def tiny_model(family: str, head: str, attention: str, dropout: float = 0.0) -> torch.nn.Module:
    build, classification, multiple_choice, _ = FAMILIES[family]
    num_labels = {"classification": 3, "regression": 1, "multiple_choice": 2}[head]
    config = build(dropout, num_labels=num_labels)
    config._attn_implementation = attention
    torch.manual_seed(0)
    return (multiple_choice if head == "multiple_choice" else classification)(config)


def padded_batch(family: str, pad_token_id: int, rows: int, choices: int | None = None) -> dict[str, torch.Tensor]:
    """Random ids padded to LENGTH (every row at least 3 tokens), with the attention mask and, where the family
    has them, two segments of token types."""
    generator = torch.Generator().manual_seed(3)
    shape = (rows, choices, LENGTH) if choices else (rows, LENGTH)
    ids = torch.randint(5, VOCAB, shape, generator=generator)
    lengths = torch.randint(3, LENGTH + 1, shape[:-1], generator=generator)
    mask = (torch.arange(LENGTH) < lengths[..., None]).long()
    assert not mask.all()  # some padding, so the mask matters
    batch = {"input_ids": torch.where(mask.bool(), ids, pad_token_id), "attention_mask": mask}
    if FAMILIES[family][3]:
        batch["token_type_ids"] = (torch.arange(LENGTH) >= lengths[..., None] // 2).long() * mask
    return batch


def batch_and_labels(model, family: str, head: str) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    pad = model.config.pad_token_id
    if head == "multiple_choice":
        return padded_batch(family, pad, 4, choices=3), torch.tensor([0, 2, 1, 1])
    labels = torch.tensor([0, 1, 2, 2, 1, 0]) if head == "classification" else torch.rand(6) * 5
    return padded_batch(family, pad, 6), labels


def outputs_and_gradients(model, batch, labels):
    model.zero_grad()
    outputs = model(**batch, labels=labels)
    outputs.loss.backward()
    return outputs, {name: parameter.grad for name, parameter in model.named_parameters() if parameter.grad is not None}


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
@pytest.mark.parametrize("head", ["classification", "regression", "multiple_choice"])
@pytest.mark.parametrize("family", FAMILIES)
def test_first_token_last_layer_gives_the_stock_models_logits_loss_and_gradients(family, head, attention):
    stock = tiny_model(family, head, attention)
    # train mode (the dropout arguments as training passes them), every dropout probability 0
    assert stock.training and all(module.p == 0 for module in stock.modules() if isinstance(module, torch.nn.Dropout))
    fast = copy.deepcopy(stock)
    assert first_token_last_layer(fast)
    assert runs_first_token_only(fast) and not runs_first_token_only(stock)
    batch, labels = batch_and_labels(stock, family, head)
    expected, expected_grads = outputs_and_gradients(stock, batch, labels)
    got, got_grads = outputs_and_gradients(fast, batch, labels)
    torch.testing.assert_close(got.logits, expected.logits, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(got.loss, expected.loss, atol=1e-6, rtol=1e-5)
    # every parameter still gets a gradient (the last layer's query through position 0), and each matches
    assert set(got_grads) == set(expected_grads)
    for name, gradient in expected_grads.items():
        torch.testing.assert_close(got_grads[name], gradient, atol=1e-5, rtol=1e-4, msg=name)
    assert fast.state_dict().keys() == stock.state_dict().keys()  # saves as the stock model does


@pytest.mark.parametrize("family", FAMILIES)
def test_without_padding_there_is_no_mask_and_the_logits_still_match(family):
    stock = tiny_model(family, "classification", "sdpa").eval()
    fast = copy.deepcopy(stock)
    first_token_last_layer(fast)
    batch = {"input_ids": torch.randint(5, VOCAB, (3, LENGTH), generator=torch.Generator().manual_seed(1))}
    torch.testing.assert_close(fast(**batch).logits, stock(**batch).logits, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("family", FAMILIES)
def test_first_token_last_layer_changes_the_last_layers_output_shape_only(family):
    model = tiny_model(family, "classification", "sdpa")
    first_token_last_layer(model)
    batch, _ = batch_and_labels(model, family, "classification")
    hidden = model.base_model(**batch, output_hidden_states=True)
    assert hidden.last_hidden_state.shape == (6, 1, HIDDEN)
    assert [states.shape[1] for states in hidden.hidden_states] == [LENGTH, LENGTH, 1]


@pytest.mark.parametrize("family", FAMILIES)
def test_the_patched_model_trains_with_dropout(family):
    stock = tiny_model(family, "multiple_choice", "sdpa", dropout=0.1)
    fast = copy.deepcopy(stock)
    assert first_token_last_layer(fast)
    batch, labels = batch_and_labels(fast, family, "multiple_choice")
    torch.manual_seed(1)
    outputs = fast(**batch, labels=labels)
    outputs.loss.backward()
    assert torch.isfinite(outputs.loss)
    assert all(torch.isfinite(parameter.grad).all() for parameter in fast.parameters() if parameter.grad is not None)
    # and in eval mode the configured dropout is off: the stock model's logits again
    torch.testing.assert_close(fast.eval()(**batch).logits, stock.eval()(**batch).logits, atol=1e-5, rtol=1e-4)


# heads that read every position, a decoder configuration, a summary of another position, another architecture
UNPATCHED = {
    "distilbert QA": lambda: DistilBertForQuestionAnswering(distilbert_config(0.0)),
    "bert QA": lambda: BertForQuestionAnswering(BertConfig(**BERT_SIZES)),
    "bert decoder": lambda: BertForSequenceClassification(BertConfig(**BERT_SIZES, is_decoder=True)),
    "electra summary of the last position": lambda: ElectraForMultipleChoice(electra_config(0.0, summary_type="last")),
    "deberta-v2": lambda: DebertaV2ForSequenceClassification(DebertaV2Config(**BERT_SIZES)),
}


@pytest.mark.parametrize("name", UNPATCHED)
def test_heads_and_architectures_not_known_to_read_position_0_only_are_left_alone(name):
    model = UNPATCHED[name]()
    assert not first_token_last_layer(model)
    assert not runs_first_token_only(model)
