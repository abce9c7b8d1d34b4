"""Decoder LLMs (`family: decoder`, configs/model/causal_lm.yaml) fine-tuned with a head, as encoders are.

A decoder's sequence-classification model (Llama, Qwen2, Gemma: AutoModelForSequenceClassification) scores the
hidden state of the last token that is not `pad_token_id`. Many decoders ship no pad token: the eos token pads
then, so the config must name it. With pad == eos the rightmost non-eos token is taken: the last real token for
tokenizers that add only <s> (llm-jp, sarashina, Gemma), and the same token whatever the padding side.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jglue_bench.errors import UserError
from jglue_bench.tasks import TaskSpec

FAMILY = "decoder"
KINDS = ("classification", "regression")  # the kinds this slice of issue #22 supports


def is_decoder(model_cfg: Mapping[str, Any]) -> bool:
    return model_cfg.get("family") == FAMILY


def check_decoder_task(model_cfg: Mapping[str, Any], spec: TaskSpec) -> None:
    """A task kind decoders cannot be fine-tuned on yet: one line, before any work."""
    if is_decoder(model_cfg) and spec.kind not in KINDS:
        raise UserError(
            f"task '{spec.name}' ({spec.kind.replace('_', ' ')}) is not supported yet for decoder models "
            f"(model '{model_cfg.get('name')}'); decoders fine-tune on {' and '.join(KINDS)} tasks."
        )


def ready_tokenizer(model_cfg: Mapping[str, Any], tokenizer):
    """A decoder's tokenizer as batches need it: eos pads when the tokenizer has no pad token; padding on the
    right (the collator pads right; the model finds the last real token either way)."""
    if not is_decoder(model_cfg):
        return tokenizer
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise UserError(
                f"model '{model_cfg.get('name')}': its tokenizer has neither a pad nor an eos token to pad with; "
                "set model.tokenizer.special_tokens.pad_token."
            )
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "right"
    return tokenizer


def decoder_head(model_cfg: Mapping[str, Any], tokenizer) -> dict[str, Any]:
    """What a decoder's head config needs beyond the task's: the pad id it finds the last real token with."""
    return {"pad_token_id": tokenizer.pad_token_id} if is_decoder(model_cfg) else {}
