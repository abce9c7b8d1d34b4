"""Runs that survive faults: a kill resumes to the same result, Ctrl-C says how to resume, the same seed gives the
same run, and every fault before or after training is one line that loses nothing."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from jglue_bench.config import compose_config
from jglue_bench.errors import UserError
from jglue_bench.train.loop import train

WORDS = ["犬", "猫", "鳥", "魚", "馬", "牛", "象", "熊"]


def write_long_task(folder: Path, rows: int = 1200) -> Path:
    """A CSV task big enough for a few dozen optimizer steps per epoch with the tiny model."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["text,label"] + [f"{WORDS[i % 8]}が{WORDS[(i * 3) % 8]}を見た{i}。,{'ab'[i % 2]}" for i in range(rows)]
    (folder / "data.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    task = {
        "name": "long",
        "kind": "classification",
        "files": {"train": "data.csv"},
        "split": {"valid": 0.1},
        "fields": {"texts": ["text"], "label": "label"},
        "max_seq_length": 32,
        "batch_size": 16,
    }
    path = folder / "long.yaml"
    path.write_text(yaml.safe_dump(task, allow_unicode=True), encoding="utf-8")
    return path


def settings(task: Path, out: Path, store: Path, cache_dir: Path, *extra: str) -> list[str]:
    return [
        f"task={task}",
        f"output_dir={out}",
        f"results.path={store}",
        f"data.cache_dir={cache_dir}",
        "num_train_epochs=2",
        "learning_rate=1e-3",
        "trainer.checkpoint_steps=10",
        "trainer.progress_bar=false",
        *extra,
    ]


