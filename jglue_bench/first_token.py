"""The last encoder layer computed for the first token only, where the task's head reads nothing else.

A sequence classification or multiple choice head on DistilBERT reads the last layer's output at [CLS]
(position 0) and nothing more, yet the stock model computes that layer for every position and throws the rest
away. The first token's output still needs every position's key and value, but its query, attention output,
feed-forward and layer norms are one row instead of the whole sequence: about 10/12 of the last layer's matrix
work is skipped (1/6 of that layer being K and V over all positions). The output at [CLS] is the same up to
float rounding, so are the logits, the loss and the gradients (tests/test_first_token.py compares them with the
stock model, dropout off). With dropout the [CLS] output has the same distribution (dropout in the skipped rows
never reached the head), but fewer random numbers are drawn, so a seed does not replay the stock model's run.

Extractive QA reads every position and is left as it is; so is any architecture not known here.
"""

from __future__ import annotations

import types

import torch
from transformers import DistilBertForMultipleChoice, DistilBertForSequenceClassification
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS
from transformers.models.distilbert.modeling_distilbert import eager_attention_forward

FIRST_TOKEN_HEADS = (DistilBertForSequenceClassification, DistilBertForMultipleChoice)
ATTENTION = ("sdpa", "eager")  # the implementations whose masks are sliced here the way they are built


def first_token_last_layer(model: torch.nn.Module) -> bool:
    """Make `model`'s last layer compute the first position only, in place, when its head reads nothing else
    and its architecture is known (DistilBERT with SDPA or eager attention). True when it did."""
    if not isinstance(model, FIRST_TOKEN_HEADS) or model.config._attn_implementation not in ATTENTION:
        return False
    block = model.distilbert.transformer.layer[-1]
    block.forward = types.MethodType(_first_token_block_forward, block)
    return True


def runs_first_token_only(model: torch.nn.Module) -> bool:
    """Whether first_token_last_layer changed this model (for the record: what actually ran)."""
    model = getattr(model, "module", model)  # under DDP, the wrapped model
    return isinstance(model, FIRST_TOKEN_HEADS) and "forward" in vars(model.distilbert.transformer.layer[-1])


def _first_token_block_forward(block, hidden_states: torch.Tensor, attention_mask: torch.Tensor | None = None,
                               **kwargs) -> torch.Tensor:
    """DistilBERT's TransformerBlock.forward with the queries and everything after them cut to position 0:
    returns [batch, 1, dim]; the heads take [:, 0] of it as they would of the full sequence."""
    attention = block.attention
    first = hidden_states[:, :1]

    def heads(states: torch.Tensor, linear: torch.nn.Linear) -> torch.Tensor:  # [batch, heads, positions, size]
        return linear(states).view(*states.shape[:-1], -1, attention.attention_head_size).transpose(1, 2)

    if attention_mask is not None and attention_mask.dim() == 4:
        attention_mask = attention_mask[:, :, :1]  # [batch, 1, queries, keys]: the first query's row
    interface = ALL_ATTENTION_FUNCTIONS.get_interface(attention.config._attn_implementation, eager_attention_forward)
    output, _ = interface(attention, heads(first, attention.q_lin), heads(hidden_states, attention.k_lin),
                          heads(hidden_states, attention.v_lin), attention_mask,
                          dropout=attention.dropout.p if attention.training else 0.0, scaling=attention.scaling,
                          **kwargs)
    output = block.sa_layer_norm(attention.out_lin(output.reshape(*first.shape[:-1], -1)) + first)
    return block.output_layer_norm(block.ffn(output) + output)
