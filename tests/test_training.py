"""train(cfg) end to end on the bundled sample and on real JGLUE files, with the tiny model."""

from __future__ import annotations

import json

import pytest
from transformers import AutoConfig, AutoModelForSequenceClassification

from jglue_bench.errors import UserError
from jglue_bench.records.store import read_records
from jglue_bench.train.loop import train
from jglue_bench.train.modeling import forward_input_names
from jglue_bench.train.saved_runs import evaluate_saved_run

RECORD_KEYS = {
    "task",
    "model",
    "config",
    "experiment",
    "protocol",
    "seed",
    "metrics",
    "split",
    "git",
    "packages",
    "device",
    "wall_time_s",
    "throughput",
    "history",
    "run_id",
    "created_at",
}


def test_jnli_on_the_sample_writes_record_predictions_and_a_loadable_model(make_config, tmp_path):
    cfg = make_config("task=jnli", "num_train_epochs=2")
    result = train(cfg)
    record = json.loads((result.output_dir / "record.json").read_text(encoding="utf-8"))
    assert RECORD_KEYS <= set(record)
    assert read_records(tmp_path / "runs.jsonl") == [record]
    assert record["task"]["data_version"] == "1.3" and record["task"]["data_source"] == "bundled-sample"
    assert record["task"]["labels"] == ["entailment", "contradiction", "neutral"]
    assert [file["split"] for file in record["task"]["files"]] == ["train", "valid"]
    assert all(len(file["sha256"]) == 64 for file in record["task"]["files"])
    assert len(record["model"]["tokenizer_fingerprint"]) == 16
    assert record["config"]["learning_rate"] == 5e-5 and record["seed"] == 42
    assert [row["epoch"] for row in record["history"]] == [1, 2]
    assert record["throughput"] == {**record["throughput"], "train_features": 40, "eval_features": 20}
    assert [row["metrics"]["valid"] for row in record["history"]][-1] == record["metrics"]
    assert 0 <= record["metrics"]["accuracy"] <= 100

    rows = [json.loads(line) for line in (result.output_dir / "predictions-valid.jsonl").read_text().splitlines()]
    assert len(rows) == 20 and all(set(row) == {"id", "gold", "prediction", "correct"} for row in rows)
    assert sum(row["correct"] for row in rows) / 20 * 100 == pytest.approx(record["metrics"]["accuracy"])

    model = AutoModelForSequenceClassification.from_pretrained(result.output_dir / "model")
    assert model.config.id2label == {0: "entailment", 1: "contradiction", 2: "neutral"}
    assert (result.output_dir / "model" / "model.safetensors").is_file()


def test_evaluate_reloads_the_saved_model_and_reproduces_the_last_epoch(make_config, tmp_path):
    result = train(make_config("task=jnli", "num_train_epochs=1"))
    evaluated = evaluate_saved_run(result.output_dir, [f"results.path={tmp_path / 'runs.jsonl'}"])
    assert evaluated.metrics == result.metrics
    assert evaluated.record["run_kind"] == "evaluate"
    assert (evaluated.output_dir / "record.json").is_file()
    assert len(read_records(tmp_path / "runs.jsonl")) == 2


def test_gradient_accumulation_reaches_the_effective_batch(make_config):
    result = train(make_config("task=jnli", "num_train_epochs=1", "trainer.per_device_batch_size=8"))
    assert result.record["config"]["trainer"]["per_device_batch_size"] == 8
    with pytest.raises(UserError, match="not a multiple of per_device_batch_size 5"):
        train(make_config("task=jnli", "trainer.per_device_batch_size=5"))


def test_only_inputs_the_forward_accepts_are_passed():
    distilbert = AutoModelForSequenceClassification.from_config(
        AutoConfig.for_model("distilbert", vocab_size=50, dim=16, n_layers=1, n_heads=2, hidden_dim=32)
    )
    bert = AutoModelForSequenceClassification.from_config(
        AutoConfig.for_model(
            "bert", vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32
        )
    )
    assert forward_input_names(distilbert) == ("input_ids", "attention_mask")
    assert forward_input_names(bert) == ("input_ids", "attention_mask", "token_type_ids")


