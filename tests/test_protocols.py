"""Reproduce and compare: the paper and robust protocols, sweeps that resume, launchers, and a results store that
takes concurrent writers."""

from __future__ import annotations

import json
import multiprocessing
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from store_writer import write_records

from jglue_bench.config import compose_config
from jglue_bench.data.sources import sample_dir
from jglue_bench.experiments.hydra_sweeper import expand_by_grid
from jglue_bench.prepare.stage import read_split, task_spec
from jglue_bench.records.choice import best_cell, paper_cells
from jglue_bench.records.key import experiment_key
from jglue_bench.records.store import read_records
from jglue_bench.train.loop import train

SMALL = (
    "num_train_epochs=1",
    "save_model=false",
    "trainer.progress_bar=false",
    "data.max_train_samples=200",
    "batch_size=16",
)


def store_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def test_eight_concurrent_writers_lose_and_tear_no_record(tmp_path):
    store = tmp_path / "runs.jsonl"
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=write_records, args=(str(store), writer, 50)) for writer in range(8)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=120)
        assert process.exitcode == 0
    records = read_records(store)  # raises on a torn line
    assert len(records) == 400
    for writer in range(8):
        mine = [record["metrics"]["accuracy"] for record in records if record["model"]["name"] == f"writer{writer}"]
        assert mine == list(range(50))  # each writer's records whole, once, in its own order


def record(task, lr, epochs, value, split="valid", protocol="paper", model="line_distilbert", seed=42):
    return {
        "run_kind": "train",
        "protocol": protocol,
        "task": {"name": task, "data_version": "1.3"},
        "model": {"name": model, "pretrained": "line-corporation/line-distilbert-base-japanese"},
        "split": split,
        "metrics": {"accuracy": value},
        "main_metric": "accuracy",
        "seed": seed,
        "hyperparameters": {"learning_rate": lr, "num_train_epochs": epochs},
    }


def test_the_paper_choice_is_the_best_cell_on_dev():
    records = [
        record("jnli", 5e-5, 3, 88.1),
        record("jnli", 3e-5, 4, 89.4),
        record("jnli", 2e-5, 3, 89.4),
        record("jnli", 3e-5, 3, 92.0, split="test"),
        record("jnli", 2e-5, 4, 95.0, protocol="single"),
        record("jsts", 5e-5, 3, 99.0),
        record("jnli", 5e-5, 4, 93.0, model="tiny"),
    ]
    cells = paper_cells(records, "jnli", "line_distilbert", "line-corporation/line-distilbert-base-japanese", "1.3")
    assert len(cells) == 3  # dev only, paper only, this task and model
    chosen = best_cell(cells)
    assert chosen["hyperparameters"] == {"learning_rate": 3e-5, "num_train_epochs": 4}  # a tie: the earlier


def test_a_lora_grid_and_a_full_fine_tune_of_the_same_model_are_chosen_apart():
    from jglue_bench.report.tables import paper_choices

    lora = {"method": "lora", "r": 8, "alpha": 16, "target_modules": ["q_proj", "v_proj"]}
    full = [record("jnli", 1e-4, 1, 90.0), record("jnli", 3e-4, 1, 40.0)]
    adapted = [record("jnli", 1e-4, 1, 50.0), record("jnli", 3e-4, 1, 70.0)]
    for cell in adapted:
        cell["model"]["peft"] = lora
    pretrained = "line-corporation/line-distilbert-base-japanese"
    # the same hyperparameters are two cells: a LoRA run does not replace the full fine-tune's score
    chosen = best_cell(
        paper_cells(full + adapted, "jnli", "line_distilbert", pretrained, "1.3", {"method": "lora", "r": 8})
    )
    assert chosen["metrics"]["accuracy"] == 70.0 and chosen["model"]["peft"] == lora
    chosen = best_cell(paper_cells(full + adapted, "jnli", "line_distilbert", pretrained, "1.3", {"method": None}))
    assert chosen["metrics"]["accuracy"] == 90.0
    rows = {choice.key[0]: choice.scores["valid"]["accuracy"] for choice in paper_choices(full + adapted)}
    assert rows == {"line_distilbert": 90.0, "line_distilbert+lora r8": 70.0}
    # a LoRA grid over a bfloat16 base is chosen apart from the float32 one
    half = [record("jnli", 1e-4, 1, 99.0)]
    half[0]["model"]["peft"] = lora
    half[0]["config"] = {"model": {"dtype": "bfloat16"}}
    settings = {"method": "lora", "r": 8}
    chosen = best_cell(paper_cells(adapted + half, "jnli", "line_distilbert", pretrained, "1.3", settings))
    assert chosen["metrics"]["accuracy"] == 70.0
    chosen = best_cell(paper_cells(adapted + half, "jnli", "line_distilbert", pretrained, "1.3", settings, "bfloat16"))
    assert chosen["metrics"]["accuracy"] == 99.0
    assert {choice.key[0] for choice in paper_choices(adapted + half)} == {
        "line_distilbert+lora r8",
        "line_distilbert+lora r8 (bfloat16)",
    }


