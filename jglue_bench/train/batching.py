"""Batches: length-grouped order and dynamic padding, so a batch is padded to its own longest sequence.

Grouping by length is what makes dynamic padding pay: JGLUE sequences are short (JNLI averages 34 tokens
against a max of 128), so padding everything to max_seq_length wastes most of the compute.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

LABEL_KEYS = ("labels", "start_positions", "end_positions")
MEGABATCH_FACTOR = 50  # like HF's LengthGroupedSampler: sort within windows of 50 batches, keep randomness


def feature_length(feature: dict) -> int:
    """The feature's sequence length; multiple choice: its longest choice."""
    ids = feature["input_ids"]
    return max(len(row) for row in ids) if has_choices(feature) else len(ids)


def has_choices(feature: dict) -> bool:
    """A multiple choice feature holds one sequence per choice (lists, or NumPy rows from the cache)."""
    ids = feature["input_ids"]
    return bool(len(ids)) and not np.isscalar(ids[0])


def training_batches(lengths: Sequence[int], batch_size: int, seed: int, group_by_length: bool) -> list[list[int]]:
    """Shuffled batches of indices; with grouping, similar lengths share a batch and batch order is shuffled."""
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    if not group_by_length:
        return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
    window = batch_size * MEGABATCH_FACTOR
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i], reverse=True)
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def shard_batches(batches: list[list[int]], num_processes: int, process_index: int) -> list[list[int]]:
    """This process's share of the batches. The list is first padded with its own first batches to a multiple
    of the process count (as DistributedSampler does): every process must take the same number of steps, or
    their gradient synchronisations stop matching."""
    if num_processes == 1:
        return batches
    padded = batches + batches[: (-len(batches)) % num_processes]
    return padded[process_index::num_processes]


def micro_batches(batch: list[int], num_processes: int, accumulation: int, process_index: int) -> list[list[int]]:
    """This process's micro-batches of one global batch, one per accumulation step. The batch is cut into
    accumulation x processes runs of (nearly) one size; step a of process p takes run a x processes + p. An
    epoch's last batch may be too small to give every run an example: such a run is empty, and the process
    still steps (its gradient synchronisations must match the others'), with a loss weight of 0."""
    pieces = num_processes * accumulation
    bounds = [len(batch) * k // pieces for k in range(pieces + 1)]
    runs = [batch[start:end] for start, end in zip(bounds, bounds[1:])]
    return [runs[step * num_processes + process_index] for step in range(accumulation)]


@dataclass(frozen=True)
class MicroStep:
    """One forward and backward of a process: its part of global batch `batch_number` (1-based in the epoch)."""

    batch_number: int
    indices: list[int]
    share: float  # its examples' part of the global batch's (0: an empty run, stepped over a stand-in example)
    update: bool  # the batch's last accumulation step: the optimizer steps after it


def micro_steps(
    batches: list[list[int]], first_number: int, num_processes: int, accumulation: int, process_index: int
) -> list[MicroStep]:
    """This process's micro-steps over `batches` (global batches, the first one numbered `first_number`)."""
    steps = []
    for number, batch in enumerate(batches, start=first_number):
        runs = micro_batches(batch, num_processes, accumulation, process_index)
        for step, run in enumerate(runs):
            steps.append(MicroStep(number, run or batch[:1], len(run) / len(batch), step == accumulation - 1))
    return steps


def evaluation_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Batches sorted by length (prediction order does not matter: outputs are put back by index)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i], reverse=True)
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


@dataclass(frozen=True)
class Collator:
    """A batch's tensors from its features. Multiple choice with `choice_groups` > 1: the batch's (question,
    choice) sequences sorted by length and cut into that many sub-batches, each padded to its own longest
    (collate_choice_groups); otherwise one tensor per input padded to the batch's longest (collate). A plain
    dataclass, so DataLoader workers can take it."""

    input_names: tuple[str, ...]
    pad_token_id: int
    pad_to_multiple_of: int | None = None
    choice_groups: int = 1

    def __call__(self, features: Sequence[dict]) -> dict[str, Any]:
        if self.choice_groups > 1 and has_choices(features[0]):
            return collate_choice_groups(
                features, self.input_names, self.pad_token_id, self.pad_to_multiple_of, self.choice_groups
            )
        return collate(features, self.input_names, self.pad_token_id, self.pad_to_multiple_of)


