"""Length-grouped batches keep every example exactly once and cut padding; collate pads per batch."""

from __future__ import annotations

import random

import torch

from jglue_bench.batching import collate, evaluation_batches, training_batches


def padding_efficiency(batches, lengths) -> float:
    real = sum(lengths[i] for batch in batches for i in batch)
    computed = sum(max(lengths[i] for i in batch) * len(batch) for batch in batches)
    return real / computed


def test_grouped_batches_cover_each_index_once_and_pad_less():
    rng = random.Random(0)
    lengths = [rng.randint(8, 128) for _ in range(3000)]
    grouped = training_batches(lengths, 32, seed=1, group_by_length=True)
    shuffled = training_batches(lengths, 32, seed=1, group_by_length=False)
    for batches in (grouped, shuffled):
        assert sorted(i for batch in batches for i in batch) == list(range(3000))
        assert all(len(batch) <= 32 for batch in batches)
    assert padding_efficiency(grouped, lengths) > 0.95
    assert padding_efficiency(shuffled, lengths) < 0.7


def test_batches_depend_on_the_seed_only():
    lengths = list(range(200))
    assert training_batches(lengths, 8, 3, True) == training_batches(lengths, 8, 3, True)
    assert training_batches(lengths, 8, 3, True) != training_batches(lengths, 8, 4, True)


def test_evaluation_batches_are_sorted_by_length():
    lengths = [5, 1, 9, 3]
    assert evaluation_batches(lengths, 2) == [[2, 0], [3, 1]]


def test_collate_pads_to_the_batch_maximum_and_skips_inputs_the_model_does_not_take():
    features = [{"input_ids": [2, 7, 3], "attention_mask": [1, 1, 1], "token_type_ids": [0, 0, 0], "labels": 1},
                {"input_ids": [2, 3], "attention_mask": [1, 1], "token_type_ids": [0, 0], "labels": 0}]
    batch = collate(features, ("input_ids", "attention_mask"), pad_token_id=0)
    assert set(batch) == {"input_ids", "attention_mask", "labels"}
    assert batch["input_ids"].tolist() == [[2, 7, 3], [2, 3, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 1, 0]]
    assert batch["labels"].tolist() == [1, 0]
    padded = collate(features, ("input_ids",), pad_token_id=0, pad_to_multiple_of=8)
    assert padded["input_ids"].shape == (2, 8)


def test_collate_pads_multiple_choice_across_all_choices():
    features = [{"input_ids": [[2, 5, 3], [2, 3]], "labels": 1}, {"input_ids": [[2, 3], [2, 6, 6, 3]], "labels": 0}]
    batch = collate(features, ("input_ids",), pad_token_id=9)
    assert batch["input_ids"].shape == (2, 2, 4)
    assert batch["input_ids"][0].tolist() == [[2, 5, 3, 9], [2, 3, 9, 9]]
    assert batch["labels"].dtype == torch.int64
