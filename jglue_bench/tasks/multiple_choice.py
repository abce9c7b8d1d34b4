"""Multiple choice (JCommonsenseQA, users' own): a question and N choices, each scored as (question, choice)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from transformers import AutoModelForMultipleChoice
from transformers.modeling_outputs import MultipleChoiceModelOutput

from jglue_bench.data.readers import Row
from jglue_bench.tasks.common import (
    Example,
    decode_argmax,
    encode,
    example_id,
    integer_field,
    logits_rows,
    prediction_probabilities,
    score_labels,
    text_field,
)
from jglue_bench.tasks.spec import TaskSpec

AUTO_MODEL = AutoModelForMultipleChoice
batch_outputs = logits_rows
decode = decode_argmax
score = score_labels


def forward(model, batch: dict) -> MultipleChoiceModelOutput:
    """The choices' logits [questions, choices] (and the loss with labels). A batch collated in choice groups
    (batching.collate_choice_groups) runs each group through the model as questions of one choice each, so a
    sequence is padded only to its group's longest; the scores are then put back in place, and the loss is the
    cross-entropy the model's own head computes over [questions, choices]."""
    if "choice_groups" not in batch:
        return model(**batch)
    scores = torch.cat(
        [
            model(**{name: tensor[:, None] for name, tensor in group.items()}).logits.reshape(-1)
            for group in batch["choice_groups"]
        ]
    )
    logits = scores[batch["choice_positions"]]
    loss = torch.nn.functional.cross_entropy(logits, batch["labels"]) if "labels" in batch else None
    return MultipleChoiceModelOutput(loss=loss, logits=logits)


def to_example(row: Row, spec: TaskSpec, labelled: bool = True) -> Example:
    question = text_field(row, spec.fields["question"])
    choices = tuple(text_field(row, field) for field in spec.fields["choices"])
    label = None
    if labelled:
        label = integer_field(
            row, spec.fields["label"], f"an integer choice index from 0 to {len(choices) - 1}", maximum=len(choices) - 1
        )
    return Example(example_id(row, spec.fields.get("id")), (question, *choices), label, row.where)


def head_config(spec: TaskSpec) -> dict[str, Any]:
    return {}


def featurize(
    examples: Sequence[Example], tokenizer, spec: TaskSpec, max_seq_length: int, with_token_types: bool
) -> list[dict]:
    """One feature per question holding one (question, choice) sequence per choice."""
    questions = [example.texts[0] for example in examples for _ in example.texts[1:]]
    choices = [choice for example in examples for choice in example.texts[1:]]
    encoded = encode(tokenizer, questions, choices, max_seq_length, with_token_types)
    features, cursor = [], 0
    for index, example in enumerate(examples):
        count = len(example.texts) - 1
        feature = {key: values[cursor : cursor + count] for key, values in encoded.items()}
        if example.label is not None:
            feature["labels"] = example.label
        features.append({**feature, "example_index": index})
        cursor += count
    return features


def prediction_rows(examples: Sequence[Example], predictions: Sequence[int], spec: TaskSpec) -> list[dict]:
    return [
        {
            "id": example.id,
            "gold": example.label,
            "prediction": prediction,
            "gold_text": example.texts[1 + example.label],
            "prediction_text": example.texts[1 + prediction],
            "correct": example.label == prediction,
        }
        for example, prediction in zip(examples, predictions)
    ]


def output_rows(
    examples: Sequence[Example], feature_outputs: Sequence[np.ndarray], features: Sequence[dict], spec: TaskSpec
) -> list[dict]:
    """For `predict`: the question, the choices, the chosen one and every choice's probability."""
    rows = []
    for example, (choice, probabilities) in zip(examples, prediction_probabilities(feature_outputs)):
        question, *choices = example.texts
        rows.append(
            {
                "id": example.id,
                "question": question,
                "choices": choices,
                "prediction": choice,
                "prediction_text": choices[choice],
                "probabilities": [round(float(p), 6) for p in probabilities],
            }
        )
    return rows


def label_summary(examples: Sequence[Example], spec: TaskSpec) -> str:
    counts = Counter(example.label for example in examples)
    return "gold choice " + ", ".join(f"{index}: {counts[index]}" for index in range(len(spec.fields["choices"])))


def text_names(spec: TaskSpec) -> list[str]:
    return [spec.fields["question"], *spec.fields["choices"]]