def test_each_task_gets_its_own_grid_and_command_line_keys_stay():
    grids = {"jnli": {"learning_rate": [5e-5, 3e-5], "num_train_epochs": [3, 4]}, "mine": {"learning_rate": [1e-3]}}
    assert expand_by_grid(["task=mine"], grids.get) == [["task=mine", "learning_rate=0.001"]]
    assert expand_by_grid(["task=jnli", "num_train_epochs=2"], grids.get) == [
        ["task=jnli", "num_train_epochs=2", "learning_rate=5e-05"],
        ["task=jnli", "num_train_epochs=2", "learning_rate=3e-05"],
    ]
    assert len(expand_by_grid(["task=jnli"], grids.get)) == 4


def test_the_experiment_key_does_not_depend_on_where_files_live(tmp_path, cache_dir):
    copy = tmp_path / "elsewhere"
    shutil.copytree(sample_dir(), copy)  # the same files in another folder

    def key(*overrides):
        cfg = compose_config(["task=jnli", f"data.cache_dir={cache_dir}", "data.dir=null", *overrides])
        spec = task_spec(cfg)
        splits = [read_split(spec, cfg.data, split) for split in ("train", "valid")]
        return experiment_key(cfg, spec, splits, "fingerprint")

    base = key()
    assert (
        key(
            f"data.dir={copy}",
            f"output_dir={tmp_path / 'out'}",
            f"results.path={tmp_path / 'r.jsonl'}",
            f"data.cache_dir={tmp_path / 'cache'}",
            "trainer.progress_bar=false",
        )
        == base
    )
    assert key("learning_rate=3e-5") != base and key("seed=1") != base and key("protocol=paper") != base


def test_train_works_from_python_with_the_composed_default_config(tmp_path, monkeypatch, cache_dir):
    monkeypatch.chdir(tmp_path)
    result = train(compose_config([f"data.cache_dir={cache_dir}", "num_train_epochs=1", "data.dir=null"]))
    assert result.output_dir.parent == Path("outputs/jnli/tiny") and (result.output_dir / "record.json").is_file()


