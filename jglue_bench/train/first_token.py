"""The last encoder layer computed for the first token only, where the task's head reads nothing else.

A sequence classification or multiple choice head on DistilBERT, BERT, RoBERTa, XLM-RoBERTa or ELECTRA reads the
last layer's output at [CLS] (position 0) and nothing more, yet the stock model computes that layer for every
position and throws the rest away. What each head reads (transformers 5.24):
- DistilBERT: classification and multiple choice take hidden_state[:, 0];
- BERT: classification and multiple choice read the pooler (dense + tanh of hidden_states[:, 0]);
- RoBERTa, XLM-RoBERTa: classification's head takes features[:, 0, :], multiple choice reads the pooler;
- ELECTRA: classification's head takes features[:, 0, :], multiple choice its sequence summary, which reads
  hidden_states[:, 0] only when summary_type is "first" (ELECTRA's default; any other summary is left alone).
These five families have the same layer: self-attention, a residual layer norm, a feed-forward and another
residual layer norm, with nothing but the attention mixing positions (positions are embedded before the first
layer). So the first token's output needs every position's key and value, but its query, attention output,
feed-forward and layer norms are one row instead of the whole sequence: about 10/12 of the last layer's matrix
work is skipped (1/6 of that layer being K and V over all positions). The output at [CLS] is the same up to float
rounding, so are the logits, the loss and the gradients (tests/test_first_token.py compares them with the stock
model, dropout off). With dropout the [CLS] output has the same distribution (dropout in the skipped rows never
reached the head), but fewer random numbers are drawn, so a seed does not replay the stock model's run.

The patched layer returns [batch, 1, hidden], which the heads above index at [:, 0] as they would the full
sequence; the model's last_hidden_state (and the last entry of hidden_states) has that one position. Attention
weights (output_attentions) of the last layer are not recorded.

Left as they are: extractive QA and token heads (they read every position), decoder configurations (causal masks,
caches, cross attention), attention other than SDPA and eager (their masks are not the 4-d [batch, 1, queries,
keys] ones sliced here), and every other architecture (DeBERTa's relative attention, ModernBERT, LUKE, ...).
"""

from __future__ import annotations

import sys
import types

import torch
from transformers import (
    BertForMultipleChoice,
    BertForSequenceClassification,
    DistilBertForMultipleChoice,
    DistilBertForSequenceClassification,
    DistilBertModel,
    ElectraForMultipleChoice,
    ElectraForSequenceClassification,
    RobertaForMultipleChoice,
    RobertaForSequenceClassification,
    XLMRobertaForMultipleChoice,
    XLMRobertaForSequenceClassification,
)
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

# Exact classes: a subclass may read other positions.
FIRST_TOKEN_HEADS = (
    DistilBertForSequenceClassification,
    DistilBertForMultipleChoice,
    BertForSequenceClassification,
    BertForMultipleChoice,
    RobertaForSequenceClassification,
    RobertaForMultipleChoice,
    XLMRobertaForSequenceClassification,
    XLMRobertaForMultipleChoice,
    ElectraForSequenceClassification,
    ElectraForMultipleChoice,
)
ATTENTION = ("sdpa", "eager")  # the implementations whose masks are sliced here the way they are built


def first_token_last_layer(model: torch.nn.Module) -> bool:
    """Make `model`'s last layer compute the first position only, in place, when its head reads nothing else
    and its architecture is known (see the module docstring). True when it did."""
    if not _reads_first_token_only(model):
        return False
    layer = _last_layer(model)
    forward = (
        _first_token_block_forward if isinstance(model.base_model, DistilBertModel) else _first_token_layer_forward
    )
    layer.forward = types.MethodType(forward, layer)
    return True


def runs_first_token_only(model: torch.nn.Module) -> bool:
    """Whether first_token_last_layer changed this model (for the record: what actually ran)."""
    model = getattr(model, "module", model)  # under DDP, the wrapped model
    return type(model) in FIRST_TOKEN_HEADS and "forward" in vars(_last_layer(model))


