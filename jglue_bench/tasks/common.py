"""What the four task kinds share: the Example record, field checks and pair encoding."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from jglue_bench import metrics
from jglue_bench.data.readers import Row
from jglue_bench.errors import DataError


class Example(NamedTuple):
    """One validated example. `texts` holds the inputs in order (QA: question, context; multiple choice:
    question, then the choices); `label` is a class index, a score, a choice index or the gold answers (None
    for an unlabelled row to predict). A NamedTuple: immutable, and quick to make by the hundred thousand when a
    split comes back from the cache."""

    id: str
    texts: tuple[str, ...]
    label: Any
    where: int | str  # line number, row or JSON path in the source file, for messages


def text_field(row: Row, field: str) -> str:
    value = row.values.get(field)
    if not isinstance(value, str) or not value.strip():
        expected = "a non-empty string" if value is None or isinstance(value, str) else "a string"
        raise DataError.at(row.path, row.where, field, expected, found=value, missing=field not in row.values)
    return value


def texts_example(row: Row, spec, read_label, labelled: bool = True) -> Example:
    """An example of one text or a pair (classification, regression): the texts checked first, then the label
    with `read_label(row, spec)` (None for a row to predict)."""
    texts = tuple(text_field(row, field) for field in spec.fields["texts"])
    label = read_label(row, spec) if labelled else None
    return Example(example_id(row, spec.fields.get("id")), texts, label, row.where)


def example_id(row: Row, field: str | None) -> str:
    """The row's id from its id column; without one, the row's 1-based position in its file."""
    if field is None:
        return str(row.number)
    value = row.values.get(field)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value).strip() == "":
        expected = "an id (a non-empty string or an integer)"
        raise DataError.at(row.path, row.where, field, expected, found=value, missing=field not in row.values)
    return str(value)


def integer_field(row: Row, field: str, expected: str, minimum: int = 0, maximum: int | None = None) -> int:
    """An integer value; in CSV and TSV (all strings) a string of digits counts."""
    value = row.values.get(field)
    number = value if isinstance(value, int) and not isinstance(value, bool) else None
    if number is None and not row.typed and isinstance(value, str) and value.strip().lstrip("-").isdigit():
        number = int(value)
    if number is None or number < minimum or (maximum is not None and number > maximum):
        raise DataError.at(row.path, row.where, field, expected, found=value, missing=field not in row.values)
    return number


def check_unique_ids(examples: Sequence[Example], path: Path, field: str | None, report=None) -> None:
    """Ids must be unique within a file. The first repeat raises, or every repeat goes to `report`."""
    seen: dict[str, int | str] = {}
    for example in examples:
        if example.id in seen:
            error = DataError.at(
                path,
                example.where,
                field or "id",
                f"a unique id; {example.id!r} already appeared at {_place(seen[example.id])}",
                found=example.id,
            )
            if report is None:
                raise error
            report(error)
        seen.setdefault(example.id, example.where)


def _place(where: int | str) -> str:
    return f"line {where}" if isinstance(where, int) else where


def encode(
    tokenizer, firsts: Sequence[str], seconds: Sequence[str] | None, max_length: int, with_token_types: bool
) -> dict[str, list[list[int]]]:
    """Token ids of single texts or pairs (tokenization.layout.encode_pairs: the tokenizer's own layout)."""
    from jglue_bench.tokenization.layout import encode_pairs

    return encode_pairs(tokenizer, firsts, seconds, max_length, with_token_types)


def featurize_texts(
    examples: Sequence[Example], tokenizer, spec, max_seq_length: int, with_token_types: bool
) -> list[dict]:
    """One feature per example from its one or two texts (classification and regression)."""
    firsts = [example.texts[0] for example in examples]
    seconds = [example.texts[1] for example in examples] if len(spec.fields["texts"]) > 1 else None
    encoded = encode(tokenizer, firsts, seconds, max_seq_length, with_token_types)
    features = []
    for i, example in enumerate(examples):
        feature = {key: values[i] for key, values in encoded.items()}
        if example.label is not None:
            feature["labels"] = example.label
        features.append({**feature, "example_index": i})
    return features


def decode_argmax(
    feature_outputs: Sequence[np.ndarray], features: Sequence[dict], examples: Sequence[Example], spec, tokenizer=None
) -> list[int]:
    """The highest-scoring class or choice of each example (one feature per example)."""
    return [int(np.argmax(row)) for row in feature_outputs]


def score_labels(examples: Sequence[Example], predictions: Sequence, spec) -> dict[str, float]:
    """The task's metrics over the examples' labels (class or choice indices, or scores)."""
    return metrics.compute(spec.metrics, [example.label for example in examples], list(predictions))


def prediction_probabilities(feature_outputs: Sequence[np.ndarray]) -> list[tuple[int, np.ndarray]]:
    """Per example (one feature each): the highest-scoring class or choice, and every one's probability."""
    return [(int(np.argmax(logits)), softmax(np.asarray(logits, dtype=np.float64))) for logits in feature_outputs]


def softmax(row: np.ndarray) -> np.ndarray:
    shifted = np.exp(row - np.max(row))
    return shifted / shifted.sum()


def model_forward(model, batch: dict):
    """The model's outputs (loss when the batch has labels) for a collated batch."""
    return model(**batch)


def logits_rows(outputs, batch) -> list[np.ndarray]:
    """Per-feature logits as float32 numpy rows (bf16 cannot go to numpy directly)."""
    return list(outputs.logits.detach().float().cpu().numpy())