def test_paper_then_robust_on_real_files_resume_and_report(real_data, tmp_path, jglue_bench_cli):
    store = tmp_path / "runs.jsonl"
    common = [
        f"data.dir={real_data}",
        f"results.path={store}",
        f"output_dir={tmp_path / 'sweeps'}",
        *SMALL,
        "data.max_eval_samples=100",
    ]
    paper = ["train", "-m", "experiment=paper", "task=jsts,jcommonsenseqa", "learning_rate=1e-3,5e-4", *common]
    code, out, err = jglue_bench_cli(*paper)
    assert code == 0, err
    assert len(store_lines(store)) == 4 and {r["protocol"] for r in store_lines(store)} == {"paper"}

    started = time.perf_counter()
    code, out, err = jglue_bench_cli(*paper)  # the same sweep again: every cell is in the store already
    assert code == 0 and out.count("skip: ") == 4 and len(store_lines(store)) == 4, err
    assert time.perf_counter() - started < 30

    kept = store.read_text(encoding="utf-8").splitlines()[:-1]  # as if the last cell had been killed
    store.write_text("\n".join(kept) + "\n", encoding="utf-8")
    code, out, err = jglue_bench_cli(*paper)
    assert code == 0 and out.count("skip: ") == 3 and len(store_lines(store)) == 4, err

    robust = ["train", "-m", "experiment=robust", "task=jsts,jcommonsenseqa", "seed=1,2", *common]
    code, out, err = jglue_bench_cli(*robust)
    assert code == 0, err
    runs = [r for r in store_lines(store) if r["protocol"] == "robust"]
    assert len(runs) == 4 and {r["split"] for r in runs} == {"test"}
    chosen = {
        r["task"]["name"]: best_cell(
            [p for p in store_lines(store) if p["protocol"] == "paper" and p["task"]["name"] == r["task"]["name"]]
        )
        for r in runs
    }
    for run in runs:  # robust ran the cell paper chose
        assert (
            run["hyperparameters"]["learning_rate"] == chosen[run["task"]["name"]]["hyperparameters"]["learning_rate"]
        )

    for protocol in ("paper", "robust"):
        code, out, err = jglue_bench_cli("report", "--results", str(store), "--protocol", protocol)
        assert code == 0, err
        assert "jsts" in out and "jcommonsenseqa" in out
    assert "±" in out  # robust: mean ± std over the two seeds


def test_robust_before_paper_is_one_line(tmp_path, jglue_bench_cli):
    code, out, err = jglue_bench_cli("train", "experiment=robust", "task=jsts", f"results.path={tmp_path / 'r.jsonl'}")
    assert code == 2
    [line] = err.strip().splitlines()
    assert "no paper-protocol record of task 'jsts' with model 'tiny'" in line


@pytest.mark.slow  # two child processes that each start torch: 15 s on two cores
def test_two_jobs_through_submitit_local_write_both_records(tmp_path, jglue_bench_cli):
    store = tmp_path / "runs.jsonl"
    code, out, err = jglue_bench_cli(
        "train",
        "-m",
        "hydra/launcher=submitit_local",
        "task=jsts,jnli",
        f"results.path={store}",
        f"output_dir={tmp_path / 'sweep'}",
        *SMALL,
    )
    assert code == 0, err
    assert sorted(r["task"]["name"] for r in store_lines(store)) == ["jnli", "jsts"]
    assert len({r["experiment"]["job"] for r in store_lines(store)}) == 2


@pytest.mark.slow
def test_a_killed_sweep_finishes_only_its_missing_cells(real_data, tmp_path, cache_dir):
    store = tmp_path / "runs.jsonl"
    command = [
        sys.executable,
        "-m",
        "jglue_bench.cli",
        "train",
        "-m",
        "experiment=paper",
        "task=jsts,jcommonsenseqa",
        f"data.dir={real_data}",
        f"results.path={store}",
        f"output_dir={tmp_path / 'sweep'}",
        "save_model=false",
        "trainer.progress_bar=false",
        "data.max_train_samples=2000",
        "num_train_epochs=1",
        "learning_rate=1e-3,5e-4",
    ]
    env = {**os.environ, "JGLUE_BENCH_CACHE": str(cache_dir), "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while len(store_lines(store)) < 1 and process.poll() is None:
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done = len(store_lines(store))
    assert 1 <= done < 4
    again = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    assert again.stdout.count("skip: ") == done and len(store_lines(store)) == 4


def test_the_robust_choice_reads_a_config_whose_peft_is_null(tmp_path):
    from omegaconf import OmegaConf

    from jglue_bench.records.choice import paper_choice

    store = tmp_path / "runs.jsonl"
    lines = [json.dumps(record("jnli", 3e-5, 4, 89.4)), json.dumps(record("jnli", 5e-5, 3, 88.1))]
    store.write_text("\n".join(lines) + "\n", encoding="utf-8")
    root = OmegaConf.create(
        {
            "task": {"name": "jnli"},
            "model": {
                "name": "line_distilbert",
                "pretrained": "line-corporation/line-distilbert-base-japanese",
                "peft": None,
            },
            "results": {"path": str(store)},
        }
    )
    assert paper_choice("learning_rate", _root_=root) == 3e-5