def _reads_first_token_only(model: torch.nn.Module) -> bool:
    """Whether `model` is a known head that reads the last layer at position 0 only, on an encoder layer whose
    attention mask is sliced here."""
    config = model.config
    if type(model) not in FIRST_TOKEN_HEADS or config._attn_implementation not in ATTENTION:
        return False
    if getattr(config, "is_decoder", False):  # causal mask, cache and cross attention: not the layer rewritten here
        return False
    if isinstance(model, ElectraForMultipleChoice):  # "last", "mean", "cls_index", "attn" read other positions
        return model.sequence_summary.summary_type == "first"
    return True


def _last_layer(model: torch.nn.Module) -> torch.nn.Module:
    base = model.base_model
    return (base.transformer if isinstance(base, DistilBertModel) else base.encoder).layer[-1]


def _first_query_attention(
    attention: torch.nn.Module,
    query: torch.nn.Linear,
    key: torch.nn.Linear,
    value: torch.nn.Linear,
    hidden_states: torch.Tensor,
    attention_mask: torch.Tensor | None,
    **kwargs,
) -> torch.Tensor:
    """The self-attention of position 0's query over every position's key and value, before the output
    projection: [batch, 1, heads * head size]. `attention` is the family's self-attention module (its config, head
    size, scaling and dropout, as its own forward uses them); query, key and value are its projections."""

    def heads(states: torch.Tensor, linear: torch.nn.Linear) -> torch.Tensor:  # [batch, heads, positions, size]
        return linear(states).view(*states.shape[:-1], -1, attention.attention_head_size).transpose(1, 2)

    if attention_mask is not None and attention_mask.dim() == 4:
        attention_mask = attention_mask[:, :, :1]  # [batch, 1, queries, keys]: the first query's row
    # Each family's modeling file has its own eager_attention_forward (copies of one another in 5.24): the
    # stock layer falls back to its file's, so this does too.
    eager = sys.modules[type(attention).__module__].eager_attention_forward
    interface = ALL_ATTENTION_FUNCTIONS.get_interface(attention.config._attn_implementation, eager)
    first = hidden_states[:, :1]
    output, _ = interface(
        attention,
        heads(first, query),
        heads(hidden_states, key),
        heads(hidden_states, value),
        attention_mask,
        dropout=attention.dropout.p if attention.training else 0.0,
        scaling=attention.scaling,
        **kwargs,
    )
    return output.reshape(*first.shape[:-1], -1)


def _first_token_block_forward(
    block, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None, **kwargs
) -> torch.Tensor:
    """DistilBERT's TransformerBlock.forward with the queries and everything after them cut to position 0:
    returns [batch, 1, dim]; the heads take [:, 0] of it as they would of the full sequence."""
    attention = block.attention
    output = _first_query_attention(
        attention, attention.q_lin, attention.k_lin, attention.v_lin, hidden_states, attention_mask, **kwargs
    )
    output = block.sa_layer_norm(attention.out_lin(output) + hidden_states[:, :1])
    return block.output_layer_norm(block.ffn(output) + output)


def _first_token_layer_forward(
    layer,
    hidden_states: torch.Tensor,
    attention_mask: torch.Tensor | None = None,
    encoder_hidden_states: torch.Tensor | None = None,
    encoder_attention_mask: torch.Tensor | None = None,
    cache=None,
    **kwargs,
) -> torch.Tensor:
    """BertLayer.forward (and its RoBERTa, XLM-RoBERTa and ELECTRA copies) with the queries and everything after
    them cut to position 0: returns [batch, 1, hidden]. The encoder passes the cross attention and cache arguments
    positionally or by name; they are None for an encoder (decoder configurations are not patched)."""
    attention = layer.attention.self
    output = _first_query_attention(
        attention, attention.query, attention.key, attention.value, hidden_states, attention_mask, **kwargs
    )
    output = layer.attention.output(output, hidden_states[:, :1])  # dense, dropout, layer norm of the residual sum
    # The stock layer runs this through apply_chunking_to_forward, which only saves memory along the positions;
    # one position has nothing to chunk (and a chunk size over 1 would not divide it).
    return layer.feed_forward_chunk(output)
