"""Multiple choice (JCommonsenseQA): a question and N choices, each scored as (question, choice); accuracy."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from transformers import AutoModelForMultipleChoice

from jglue_bench.errors import DataError
from jglue_bench.tasks.common import Example, decode_argmax, encode, id_field, logits_rows, score_accuracy, text_field
from jglue_bench.tasks.spec import TaskSpec

AUTO_MODEL = AutoModelForMultipleChoice
batch_outputs = logits_rows
decode = decode_argmax
score = score_accuracy


def to_example(record: Mapping[str, Any], spec: TaskSpec, path: Path, where: int | str) -> Example:
    question = text_field(record, spec.fields["question"], path, where)
    choices = tuple(text_field(record, field, path, where) for field in spec.fields["choices"])
    label_field = spec.fields["label"]
    label = record.get(label_field)
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label < len(choices):
        raise DataError.at(path, where, label_field, f"an integer choice index from 0 to {len(choices) - 1}",
                           found=label)
    return Example(id_field(record, spec.fields["id"], path, where), (question, *choices), label, where)


def head_config(spec: TaskSpec) -> dict[str, Any]:
    return {}


def featurize(examples: Sequence[Example], tokenizer, spec: TaskSpec, max_seq_length: int,
              with_token_types: bool) -> list[dict]:
    """One feature per question holding one (question, choice) sequence per choice."""
    questions = [example.texts[0] for example in examples for _ in example.texts[1:]]
    choices = [choice for example in examples for choice in example.texts[1:]]
    encoded = encode(tokenizer, questions, choices, max_seq_length, with_token_types)
    features, cursor = [], 0
    for index, example in enumerate(examples):
        count = len(example.texts) - 1
        feature = {key: values[cursor:cursor + count] for key, values in encoded.items()}
        features.append({**feature, "labels": example.label, "example_index": index})
        cursor += count
    return features






def prediction_rows(examples: Sequence[Example], predictions: Sequence[int], spec: TaskSpec) -> list[dict]:
    return [{"id": example.id, "gold": example.label, "prediction": prediction,
             "gold_text": example.texts[1 + example.label], "prediction_text": example.texts[1 + prediction],
             "correct": example.label == prediction} for example, prediction in zip(examples, predictions)]
