"""What the four task kinds share: the Example record, field checks and pair encoding."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from jglue_bench import metrics
from jglue_bench.errors import DataError


@dataclass(frozen=True)
class Example:
    """One validated example. `texts` holds the inputs in order (QA: question, context; multiple choice:
    question, then the choices); `label` is a class index, a score, a choice index or the gold answers."""

    id: str
    texts: tuple[str, ...]
    label: Any
    where: int | str  # line number or JSON path in the source file, for messages


def text_field(record: Mapping[str, Any], field: str, path: Path, where: int | str) -> str:
    value = record.get(field)
    if not isinstance(value, str) or not value.strip():
        expected = "a non-empty string" + (" (the field is missing)" if field not in record else "")
        raise DataError.at(path, where, field, expected, found=None if field not in record else value)
    return value


def id_field(record: Mapping[str, Any], field: str, path: Path, where: int | str) -> str:
    value = record.get(field)
    if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value) == "":
        raise DataError.at(path, where, field, "an id (string or integer)", found=value)
    return str(value)


def check_unique_ids(examples: Sequence[Example], path: Path) -> None:
    seen: dict[str, int | str] = {}
    for example in examples:
        if example.id in seen:
            raise DataError.at(path, example.where, "id", f"a unique id; '{example.id}' already appeared at "
                                                           f"{seen[example.id]}")
        seen[example.id] = example.where


def encode(tokenizer, firsts: Sequence[str], seconds: Sequence[str] | None, max_length: int,
           with_token_types: bool) -> dict[str, list[list[int]]]:
    """Token ids of single texts or pairs, truncated longest-first to `max_length`, unpadded (batches pad)."""
    encoded = tokenizer(list(firsts), list(seconds) if seconds is not None else None, truncation=True,
                        max_length=max_length, padding=False, return_token_type_ids=with_token_types)
    return {key: list(value) for key, value in encoded.items()}


def featurize_texts(examples: Sequence[Example], tokenizer, spec, max_seq_length: int,
                    with_token_types: bool) -> list[dict]:
    """One feature per example from its one or two texts (classification and regression)."""
    firsts = [example.texts[0] for example in examples]
    seconds = [example.texts[1] for example in examples] if len(spec.fields["texts"]) > 1 else None
    encoded = encode(tokenizer, firsts, seconds, max_seq_length, with_token_types)
    return [{**{key: values[i] for key, values in encoded.items()}, "labels": example.label, "example_index": i}
            for i, example in enumerate(examples)]


def decode_argmax(feature_outputs: Sequence[np.ndarray], features: Sequence[dict], examples: Sequence[Example],
                  spec) -> list[int]:
    """The highest-scoring class or choice of each example (one feature per example)."""
    return [int(np.argmax(row)) for row in feature_outputs]


def score_accuracy(examples: Sequence[Example], predictions: Sequence[int], spec) -> dict[str, float]:
    return {"accuracy": metrics.accuracy([example.label for example in examples], predictions)}


def logits_rows(outputs, batch) -> list[np.ndarray]:
    """Per-feature logits as float32 numpy rows (bf16 cannot go to numpy directly)."""
    return list(outputs.logits.detach().float().cpu().numpy())
