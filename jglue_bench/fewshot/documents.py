"""A task's validated examples as the documents lm-eval's task configs read.

The published presets were written against the Hugging Face loaders of JGLUE (`shunk031/JGLUE`, mirrored as
`Rakuten/JGLUE`): JGLUE's own column names, a classification label as its index in the label list (JNLI:
entailment, contradiction, neutral; MARC-ja: positive, negative), one row per JSQuAD question with
`answers: {text: [...], answer_start: [...]}` and the article `title`. The same conversion serves a user's task,
since it goes through the task spec rather than through per-task code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jglue_bench.tasks import TaskSpec
from jglue_bench.tasks.common import Example

SQUAD_SEPARATOR = " [SEP] "  # JSQuAD contexts are "<title> [SEP] <paragraph>"


def to_documents(spec: TaskSpec, examples: Sequence[Example]) -> list[dict[str, Any]]:
    """One document per example, every value a plain JSON type; `id` always holds the example's id (the column
    the task names keeps it too)."""
    convert = {
        "classification": _classification,
        "regression": _regression,
        "multiple_choice": _multiple_choice,
        "extractive_qa": _extractive_qa,
    }[spec.kind]
    return [{**convert(spec, example), "id": example.id} for example in examples]


def _texts(spec: TaskSpec, example: Example) -> dict[str, Any]:
    id_field = spec.fields.get("id")
    texts = dict(zip(spec.fields["texts"], example.texts, strict=True))
    return {**({id_field: example.id} if id_field else {}), **texts}


def _classification(spec: TaskSpec, example: Example) -> dict[str, Any]:
    # jglue-bench's classification examples already hold the index of the label in `spec.labels`
    return {**_texts(spec, example), "label": int(example.label), "label_name": spec.labels[int(example.label)]}


def _regression(spec: TaskSpec, example: Example) -> dict[str, Any]:
    return {**_texts(spec, example), "label": float(example.label)}


def _multiple_choice(spec: TaskSpec, example: Example) -> dict[str, Any]:
    question, *choices = example.texts
    fields = spec.fields
    document = {fields["question"]: question, **dict(zip(fields["choices"], choices, strict=True))}
    if fields.get("id"):
        document[fields["id"]] = int(example.id) if example.id.isdigit() else example.id  # q_id is an int
    return {**document, "choices": list(choices), "label": int(example.label)}


def _extractive_qa(spec: TaskSpec, example: Example) -> dict[str, Any]:
    question, context = example.texts
    title = context.split(SQUAD_SEPARATOR, 1)[0] if SQUAD_SEPARATOR in context else ""
    answers = example.label or ()
    return {
        "title": title,
        "context": context,
        "question": question,
        "answers": {"text": [text for text, _ in answers], "answer_start": [start for _, start in answers]},
        "is_impossible": False,
    }


def as_dataset_dict(splits: dict[str, list[dict[str, Any]]]):
    """The documents of each split as a `datasets.DatasetDict` (what an lm-eval task's `custom_dataset` returns)."""
    import datasets

    return datasets.DatasetDict({name: datasets.Dataset.from_list(rows) for name, rows in splits.items()})