def start_and_stop(arguments: list[str], out: Path, cache_dir: Path, stop: int) -> subprocess.CompletedProcess:
    """Run `jglue-bench train` in a child process and send it `stop` once its first checkpoint is on disk."""
    env = {**os.environ, "JGLUE_BENCH_CACHE": str(cache_dir), "HF_HUB_OFFLINE": "1"}
    # The child's Ctrl-C as at a terminal: a test suite started as a background job of a script inherits SIGINT
    # ignored (POSIX shells do that to background jobs), and Python then never raises KeyboardInterrupt.
    child = subprocess.Popen(
        [sys.executable, "-m", "jglue_bench.cli", "train", *arguments],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 180
    while not list((out / "checkpoints").glob("step-*")) and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert child.poll() is None, "the run ended before its first checkpoint could be interrupted"
    child.send_signal(stop)
    stdout, stderr = child.communicate(timeout=120)
    return subprocess.CompletedProcess(child.args, child.returncode, stdout, stderr)


def outcome(out: Path) -> tuple[dict, list[str]]:
    record = json.loads((out / "record.json").read_text(encoding="utf-8"))
    return record["history"], (out / "predictions-valid.jsonl").read_text(encoding="utf-8").splitlines()


def test_a_run_killed_after_a_checkpoint_resumes_to_the_uninterrupted_result(tmp_path, cache_dir):
    task = write_long_task(tmp_path / "task")
    whole = tmp_path / "whole"
    train(compose_config(settings(task, whole, tmp_path / "a.jsonl", cache_dir)))

    killed = tmp_path / "killed"
    arguments = settings(task, killed, tmp_path / "b.jsonl", cache_dir)
    result = start_and_stop(arguments, killed, cache_dir, signal.SIGKILL)
    assert result.returncode == -signal.SIGKILL and not (killed / "record.json").exists()
    resumed = train(compose_config([*arguments, "resume=true"]))
    assert resumed.output_dir == killed
    assert outcome(killed) == outcome(whole)  # every epoch's loss and scores, and every prediction
    assert not (killed / "checkpoints").exists()  # a finished run keeps no checkpoints


def test_ctrl_c_exits_130_with_one_line_and_resume_finishes_the_run(tmp_path, cache_dir):
    task = write_long_task(tmp_path / "task")
    out = tmp_path / "run"
    arguments = settings(task, out, tmp_path / "runs.jsonl", cache_dir)
    result = start_and_stop(arguments, out, cache_dir, signal.SIGINT)
    assert result.returncode == 130
    [line] = [line for line in result.stderr.strip().splitlines() if line.startswith("jglue-bench:")]
    assert "interrupted" in line and "resume=true" in line and "Traceback" not in result.stderr
    assert list((out / "checkpoints").glob("step-*"))
    resumed = train(compose_config([*arguments, "resume=true"]))
    assert resumed.output_dir == out and (out / "record.json").is_file()


def test_the_same_seed_gives_the_same_metrics_and_predictions(tmp_path, cache_dir):
    task = write_long_task(tmp_path / "task", rows=300)
    for name in ("first", "second"):
        train(compose_config(settings(task, tmp_path / name, tmp_path / f"{name}.jsonl", cache_dir)))
    assert outcome(tmp_path / "first") == outcome(tmp_path / "second")
    train(compose_config(settings(task, tmp_path / "other", tmp_path / "other.jsonl", cache_dir, "seed=7")))
    assert outcome(tmp_path / "other") != outcome(tmp_path / "first")


def one_line_error(jglue_bench_cli, *arguments: str) -> str:
    code, out, err = jglue_bench_cli(*arguments)
    assert code == 2, (out, err)
    lines = [line for line in err.strip().splitlines() if line and not line.startswith("note: ")]
    assert len(lines) == 1 and lines[0].startswith("jglue-bench: error: "), err
    return lines[0]


def test_an_output_dir_that_is_a_file_is_one_line(tmp_path, jglue_bench_cli):
    (tmp_path / "taken").write_text("x", encoding="utf-8")
    line = one_line_error(
        jglue_bench_cli, "train", f"output_dir={tmp_path / 'taken'}", f"results.path={tmp_path / 'r.jsonl'}"
    )
    assert f"output_dir {tmp_path / 'taken'} is a file" in line


def test_a_results_store_that_cannot_be_written_fails_before_training(tmp_path, jglue_bench_cli):
    (tmp_path / "blocker").write_text("x", encoding="utf-8")
    started = time.perf_counter()
    line = one_line_error(jglue_bench_cli, "train", f"results.path={tmp_path / 'blocker' / 'runs.jsonl'}")
    assert "results.path's folder" in line and "is a file" in line
    assert time.perf_counter() - started < 10 and list((tmp_path / "work").iterdir()) == []


def test_running_again_into_a_finished_runs_folder_is_refused(tmp_path, jglue_bench_cli, cache_dir):
    out, store = tmp_path / "run", tmp_path / "runs.jsonl"
    code, _, err = jglue_bench_cli(
        "train", f"output_dir={out}", f"results.path={store}", "num_train_epochs=1", "trainer.progress_bar=false"
    )
    assert code == 0, err
    line = one_line_error(
        jglue_bench_cli, "train", f"output_dir={out}", f"results.path={tmp_path / 'other.jsonl'}", "num_train_epochs=1"
    )
    assert "already holds files" in line and "overwrite=true" in line


def test_a_full_disk_is_one_line_and_the_earlier_run_stays_whole(tmp_path, jglue_bench_cli, monkeypatch):
    out, store = tmp_path / "run", tmp_path / "runs.jsonl"
    code, _, err = jglue_bench_cli(
        "train", f"output_dir={out}", f"results.path={store}", "num_train_epochs=1", "trainer.progress_bar=false"
    )
    assert code == 0, err
    before = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    stored = store.read_bytes()

    import jglue_bench.support.atomic as atomic  # every file jglue-bench replaces is written through it

    class FullDisk:
        def __init__(self, *args, **kwargs):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def write(self, text):
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(atomic, "open", FullDisk, raising=False)
    line = one_line_error(
        jglue_bench_cli,
        "train",
        f"output_dir={out}",
        f"results.path={store}",
        "num_train_epochs=1",
        "overwrite=true",
        "learning_rate=1e-4",
        "trainer.progress_bar=false",
    )
    assert "No space left on device" in line and "intact" in line
    after = {path: path.read_bytes() for path in out.rglob("*") if path.is_file()}
    assert after == before and store.read_bytes() == stored  # no half file, no temporary left behind


def test_a_hub_model_offline_is_one_line_without_retries(tmp_path, jglue_bench_cli, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.perf_counter()
    line = one_line_error(jglue_bench_cli, "train", "model=line_distilbert", f"results.path={tmp_path / 'r.jsonl'}")
    assert "line-corporation/line-distilbert-base-japanese" in line and "local folder" in line
    assert time.perf_counter() - started < 15


def test_an_unreachable_hub_is_one_line_in_seconds(tmp_path, jglue_bench_cli, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")  # nothing listens on the discard port
    started = time.perf_counter()
    line = one_line_error(jglue_bench_cli, "train", "model=line_distilbert", f"results.path={tmp_path / 'r.jsonl'}")
    assert "cannot be reached" in line and "HF_HUB_OFFLINE=1" in line
    assert time.perf_counter() - started < 15


def test_bf16_without_a_gpu_is_said_once(tmp_path, jglue_bench_cli):
    code, out, err = jglue_bench_cli(
        "train",
        "trainer=gpu_bf16",
        "num_train_epochs=1",
        "save_model=false",
        "trainer.progress_bar=false",
        f"results.path={tmp_path / 'r.jsonl'}",
        f"output_dir={tmp_path / 'run'}",
    )
    if __import__("torch").cuda.is_available():
        pytest.skip("a GPU is visible: bf16 runs on it, and there is nothing to warn about")
    assert code == 0 and err.count("jglue-bench: warning: trainer.precision=bf16 on the CPU") == 1


@pytest.mark.parametrize(
    "arguments, words",
    [
        (["train", "task=jnlii"], ["unknown task 'jnlii'", "did you mean 'jnli'?"]),
        (["train", "model=tinny"], ["unknown model 'tinny'", "did you mean 'tiny'?"]),
        (["train", "trainer=gpu"], ["unknown trainer 'gpu'", "did you mean 'cpu'?"]),
        (["train", "lerning_rate=1e-4"], ["unknown key 'lerning_rate'", "did you mean 'learning_rate'?"]),
        (["train", "trainer.precison=bf16"], ["unknown key 'trainer.precison'", "did you mean 'trainer.precision'?"]),
        (["report", "--last", "0", "--results", "{store}"], ["--last expects a number of records, 1 or more"]),
    ],
)
def test_typos_and_bad_options_are_one_line(tmp_path, jglue_bench_cli, arguments, words):
    store = tmp_path / "runs.jsonl"
    store.write_text(
        json.dumps({"task": {"name": "jnli"}, "model": {"name": "tiny"}, "metrics": {}}) + "\n", encoding="utf-8"
    )
    line = one_line_error(jglue_bench_cli, *[argument.format(store=store) for argument in arguments])
    assert all(word in line for word in words), line


def test_report_into_a_closed_pipe_is_quiet(tmp_path, cache_dir):
    store = tmp_path / "runs.jsonl"
    record = {
        "task": {"name": "jnli", "data_version": "1.3"},
        "model": {"name": "tiny"},
        "split": "valid",
        "metrics": {"accuracy": 50.0},
        "main_metric": "accuracy",
        "protocol": "single",
    }
    store.write_text("".join(json.dumps({**record, "run_id": f"r{i}"}) + "\n" for i in range(3000)), encoding="utf-8")
    shell = f"{sys.executable} -m jglue_bench.cli report --results {store} | head -n 1"
    result = subprocess.run(shell, shell=True, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr


def test_every_option_of_every_config_group_composes():
    from jglue_bench.config import group_options

    composed = 0
    for group in ("task", "model", "trainer", "experiment", "hydra/launcher", "hydra/sweeper"):
        for option in group_options(group):
            cfg = compose_config([f"{group}={option}"])
            assert cfg.task.name and cfg.model.name and cfg.trainer.precision in ("fp32", "bf16", "fp16")
            composed += 1
    assert composed >= 6 + 4 + 3 + 2 + 1 + 1
    assert compose_config(["experiment=paper"]).protocol == "paper"
    with pytest.raises(UserError, match="unknown experiment 'papr'"):
        compose_config(["experiment=papr"])