def collate(
    features: Sequence[dict], input_names: Iterable[str], pad_token_id: int, pad_to_multiple_of: int | None = None
) -> dict[str, torch.Tensor]:
    """Pad the model inputs of `features` to the batch's longest sequence (filled into one NumPy array, then one
    tensor); labels become tensors as they are."""
    longest = padded_length(max(feature_length(feature) for feature in features), pad_to_multiple_of)
    batch: dict[str, torch.Tensor] = {}
    for name in input_names:
        if name in features[0]:
            batch[name] = torch.from_numpy(
                _padded([feature[name] for feature in features], longest, pad_token_id if name == "input_ids" else 0)
            )
    return {**batch, **label_tensors(features)}


def collate_choice_groups(
    features: Sequence[dict], input_names: Sequence[str], pad_token_id: int, pad_to_multiple_of: int | None, groups: int
) -> dict[str, Any]:
    """Multiple choice without padding every choice to the batch's longest one: `choice_groups` holds one dict
    of [sequences, length] tensors per length group, and `choice_positions` [questions, choices] says where
    each (question, choice) sequence's score lands when the groups' scores are concatenated
    (multiple_choice.forward puts them back)."""
    choices = len(features[0]["input_ids"])
    sequences = [(i, j) for i in range(len(features)) for j in range(choices)]
    lengths = [len(features[i]["input_ids"][j]) for i, j in sequences]
    positions = np.empty(len(sequences), dtype=np.int64)
    tensor_groups, placed = [], 0
    for group in length_groups(lengths, groups):
        longest = padded_length(max(lengths[k] for k in group), pad_to_multiple_of)
        tensor_groups.append(
            {
                name: torch.from_numpy(
                    _padded(
                        [features[sequences[k][0]][name][sequences[k][1]] for k in group],
                        longest,
                        pad_token_id if name == "input_ids" else 0,
                    )
                )
                for name in input_names
                if name in features[0]
            }
        )
        positions[group] = np.arange(placed, placed + len(group))
        placed += len(group)
    return {
        "choice_groups": tensor_groups,
        "choice_positions": torch.from_numpy(positions.reshape(len(features), choices)),
        **label_tensors(features),
    }


def length_groups(lengths: Sequence[int], groups: int) -> list[list[int]]:
    """Indices sorted by length, cut into `groups` runs of (nearly) the same size."""
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    groups = max(1, min(groups, len(order)))
    bounds = [len(order) * g // groups for g in range(groups + 1)]
    return [order[start:end] for start, end in zip(bounds, bounds[1:])]


def padded_length(longest: int, pad_to_multiple_of: int | None) -> int:
    return -(-longest // pad_to_multiple_of) * pad_to_multiple_of if pad_to_multiple_of else longest


def label_tensors(features: Sequence[dict]) -> dict[str, torch.Tensor]:
    return {name: torch.tensor([feature[name] for feature in features]) for name in LABEL_KEYS if name in features[0]}


def to_device(batch: Any, device: torch.device) -> Any:
    """A batch (tensors, possibly in lists and dicts: choice groups) on the device."""
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {name: to_device(value, device) for name, value in batch.items()}
    if isinstance(batch, list):
        return [to_device(value, device) for value in batch]
    return batch


def _padded(sequences: list, length: int, pad_value: int) -> np.ndarray:
    """[batch, length], or [batch, choices, length] for multiple choice (one sequence per choice)."""
    nested = len(sequences[0]) and not np.isscalar(sequences[0][0])
    shape = (len(sequences), len(sequences[0]), length) if nested else (len(sequences), length)
    out = np.full(shape, pad_value, dtype=np.int64)
    for i, sequence in enumerate(sequences):
        for j, row in enumerate(sequence if nested else [sequence]):
            target = out[i, j] if nested else out[i]
            target[: len(row)] = row
    return out
