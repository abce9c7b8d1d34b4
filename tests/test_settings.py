"""Settings a user types are checked before any work; a user's own task YAML works like a JGLUE one."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from jglue_bench.config import compose_config
from jglue_bench.errors import UserError
from jglue_bench.records.store import read_records
from jglue_bench.train.batching import shard_batches
from jglue_bench.train.loop import train
from jglue_bench.train.saved_runs import evaluate_saved_run


@pytest.mark.parametrize(
    "override, message",
    [
        ("learning_rate=abc", "learning_rate is 'abc'; expected a positive number"),
        ("batch_size=0", "batch_size is 0; expected a positive whole number"),
        ("num_train_epochs=0", "num_train_epochs is 0; expected a whole number of epochs"),
        ("num_train_epochs=3.0", "num_train_epochs is 3.0; expected a whole number of epochs"),
        ("trainer.lr_scheduler=foo", "trainer.lr_scheduler is 'foo'; expected one of linear"),
        ("trainer.device=gpu", "trainer.device is 'gpu'; expected one of auto, cpu, cuda"),
        ("data.max_train_samples=-5", "data.max_train_samples is -5; expected null or a positive whole number"),
        ("data.version=2.0", "version is '2.0' \\(data.version\\); expected one of 1.1, 1.2, 1.3"),
        ("trainer.precision=fp8", "trainer.precision is 'fp8'; expected fp32, bf16 or fp16"),
        ("trainer.choice_groups=0", "trainer.choice_groups is 0; expected a positive whole number (1: no groups)"),
    ],
)
def test_bad_settings_are_named_with_what_was_expected(make_config, override, message):
    with pytest.raises(
        UserError, match=message if "\\(" in message else message.replace("(", r"\(").replace(")", r"\)")
    ):
        train(make_config(override))


def test_an_unknown_config_option_is_a_user_error():
    with pytest.raises(UserError, match="unknown model 'nope'; the model options are bandainamco_distilbert"):
        compose_config(["model=nope"])


def test_a_task_given_as_a_python_dict_trains_without_a_pinned_release(make_config, tmp_path):
    rows = [
        {"id": f"r{i}", "text": text, "stars": str(i % 2)}
        for i, text in enumerate(
            ["とても良い商品でした。", "二度と買いません。", "大満足です。", "壊れていました。"] * 5
        )
    ]
    for split in ("train", "valid"):
        (tmp_path / f"{split}.jsonl").write_text(
            "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
        )
    cfg = make_config("num_train_epochs=1")
    cfg.task = {
        "name": "review_stars",
        "kind": "classification",
        "files": {"train": str(tmp_path / "train.jsonl"), "valid": str(tmp_path / "valid.jsonl")},
        "fields": {"id": "id", "texts": ["text"], "label": "stars"},
        "labels": ["0", "1"],
        "metrics": ["accuracy"],
        "main_metric": "accuracy",
        "max_seq_length": 32,
        "batch_size": 8,
        "learning_rate": 1e-3,
        "num_train_epochs": 1,
    }
    result = train(cfg)
    assert result.record["task"]["name"] == "review_stars"
    assert [file["matches_pin"] for file in result.record["task"]["files"]] == [None, None]


def test_shards_give_every_process_the_same_number_of_batches():
    batches = [[i] for i in range(5)]
    shards = [shard_batches(batches, 2, rank) for rank in range(2)]
    assert shards == [[[0], [2], [4]], [[1], [3], [0]]]
    assert shard_batches(batches, 1, 0) == batches


def test_accumulating_small_batches_equals_one_large_batch(make_config, tmp_path):
    """40 examples: one batch of 32 and one of 8. With accumulation the 8 arrive as 1 micro-batch of a group
    of 4, and must still weigh as a whole batch; so both runs must end with the same weights."""
    weights = []
    for per_device, name in ((None, "whole"), (8, "accumulated")):
        cfg = make_config(
            "task=jsts",
            "num_train_epochs=1",
            "trainer.group_by_length=false",
            "trainer.max_grad_norm=0",
            "model.architecture.dropout=0.0",
            "model.architecture.attention_dropout=0.0",
            f"output_dir={tmp_path / name}",
            f"trainer.per_device_batch_size={per_device or 'null'}",
        )
        weights.append(load_file(train(cfg).output_dir / "model" / "model.safetensors"))
    for key in weights[0]:
        torch.testing.assert_close(weights[0][key], weights[1][key], atol=2e-5, rtol=1e-4)


def test_evaluate_accepts_single_keys_only_and_keeps_the_tokenizer_fingerprint(make_config, tmp_path):
    result = train(make_config("num_train_epochs=1"))
    for overrides, message in (
        (["task=jsts"], "'task' is a whole group"),
        (["nonsense"], "expected key=value"),
        (["no.such.key=1"], "expected key=value with a key of the run's config.yaml"),
    ):
        with pytest.raises(UserError, match=message):
            evaluate_saved_run(result.output_dir, overrides)
    evaluated = evaluate_saved_run(result.output_dir, ["data.eval_split=test"])
    assert evaluated.record["split"] == "test" and list(evaluated.record["eval_metrics"]) == ["test"]
    assert evaluated.record["model"]["tokenizer_fingerprint"] == result.record["model"]["tokenizer_fingerprint"]


def test_a_local_model_folder_that_does_not_exist_is_named(make_config, tmp_path):
    with pytest.raises(UserError, match=f"model.pretrained {tmp_path}/nope is not a folder"):
        train(make_config("model=bandainamco_distilbert", f"model.pretrained={tmp_path}/nope"))


def test_a_corrupt_records_store_names_the_line(tmp_path):
    store = tmp_path / "runs.jsonl"
    good = {"run_id": "a", "task": {"name": "jnli"}, "model": {"name": "tiny"}, "metrics": {"accuracy": 50.0}}
    store.write_text(json.dumps(good) + '\n{"run_id": \n', encoding="utf-8")
    with pytest.raises(UserError, match=r"runs.jsonl, line 2: record: expected one JSON run record"):
        read_records(store)
    assert read_records(store, skip_corrupt=True) == [good]
