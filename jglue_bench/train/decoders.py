"""Decoder LLMs (`family: decoder`, configs/model/causal_lm.yaml) fine-tuned with a head, as encoders are.

A decoder's sequence-classification model (Llama, Qwen2, Gemma: AutoModelForSequenceClassification) scores the
hidden state of the last token that is not `pad_token_id`. Many decoders ship no pad token: the eos token pads
then, so the config must name it. With pad == eos the rightmost non-eos token is taken: the last real token for
tokenizers that add only <s> (llm-jp, sarashina, Gemma), and the same token whatever the padding side. Multiple
choice scores each (question, choice) sequence so, one output each, with a softmax over the choices. Extractive
QA reads every token: the family's question-answering class (LlamaForQuestionAnswering, Qwen2ForQuestionAnswering,
...) puts a start and an end logit on each token's hidden state, and the windows, offsets and span extraction are
the encoders' (tasks/extractive_qa.py). The pair is laid out as the tokenizer lays out any pair (for llm-jp and
sarashina: `<s> question context`, no separator); a causal model's logit at a context token sees the question
and the context up to that token only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from transformers import AutoModelForSequenceClassification
from transformers.modeling_outputs import MultipleChoiceModelOutput
from transformers.models.auto.modeling_auto import (
    MODEL_FOR_CAUSAL_LM_MAPPING_NAMES,
    MODEL_FOR_QUESTION_ANSWERING_MAPPING_NAMES,
)

from jglue_bench.errors import UserError
from jglue_bench.tasks import TaskSpec

FAMILY = "decoder"


def is_decoder(model_cfg: Mapping[str, Any]) -> bool:
    return model_cfg.get("family") == FAMILY


def check_decoder_task(model_cfg: Mapping[str, Any], spec: TaskSpec) -> None:
    """Extractive QA on a decoder family transformers has no question-answering class for (Gemma 1-3 in
    transformers 5): one line, before any work. Why not a generic start/end layer of our own: the model would be
    neither a transformers class (no save_pretrained / from_pretrained, no merged model) nor a task peft knows
    (its QUESTION_ANS task trains and saves `qa_outputs` whole); the families that lack one are few."""
    if not is_decoder(model_cfg) or spec.kind != "extractive_qa":
        return
    model_type = local_model_type(model_cfg)
    if model_type is not None and model_type not in MODEL_FOR_QUESTION_ANSWERING_MAPPING_NAMES:
        raise no_question_answering_class(f"task '{spec.name}'", model_type, model_cfg)


def no_question_answering_class(what: str, model_type: str, model_cfg: Mapping[str, Any]) -> UserError:
    return UserError(
        f"{what} (extractive qa) needs a question-answering class for model type '{model_type}' "
        f"(model.pretrained={model_cfg.get('pretrained')}), and transformers has none; extractive QA on "
        "decoders runs on Llama, Qwen2, Qwen3, Mistral and the other families with *ForQuestionAnswering."
    )


def local_model_type(model_cfg: Mapping[str, Any]) -> str | None:
    """model_type from config.json of a local model.pretrained folder; None for a hub id (checked when loaded)."""
    config_file = Path(str(model_cfg.get("pretrained"))).expanduser() / "config.json"
    if not config_file.is_file():
        return None
    return json.loads(config_file.read_text(encoding="utf-8")).get("model_type")


def checkpoint_key_mapping(model_cfg: Mapping[str, Any], kind: str) -> dict[str, str] | None:
    """Renames for a decoder's causal-LM checkpoint loaded as its question-answering class: Llama's, Qwen2's and
    Qwen3's keep the body under `transformer` where the checkpoint has `model`, and from_pretrained would leave the
    whole body at its random initialisation (saying so only in a load report). None where nothing needs renaming."""
    if not is_decoder(model_cfg) or kind != "extractive_qa":
        return None
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(
        str(model_cfg["pretrained"]),
        revision=model_cfg.get("revision"),
        trust_remote_code=bool(model_cfg.get("trust_remote_code", False)),
    )
    answering = MODEL_FOR_QUESTION_ANSWERING_MAPPING_NAMES.get(config.model_type)
    causal = MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.get(config.model_type)
    if answering is None:  # a hub id (a local folder was checked before any work): the same line, at load time
        raise no_question_answering_class("this task", config.model_type, model_cfg)
    if causal is None:
        return None
    import transformers

    body, saved_as = getattr(transformers, answering).base_model_prefix, getattr(transformers, causal).base_model_prefix
    return {rf"^{saved_as}\.": f"{body}."} if body != saved_as else None


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

    def save_pretrained(self, folder, state_dict=None, **settings) -> None:
        if state_dict is not None:  # gathered from shards: the scorer's own names, without this wrapper's prefix
            settings["state_dict"] = {name.removeprefix("scorer."): value for name, value in state_dict.items()}
        self.scorer.save_pretrained(folder, **settings)

    def merge_and_unload(self) -> ChoiceScores:
        return ChoiceScores(self.scorer.merge_and_unload())


def for_kind(model: torch.nn.Module, model_cfg: Mapping[str, Any], kind: str) -> torch.nn.Module:
    """A loaded decoder as its task kind runs it (multiple choice: inside ChoiceScores); any other model as it is."""
    return ChoiceScores(model) if decoder_auto_class(model_cfg, kind) is not None else model