def test_bert_architecture_trains_with_token_type_ids(make_config):
    result = train(
        make_config(
            "task=jnli",
            "num_train_epochs=1",
            "model.architecture.model_type=bert",
            "~model.architecture.dim",
            "~model.architecture.n_layers",
            "~model.architecture.n_heads",
            "~model.architecture.hidden_dim",
            "~model.architecture.dropout",
            "~model.architecture.attention_dropout",
            "+model.architecture.hidden_size=32",
            "+model.architecture.num_hidden_layers=1",
            "+model.architecture.num_attention_heads=2",
            "+model.architecture.intermediate_size=64",
        )
    )
    assert result.record["model"]["num_parameters"] > 0
    assert result.record["model"]["first_token_last_layer"] is True  # BERT's layer has DistilBERT's shape


@pytest.mark.parametrize("task, first_token_only", [("jcommonsenseqa", True), ("jsquad", False)])
def test_the_record_says_whether_the_last_layer_ran_for_cls_only(make_config, task, first_token_only):
    result = train(make_config(f"task={task}", "num_train_epochs=1"))
    assert result.record["model"]["first_token_last_layer"] is first_token_only
    off = train(
        make_config(f"task={task}", "num_train_epochs=1", "trainer.first_token_last_layer=false", "overwrite=true")
    )
    assert off.record["model"]["first_token_last_layer"] is False


def test_jnli_on_real_files_trains_on_all_test_pairs_and_scores_all_dev_pairs(make_config, real_data):
    cfg = make_config(
        "task=jnli",
        f"data.dir={real_data}",
        "data.version=1.3",
        "data.train_split=test",
        "data.eval_split=valid",
        "num_train_epochs=1",
    )
    result = train(cfg)
    assert result.record["throughput"]["train_features"] == 2508
    assert result.record["throughput"]["eval_features"] == 2434
    assert all(file["matches_pin"] for file in result.record["task"]["files"])
    predictions = (result.output_dir / "predictions-valid.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(predictions) == 2434
    gold_labels = [
        json.loads(line)["label"]
        for line in (real_data / "jnli-v1.3" / "valid-v1.3.json").read_text(encoding="utf-8").splitlines()
    ]
    assert [json.loads(line)["gold"] for line in predictions] == gold_labels  # each id paired with its own gold
    assert AutoModelForSequenceClassification.from_pretrained(result.output_dir / "model").num_labels == 3


def test_bf16_autocast_trains_on_the_cpu_and_fp16_asks_for_a_gpu(make_config):
    result = train(make_config("task=jnli", "num_train_epochs=1", "trainer.precision=bf16", "trainer.device=cpu"))
    assert result.record["device"] == {**result.record["device"], "type": "cpu", "precision": "bf16"}
    assert all(row["train_loss"] == row["train_loss"] for row in result.record["history"])  # not NaN
    with pytest.raises(UserError, match="fp16 needs a GPU"):
        train(make_config("task=jnli", "trainer.precision=fp16", "trainer.device=cpu"))


def test_a_second_identical_run_reads_its_features_from_the_cache(make_config, tmp_path):
    first = train(make_config("task=jsts", "num_train_epochs=1", "save_model=false", f"output_dir={tmp_path / 'a'}"))
    second = train(
        make_config("task=jsts", "num_train_epochs=1", "save_model=false", f"output_dir={tmp_path / 'b'}", "rerun=true")
    )
    assert {split["cache_hit"] for split in second.record["preprocessing"].values()} == {True}
    assert second.record["metrics"] == first.record["metrics"]
    uncached = train(
        make_config(
            "task=jsts",
            "num_train_epochs=1",
            "save_model=false",
            f"output_dir={tmp_path / 'c'}",
            "rerun=true",
            "data.cache=false",
        )
    )
    assert {split["cache_hit"] for split in uncached.record["preprocessing"].values()} == {False}
