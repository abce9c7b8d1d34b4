"""The `jglue-bench` command as a user runs it: help texts, the offline main job, sweeps, data and reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def run_cli(*args: str, cwd: Path, env_extra: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", **(env_extra or {})}
    env.pop("JGLUE_DATA_DIR", None) if env_extra is None or "JGLUE_DATA_DIR" not in env_extra else None
    return subprocess.run(
        [sys.executable, "-m", "jglue_bench.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["evaluate", "--help"],
        ["predict", "--help"],
        ["data", "verify", "--help"],
        ["data", "stats", "--help"],
        ["data", "validate", "--help"],
        ["data", "download", "--help"],
        ["data", "build-marc-ja", "--help"],
        ["tasks", "--help"],
        ["oracle", "--help"],
        ["report", "--help"],
        ["train", "--help"],
        ["bench", "train", "--help"],
        ["bench", "estimate", "--help"],
    ],
)
def test_every_command_explains_itself_with_an_example(jglue_bench_cli, args):
    code, out, err = jglue_bench_cli(*args)
    assert code == 0, err
    assert "example" in out.lower()


def test_help_tasks_and_report_start_without_torch(tmp_path):
    """`--help`, `tasks` and `report` read YAML and JSON only: a user waits for no deep-learning import."""
    store = tmp_path / "runs.jsonl"
    store.write_text(json.dumps({"task": {"name": "jnli"}, "model": {"name": "tiny"}, "metrics": {}}) + "\n")
    for args in (["--help"], ["tasks"], ["report", "--results", str(store)]):
        code = (
            "import sys; from jglue_bench.cli import main; main(sys.argv[1:]); "
            "assert 'torch' not in sys.modules, 'torch was imported'"
        )
        result = subprocess.run(
            [sys.executable, "-c", code, *args], cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr


def test_tasks_lists_the_six_tasks_and_four_models(tmp_path):
    result = run_cli("tasks", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    for name in (
        "marc_ja",
        "jsts",
        "jnli",
        "jsquad",
        "jcommonsenseqa",
        "jcola",
        "tiny",
        "line_distilbert",
        "bandainamco_distilbert",
        "laboro_distilbert",
    ):
        assert name in result.stdout


def test_main_job_runs_offline_on_the_sample_and_prints_a_table(tmp_path):
    result = run_cli(
        "train", "trainer.progress_bar=false", cwd=tmp_path, env_extra={"JGLUE_BENCH_CACHE": str(tmp_path / "cache")}
    )
    assert result.returncode == 0, result.stderr
    assert "| jnli | tiny  | v1.3 sample | train -> valid |" in result.stdout
    [record_path] = list((tmp_path / "outputs" / "jnli" / "tiny").glob("*/record.json"))
    record = json.loads(record_path.read_text(encoding="utf-8"))
    store = [json.loads(line) for line in (tmp_path / "results" / "runs.jsonl").read_text().splitlines()]
    assert store == [record]


def test_multirun_sweeps_write_one_record_per_job(tmp_path, jglue_bench_cli):
    code, out, err = jglue_bench_cli(
        "train", "-m", "learning_rate=5e-4,1e-4", "num_train_epochs=1", "save_model=false", "trainer.progress_bar=false"
    )
    assert code == 0, err
    records = [json.loads(line) for line in (tmp_path / "work" / "results" / "runs.jsonl").read_text().splitlines()]
    assert sorted(record["hyperparameters"]["learning_rate"] for record in records) == [1e-4, 5e-4]
    assert len({record["output_dir"] for record in records}) == 2
    assert ": 2 runs" in out  # the sweep ends with one table of all its runs
    code, out, err = jglue_bench_cli("report")
    assert code == 0 and out.count("| jnli ") == 2


def test_a_sweep_whose_cells_fail_lists_them_and_exits_2(tmp_path, jglue_bench_cli):
    # a model.pretrained path in the overrides once nested the job folders, and the failed cells went unseen (exit 0)
    missing = tmp_path / "no" / "such" / "folder"
    code, out, err = jglue_bench_cli(
        "train", "-m", "task=jsts", "model=causal_lm", f"model.pretrained={missing}", "learning_rate=1e-4,2e-4",
        f"output_dir={tmp_path / 'sweep'}",
    )  # fmt: skip
    assert code == 2
    assert err.count(f"model.pretrained {missing} is not a folder") == 2
    assert "2 cells failed:" in out
    assert f"learning_rate=0.0002 model=causal_lm task=jsts: model.pretrained {missing} is not a folder" in out
    assert sorted(path.name for path in (tmp_path / "sweep").iterdir() if path.is_dir()) == [
        "0_learning_rate=0.0001,model=causal_lm,task=jsts",
        "1_learning_rate=0.0002,model=causal_lm,task=jsts",
    ]


def test_data_verify_on_the_real_files(tmp_path, real_data):
    result = run_cli("data", "verify", "--dir", str(real_data), "--version", "1.3", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stdout.splitlines() if line.startswith("jnli-v1.3/test-v1.3.json")]
    assert line.split()[1:3] == ["2508", "2508"] and line.endswith("ok")


def test_data_verify_fails_on_a_file_that_differs_from_the_release(tmp_path, real_data):
    folder = tmp_path / "data" / "jsts-v1.3"
    folder.mkdir(parents=True)
    lines = (real_data / "jsts-v1.3" / "valid-v1.3.json").read_text(encoding="utf-8").splitlines()
    (folder / "valid-v1.3.json").write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")
    result = run_cli("data", "verify", "--dir", str(tmp_path / "data"), "--version", "1.3", cwd=tmp_path)
    assert result.returncode == 1
    assert "count 1456 != official 1457; checksum differs from the release" in result.stdout


def test_data_stats_counts_the_sample(jglue_bench_cli, monkeypatch):
    monkeypatch.delenv("JGLUE_DATA_DIR", raising=False)
    code, out, err = jglue_bench_cli("data", "stats", "task=jnli")
    assert code == 0, err
    counts = [line.split()[:2] for line in out.splitlines() if line.strip().endswith(".json")]
    assert counts == [["train", "40"], ["valid", "20"], ["test", "20"]]
    assert "labels entailment 14, contradiction 13, neutral 13" in out


def test_evaluate_on_a_folder_that_is_not_a_run_is_a_clear_error(tmp_path, jglue_bench_cli):
    code, out, err = jglue_bench_cli("evaluate", str(tmp_path))
    assert code == 2 and "Traceback" not in err
    assert "is not a jglue-bench run folder" in err


@pytest.mark.slow
def test_oracle_compares_two_tokenizers_on_jsquad_dev_in_one_command(tmp_path, real_data, bandainamco_dir):
    from jglue_bench.data.download import file_sha256
    from jglue_bench.data.releases import release_file_at

    dev = real_data / "jsquad-v1.3" / "valid-v1.3.json"
    if not dev.is_file() or file_sha256(dev) != release_file_at("jsquad-v1.3/valid-v1.3.json").sha256:
        pytest.skip(f"{dev} is not the pinned JSQuAD v1.3 dev file, for which the oracle numbers are known")
    result = run_cli(
        "oracle",
        "--model",
        f"bandainamco_distilbert={bandainamco_dir}",
        "--model",
        "tiny",
        f"data.dir={real_data}",
        cwd=tmp_path,
        env_extra={"JGLUE_BENCH_CACHE": str(tmp_path / "c")},
    )
    assert result.returncode == 0, result.stderr
    lines = {
        line.split("|")[1].strip(): [cell.strip() for cell in line.split("|")[2:-1]]
        for line in result.stdout.splitlines()
        if line.startswith("| ")
    }
    assert lines["JSQuAD oracle"] == ["bandainamco_distilbert (mecab_wordpiece)", "tiny (mecab_sentencepiece)"]
    # Pinned: the v1.3 dev file is pinned by sha256, the BandaiNamco vocab is the real one, and the tiny
    # tokenizer is built from the bundled sample; these numbers are the README's.
    assert lines["questions"] == ["4,442", "4,442"]
    assert lines["windows (features)"] == ["4,454", "4,562"]
    assert lines["gold answer inside a window"] == ["4,442 (100.00%)", "4,442 (100.00%)"]
    assert lines["gold answer on token boundaries"] == ["4,388 (98.78%)", "4,435 (99.84%)"]
    assert lines["oracle exact match"] == ["99.57", "100.00"]
    assert lines["oracle F1"] == ["99.95", "100.00"]
    assert lines["oracle exact match, rebuilt from tokens (JGLUE)"] == ["97.39", "91.06"]
    assert lines["oracle F1, rebuilt from tokens (JGLUE)"] == ["99.51", "98.73"]
