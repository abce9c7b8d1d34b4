"""Length-grouped batches keep every example exactly once and cut padding; collate pads per batch."""

from __future__ import annotations

import random

import pytest
import torch

from jglue_bench.train.batching import Collator, collate, evaluation_batches, length_groups, training_batches


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
    features = [
        {"input_ids": [2, 7, 3], "attention_mask": [1, 1, 1], "token_type_ids": [0, 0, 0], "labels": 1},
        {"input_ids": [2, 3], "attention_mask": [1, 1], "token_type_ids": [0, 0], "labels": 0},
    ]
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


def test_length_groups_sort_and_cut_into_nearly_equal_runs():
    assert length_groups([5, 1, 4, 2, 3], 2) == [[1, 3], [4, 2, 0]]
    assert length_groups([3, 1], 4) == [[1], [0]]  # never an empty group
    assert length_groups([7, 7, 7], 1) == [[0, 1, 2]]


def test_choice_groups_pad_each_group_to_its_own_longest_and_say_where_each_choice_lands():
    features = [
        {"input_ids": [[2, 5, 3], [2, 3]], "attention_mask": [[1, 1, 1], [1, 1]], "labels": 1},
        {"input_ids": [[2, 3], [2, 6, 6, 6, 3]], "attention_mask": [[1, 1], [1, 1, 1, 1, 1]], "labels": 0},
    ]
    batch = Collator(("input_ids", "attention_mask"), pad_token_id=9, choice_groups=2)(features)
    # sequences (question, choice) by length: (0,1) 2, (1,0) 2 | (0,0) 3, (1,1) 5
    short, long = batch["choice_groups"]
    assert short["input_ids"].tolist() == [[2, 3], [2, 3]]
    assert long["input_ids"].tolist() == [[2, 5, 3, 9, 9], [2, 6, 6, 6, 3]]
    assert long["attention_mask"].tolist() == [[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]]
    assert batch["choice_positions"].tolist() == [[2, 0], [1, 3]]
    assert batch["labels"].tolist() == [1, 0]
    assert set(Collator(("input_ids",), pad_token_id=9)(features)) == {"input_ids", "labels"}  # one group: HF's


@pytest.mark.parametrize("groups", [2, 3])
def test_multiple_choice_in_groups_gives_the_models_own_logits_loss_and_gradients(groups):
    from transformers import DistilBertConfig, DistilBertForMultipleChoice

    from jglue_bench.tasks import multiple_choice

    torch.manual_seed(0)
    model = DistilBertForMultipleChoice(
        DistilBertConfig(
            vocab_size=50,
            dim=16,
            n_layers=2,
            n_heads=2,
            hidden_dim=32,
            dropout=0.0,
            attention_dropout=0.0,
            seq_classif_dropout=0.0,
        )
    )
    rng = random.Random(1)
    features = []
    for _ in range(4):
        rows = [[2] + [rng.randint(5, 49) for _ in range(rng.randint(1, 9))] + [3] for _ in range(3)]
        features.append(
            {"input_ids": rows, "attention_mask": [[1] * len(row) for row in rows], "labels": rng.randint(0, 2)}
        )
    names = ("input_ids", "attention_mask")

    def outputs_and_gradients(collator):
        model.zero_grad()
        outputs = multiple_choice.forward(model, collator(features))
        outputs.loss.backward()
        return outputs, [parameter.grad.clone() for parameter in model.parameters()]

    plain, plain_grads = outputs_and_gradients(Collator(names, pad_token_id=0))
    grouped, grouped_grads = outputs_and_gradients(Collator(names, pad_token_id=0, choice_groups=groups))
    assert grouped.logits.shape == (4, 3)
    torch.testing.assert_close(grouped.logits, plain.logits, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(grouped.loss, plain.loss, atol=1e-6, rtol=1e-5)
    for expected, got in zip(plain_grads, grouped_grads):
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)
