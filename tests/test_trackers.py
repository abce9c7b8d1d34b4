"""Trackers through Accelerate: a tiny run per tracker, read back with the tracker's own reader (TensorBoard's
EventAccumulator, MLflow's client on its file store, W&B's `wandb leet inspect` on an offline run); the loss curve
has one point per trainer.log_every optimizer steps and the last epoch's scores are the record's."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys

import pytest

from jglue_bench.train.loop import accelerator_for, train
from jglue_bench.train.trackers import run_name, start_tracking, tracker_settings

TRAIN, BATCH, EPOCHS = 24, 4, 2  # 6 optimizer steps an epoch, 12 in all
DATA = (
    "task=jsts",
    f"data.max_train_samples={TRAIN}",
    "data.max_eval_samples=16",
    f"batch_size={BATCH}",
    "save_model=false",
)
TINY = (*DATA, f"num_train_epochs={EPOCHS}", "learning_rate=1e-3")


def optimizer_steps(record: dict) -> int:
    """Per epoch ceil(features / batch): length grouping sorts within windows of whole batches."""
    return math.ceil(record["throughput"]["train_features"] / BATCH) * EPOCHS


def expected_points(record: dict, log_every: int) -> list[int]:
    return [step for step in range(1, optimizer_steps(record) + 1) if step % log_every == 0]


def read_record(result) -> dict:
    return json.loads((result.output_dir / "record.json").read_text(encoding="utf-8"))


def last_epoch_scores(values_at: dict[str, float], record: dict) -> None:
    """Every eval split's last-epoch scores as logged (`<split>/<metric>`, at the last step) equal the record's."""
    for split, scores in record["eval_metrics"].items():
        for metric, value in scores.items():
            assert values_at[f"{split}/{metric}"] == pytest.approx(value, rel=1e-6), (split, metric)
    assert record["metrics"] == record["eval_metrics"][record["split"]]


def test_no_trackers_by_default(make_config, tmp_path, monkeypatch):
    cfg = make_config(*TINY)
    assert list(cfg.trainer.log_with) == [] and tracker_settings(cfg.trainer) == {}
    named = make_config("task=jnli", "learning_rate=5e-5", "num_train_epochs=3")
    assert run_name(named) == "jnli/tiny/lr5e-05/ep3/seed42"
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    result = train(make_config(*DATA, "num_train_epochs=1"))
    assert not (result.output_dir / "trackers").exists() and not any((tmp_path / "cwd").iterdir())


def test_tensorboard_event_files(make_config):
    pytest.importorskip("tensorboard", reason="pip install 'jglue-bench[tensorboard]'")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    log_every = 6  # one point per epoch, so each is that epoch's mean loss
    result = train(make_config(*TINY, "trainer.log_with=[tensorboard]", f"trainer.log_every={log_every}"))
    record = read_record(result)
    [folder] = (result.output_dir / "trackers" / "tensorboard").glob("jsts/tiny/lr0.001/ep2/seed42/jglue-bench")
    events = EventAccumulator(str(folder))
    events.Reload()
    loss = events.Scalars("train/loss")
    assert [point.step for point in loss] == expected_points(record, log_every) == [6, 12]
    assert [point.value for point in loss] == pytest.approx(
        [entry["train_loss"] for entry in record["history"]], rel=1e-5
    )
    assert [point.step for point in events.Scalars("train/learning_rate")] == [6, 12]
    last = optimizer_steps(record)
    last_epoch_scores(
        {
            tag: events.Scalars(tag)[-1].value
            for tag in events.Tags()["scalars"]
            if events.Scalars(tag)[-1].step == last
        },
        record,
    )
    assert events.Scalars("final/valid/pearson")[0].value == pytest.approx(record["metrics"]["pearson"], rel=1e-6)
    assert "record/text_summary" in events.Tags()["tensors"]


def test_mlflow_file_store_named_by_the_environment(make_config, tmp_path, monkeypatch):
    pytest.importorskip("mlflow", reason="pip install 'jglue-bench[mlflow]'")
    from mlflow.tracking import MlflowClient

    store = (tmp_path / "elsewhere" / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)  # the user's setting wins over trainer.tracker_dir's
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    log_every = 5
    result = train(make_config(*TINY, "trainer.log_with=[mlflow]", f"trainer.log_every={log_every}"))
    record = read_record(result)
    assert not (result.output_dir / "trackers").exists()
    client = MlflowClient(store)
    [run] = client.search_runs([client.get_experiment_by_name("jglue-bench").experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == "jsts/tiny/lr0.001/ep2/seed42"
    assert run.data.params["experiment_key"] == record["experiment"]["key"]
    assert run.data.params["task.name"] == "jsts" and float(run.data.params["learning_rate"]) == 1e-3
    assert run.data.tags["experiment_key"] == record["experiment"]["key"]
    assert run.data.tags["record"] == str(result.output_dir / "record.json")
    loss = client.get_metric_history(run.info.run_id, "train/loss")
    assert [point.step for point in loss] == expected_points(record, log_every) == [5, 10]
    last = optimizer_steps(record)
    last_epoch_scores(
        {
            key: point.value
            for key in run.data.metrics
            for point in client.get_metric_history(run.info.run_id, key)
            if point.step == last
        },
        record,
    )
    assert run.data.metrics["throughput/train_samples_per_s"] == record["throughput"]["train_samples_per_s"]


def test_a_sweep_is_one_run_per_cell_grouped_by_the_sweep(tmp_path, jglue_bench_cli, monkeypatch):
    pytest.importorskip("mlflow", reason="pip install 'jglue-bench[mlflow]'")
    pytest.importorskip("tensorboard", reason="pip install 'jglue-bench[tensorboard]'")
    from mlflow.tracking import MlflowClient
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    sweep = tmp_path / "grid"
    code, out, err = jglue_bench_cli(
        "train",
        "-m",
        "learning_rate=1e-3,2e-3",
        "trainer.log_with=[mlflow,tensorboard]",
        "trainer.log_every=4",
        f"output_dir={sweep}",
        "trainer.save_checkpoints=false",
        f"results.path={tmp_path / 'r.jsonl'}",
        *DATA,
        f"num_train_epochs={EPOCHS}",
    )
    assert code == 0, err
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    client = MlflowClient((sweep / "trackers" / "mlruns").as_uri())
    runs = client.search_runs([client.get_experiment_by_name("jglue-bench").experiment_id])
    names = [f"jsts/tiny/lr{learning_rate}/ep2/seed42" for learning_rate in ("0.001", "0.002")]
    assert sorted(run.info.run_name for run in runs) == names
    assert {run.data.tags["sweep"] for run in runs} == {"grid"}  # the sweep folder's name
    assert {run.data.tags["sweep_job"] for run in runs} == {"0", "1"}
    for name in names:  # one TensorBoard folder per cell, side by side in the sweep's
        events = EventAccumulator(str(sweep / "trackers" / "tensorboard" / name / "jglue-bench"))
        events.Reload()
        assert [point.step for point in events.Scalars("train/loss")] == [4, 8, 12]


def test_wandb_offline_run(make_config, tmp_path, monkeypatch):
    pytest.importorskip("wandb", reason="pip install 'jglue-bench[wandb]'")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    for variable in ("WANDB_DIR", "WANDB_PROJECT", "WANDB_RUN_GROUP", "WANDB_NAME"):
        monkeypatch.delenv(variable, raising=False)
    log_every = 4
    cell = {"sweep": str(tmp_path / "my-sweep"), "job": 3, "cell": {"learning_rate": "1e-3"}}
    result = train(
        make_config(*TINY, "trainer.log_with=[wandb]", f"trainer.log_every={log_every}", "trainer.run_name=my-run"),
        sweep=cell,
    )
    record = read_record(result)
    [run_dir] = (tmp_path / "my-sweep" / "trackers" / "wandb").glob("offline-run-*")  # a sweep's trackers: its folder's
    inspect = [sys.executable, "-m", "wandb", "leet", "inspect", "--json", str(run_dir)]
    records = [
        json.loads(line)
        for line in subprocess.run(inspect, capture_output=True, text=True, check=True, timeout=60).stdout.splitlines()
    ]
    [start] = [entry["run"] for entry in records if entry["type"] == "run"]
    assert start["display_name"] == "my-run" and start["project"] == "jglue-bench" and start["run_group"] == "my-sweep"
    config = {
        key: value for entry in records if entry["type"] == "config" for key, value in entry["config"]["update"].items()
    }
    assert config["experiment_key"] == record["experiment"]["key"] and config["learning_rate"] == 1e-3
    assert config["sweep.dir"] == cell["sweep"] and config["sweep.job"] == 3
    history = [entry["history"] for entry in records if entry["type"] == "history"]
    assert [row["step"]["num"] for row in history if "train/loss" in row["item"]] == expected_points(record, log_every)
    last_epoch_scores(history[-1]["item"], record)
    summary = json.loads(
        subprocess.run(
            [*inspect[:-1], "--summary", str(run_dir)], capture_output=True, text=True, check=True, timeout=60
        ).stdout
    )
    assert summary["state"] == "finished" and summary["summary"]["record"] == str(result.output_dir / "record.json")


@pytest.mark.parametrize(
    "settings, message",
    [
        (
            ["trainer.log_with=[wandb]"],
            "trainer.log_with names wandb, but the wandb package is not installed: pip install 'jglue-bench[wandb]'",
        ),
        (
            ["trainer.log_with=[tensorbord]"],
            "trainer.log_with names 'tensorbord'; expected a list of tensorboard, wandb, "
            "mlflow (did you mean 'tensorboard'?).",
        ),
        (["trainer.log_every=0"], "trainer.log_every is 0; expected a whole number of optimizer steps, at least 1."),
    ],
    ids=["missing-package", "unknown-name", "log-every"],
)
def test_a_tracker_mistake_is_one_line_before_any_work(settings, message, tmp_path, jglue_bench_cli, monkeypatch):
    real_find_spec = importlib.util.find_spec  # wandb is absent, as far as anyone asks
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *args: None if name == "wandb" else real_find_spec(name, *args)
    )
    store = tmp_path / "r.jsonl"
    code, out, err = jglue_bench_cli(
        "train", *settings, f"results.path={store}", f"output_dir={tmp_path / 'run'}", "task=jsts"
    )
    assert code == 2
    assert err.strip().splitlines() == [f"jglue-bench: error: {message}"]
    assert not (tmp_path / "run").exists() and not store.exists()


def test_a_run_that_raised_is_closed_as_failed_by_the_next(make_config, tmp_path, monkeypatch):
    pytest.importorskip("mlflow", reason="pip install 'jglue-bench[mlflow]'")
    from mlflow.tracking import MlflowClient

    store = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    cfg = make_config("trainer.log_with=[mlflow]")
    accelerator = accelerator_for(cfg.trainer, **tracker_settings(cfg.trainer))
    start_tracking(accelerator, cfg, {"key": "first"}, tmp_path / "first")  # ... and its run raised
    start_tracking(accelerator, cfg, {"key": "second"}, tmp_path / "second").close()
    client = MlflowClient(store)
    runs = client.search_runs([client.get_experiment_by_name("jglue-bench").experiment_id])
    assert {run.data.tags["experiment_key"]: run.info.status for run in runs} == {
        "first": "FAILED",
        "second": "FINISHED",
    }


def test_a_tracker_that_cannot_start_is_one_line(tmp_path, jglue_bench_cli, monkeypatch):
    wandb = pytest.importorskip("wandb", reason="pip install 'jglue-bench[wandb]'")

    def not_logged_in(**settings):
        raise wandb.errors.UsageError("No API key configured. Use `wandb login` to log in.")

    monkeypatch.setattr(wandb, "init", not_logged_in)
    code, out, err = jglue_bench_cli(
        "train",
        "trainer.log_with=[wandb]",
        f"results.path={tmp_path / 'r.jsonl'}",
        f"output_dir={tmp_path / 'run'}",
        "task=jsts",
        "data.max_train_samples=8",
    )
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        "jglue-bench: error: trainer.log_with: wandb could not start a run: No API key configured. Use `wandb login` "
        "to log in. (or WANDB_MODE=offline: the run stays on disk, `wandb sync` uploads it later)"
    )
