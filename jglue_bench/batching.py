"""Batches: length-grouped order and dynamic padding, so a batch is padded to its own longest sequence.

Grouping by length is what makes dynamic padding pay: JGLUE sequences are short (JNLI averages 34 tokens
against a max of 128), so padding everything to max_seq_length wastes most of the compute.
"""

from __future__ import annotations

import random
from typing import Iterable, Sequence

import numpy as np
import torch

LABEL_KEYS = ("labels", "start_positions", "end_positions")
MEGABATCH_FACTOR = 50  # like HF's LengthGroupedSampler: sort within windows of 50 batches, keep randomness


def feature_length(feature: dict) -> int:
    """The feature's sequence length; multiple choice: its longest choice."""
    ids = feature["input_ids"]
    return max(len(row) for row in ids) if len(ids) and not np.isscalar(ids[0]) else len(ids)


def training_batches(lengths: Sequence[int], batch_size: int, seed: int, group_by_length: bool) -> list[list[int]]:
    """Shuffled batches of indices; with grouping, similar lengths share a batch and batch order is shuffled."""
    rng = random.Random(seed)
    order = list(range(len(lengths)))
    rng.shuffle(order)
    if not group_by_length:
        return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    window = batch_size * MEGABATCH_FACTOR
    batches = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start:start + window], key=lambda i: lengths[i], reverse=True)
        batches.extend(chunk[i:i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def shard_batches(batches: list[list[int]], num_processes: int, process_index: int) -> list[list[int]]:
    """This process's share of the batches. The list is first padded with its own first batches to a multiple
    of the process count (as DistributedSampler does): every process must take the same number of steps, or
    their gradient synchronisations stop matching."""
    if num_processes == 1:
        return batches
    padded = batches + batches[:(-len(batches)) % num_processes]
    return padded[process_index::num_processes]


def evaluation_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Batches sorted by length (prediction order does not matter: outputs are put back by index)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i], reverse=True)
    return [order[i:i + batch_size] for i in range(0, len(order), batch_size)]


def collate(features: Sequence[dict], input_names: Iterable[str], pad_token_id: int,
            pad_to_multiple_of: int | None = None) -> dict[str, torch.Tensor]:
    """Pad the model inputs of `features` to the batch's longest sequence (filled into one NumPy array, then one
    tensor); labels become tensors as they are."""
    longest = max(feature_length(feature) for feature in features)
    if pad_to_multiple_of:
        longest = -(-longest // pad_to_multiple_of) * pad_to_multiple_of
    batch: dict[str, torch.Tensor] = {}
    for name in input_names:
        if name not in features[0]:
            continue
        pad_value = pad_token_id if name == "input_ids" else 0
        batch[name] = torch.from_numpy(_padded([feature[name] for feature in features], longest, pad_value))
    for name in LABEL_KEYS:
        if name in features[0]:
            batch[name] = torch.tensor([feature[name] for feature in features])
    return batch


def _padded(sequences: list, length: int, pad_value: int) -> np.ndarray:
    """[batch, length], or [batch, choices, length] for multiple choice (one sequence per choice)."""
    nested = len(sequences[0]) and not np.isscalar(sequences[0][0])
    shape = (len(sequences), len(sequences[0]), length) if nested else (len(sequences), length)
    out = np.full(shape, pad_value, dtype=np.int64)
    for i, sequence in enumerate(sequences):
        for j, row in enumerate(sequence if nested else [sequence]):
            target = out[i, j] if nested else out[i]
            target[:len(row)] = row
    return out
