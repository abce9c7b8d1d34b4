"""Decoder LLMs (`family: decoder`, configs/model/causal_lm.yaml) fine-tuned with a head, as encoders are.

A decoder's sequence-classification model (Llama, Qwen2, Gemma: AutoModelForSequenceClassification) scores the
hidden state of the last token that is not `pad_token_id`. Many decoders ship no pad token: the eos token pads
then, so the config must name it. With pad == eos the rightmost non-eos token is taken: the last real token for
tokenizers that add only <s> (llm-jp, sarashina, Gemma), and the same token whatever the padding side. Multiple
choice scores each (question, choice) sequence so, one output each, with a softmax over the choices.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from transformers import AutoModelForSequenceClassification
from transformers.modeling_outputs import MultipleChoiceModelOutput

from jglue_bench.errors import UserError
from jglue_bench.tasks import TaskSpec

FAMILY = "decoder"
KINDS = ("classification", "regression", "multiple_choice")  # extractive QA is not built yet (issue #22)


def is_decoder(model_cfg: Mapping[str, Any]) -> bool:
    return model_cfg.get("family") == FAMILY


def check_decoder_task(model_cfg: Mapping[str, Any], spec: TaskSpec) -> None:
    """A task kind decoders cannot be fine-tuned on yet: one line, before any work."""
    if is_decoder(model_cfg) and spec.kind not in KINDS:
        raise UserError(
            f"task '{spec.name}' ({spec.kind.replace('_', ' ')}) is not supported yet for decoder models "
            f"(model '{model_cfg.get('name')}'); decoders fine-tune on {', '.join(KINDS).replace('_', ' ')} tasks."
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


def decoder_head(model_cfg: Mapping[str, Any], tokenizer, kind: str) -> dict[str, Any]:
    """What a decoder's head config needs beyond the task's: the pad id it finds the last real token with, and
    for multiple choice one score per (question, choice) sequence."""
    if not is_decoder(model_cfg):
        return {}
    return {"pad_token_id": tokenizer.pad_token_id, **({"num_labels": 1} if kind == "multiple_choice" else {})}


def decoder_auto_class(model_cfg: Mapping[str, Any], kind: str):
    """The transformers class a decoder loads as, None for the kind's own: transformers has no multiple-choice
    class for decoders, so each choice is scored by a one-output sequence classifier (ChoiceScores)."""
    return AutoModelForSequenceClassification if is_decoder(model_cfg) and kind == "multiple_choice" else None


class ChoiceScores(torch.nn.Module):
    """Multiple choice on a decoder: every (question, choice) sequence [questions, choices, length] scored by its
    last real token (`scorer`, a sequence classifier with one output, or a PeftModel of one), the scores a
    softmax over the choices (cross-entropy with labels), as AutoModelForMultipleChoice does for encoders."""

    def __init__(self, scorer: torch.nn.Module):
        super().__init__()
        self.scorer = scorer
        self.config = scorer.config

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, labels: torch.Tensor | None = None):
        questions, choices = input_ids.shape[:2]
        scores = self.scorer(input_ids=input_ids.flatten(0, 1), attention_mask=attention_mask.flatten(0, 1)).logits
        logits = scores.reshape(questions, choices)
        loss = torch.nn.functional.cross_entropy(logits, labels) if labels is not None else None
        return MultipleChoiceModelOutput(loss=loss, logits=logits)

    def save_pretrained(self, folder, **settings) -> None:
        self.scorer.save_pretrained(folder, **settings)

    def merge_and_unload(self) -> ChoiceScores:
        return ChoiceScores(self.scorer.merge_and_unload())


def for_kind(model: torch.nn.Module, model_cfg: Mapping[str, Any], kind: str) -> torch.nn.Module:
    """A loaded decoder as its task kind runs it (multiple choice: inside ChoiceScores); any other model as it is."""
    return ChoiceScores(model) if decoder_auto_class(model_cfg, kind) is not None else model
