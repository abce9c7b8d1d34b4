"""The protocols other papers publish: llm-jp-modernbert's wider grid (experiment=wide_grid, labelled
wider_grid_max) and JMTEB's frozen embeddings for JSTS (experiment=frozen_embedding, no training)."""

from __future__ import annotations

import itertools
import json
import math
from pathlib import Path

import pytest
import yaml
from test_report import make_record

from jglue_bench.report import tables

REPO = Path(__file__).resolve().parent.parent


def wide_grid_cells() -> set[tuple[float, float]]:
    experiment = yaml.safe_load((REPO / "configs" / "experiment" / "wide_grid.yaml").read_text(encoding="utf-8"))
    params = experiment["hydra"]["sweeper"]["params"]
    rates = [float(value) for value in str(params["learning_rate"]).split(",")]
    epochs = [float(value) for value in str(params["num_train_epochs"]).split(",")]
    return set(itertools.product(rates, epochs))


def test_the_experiment_sweeps_the_grid_the_label_names():
    assert wide_grid_cells() == tables.WIDE_GRID and len(tables.WIDE_GRID) == 36


def test_the_best_of_the_36_cells_is_labelled_wider_grid_max():
    cells = sorted(tables.WIDE_GRID)
    records = [
        make_record(
            task="jsts",
            protocol="paper",
            lr=lr,
            epochs=int(epochs),
            main_metric="pearson",
            scores={"valid": {"pearson": 80.0 + index / 10, "spearman": 70.0}},
        )
        for index, (lr, epochs) in enumerate(cells)
    ]
    [choice] = tables.paper_choices(records)
    assert (choice.label, choice.cells, choice.scores["valid"]["pearson"]) == ("wider_grid_max", 36, 83.5)
    [row] = tables.paper_table(records).rows
    assert row["label"] == "wider_grid_max"
    [partial] = tables.paper_choices(records[:-1])  # a cell missing: not the published experiment
    assert partial.label == "other_grid"


@pytest.mark.slow
def test_train_wide_grid_runs_36_cells_and_report_picks_the_labelled_best(jglue_bench_cli, tmp_path):
    store = tmp_path / "runs.jsonl"
    code, _, err = jglue_bench_cli(
        "train",
        "-m",
        "experiment=wide_grid",
        "task=jsts",
        "model=tiny",
        "data.max_train_samples=16",
        "data.max_eval_samples=32",
        "save_model=false",
        "trainer.progress_bar=false",
        f"results.path={store}",
        f"output_dir={tmp_path / 'sweep'}",
    )
    assert code == 0, err
    records = [json.loads(line) for line in store.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 36 and {r["protocol"] for r in records} == {"paper"}
    code, out, _ = jglue_bench_cli("report", "--results", str(store), "--protocol", "paper", "--format", "json")
    [row] = json.loads(out)["tables"][0]["rows"]
    assert (row["label"], row["cells"]) == ("wider_grid_max", 36)
    assert row["pearson"] == pytest.approx(max(r["metrics"]["pearson"] for r in records), abs=1e-4)


def test_frozen_embedding_scores_jsts_without_training(jglue_bench_cli, tmp_path):
    store = tmp_path / "runs.jsonl"
    code, out, err = jglue_bench_cli(
        "train", "experiment=frozen_embedding", "model=tiny", f"results.path={store}", f"output_dir={tmp_path / 'run'}"
    )
    assert code == 0, err
    [record] = [json.loads(line) for line in store.read_text(encoding="utf-8").splitlines()]
    assert (record["protocol"], record["run_kind"], record["main_metric"]) == (
        "frozen_embedding",
        "frozen_embedding",
        "spearman",
    )
    assert record["history"] == [] and record["task"]["train_split"] is None
    assert record["frozen_embedding"] == {"pooling": "mean", "similarity": "cosine", "trained": False}
    rows = [
        json.loads(line)
        for line in (tmp_path / "run" / "predictions-valid.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert rows and all(-1.0 - 1e-6 <= row["prediction"] <= 1.0 + 1e-6 for row in rows)
    # Spearman over the file's cosines and golds, computed here by ranks (no ties among random cosines)
    from scipy.stats import spearmanr

    expected = 100 * spearmanr([r["gold"] for r in rows], [r["prediction"] for r in rows]).statistic
    assert record["metrics"]["spearman"] == pytest.approx(expected, abs=1e-6) and not math.isnan(expected)
    assert "frozen_embedding" in out  # the report label of the run
    # another pooling is another experiment, not a skipped repeat
    code, _, err = jglue_bench_cli(
        "train",
        "experiment=frozen_embedding",
        "model=tiny",
        "frozen_embedding.pooling=cls",
        f"results.path={store}",
        f"output_dir={tmp_path / 'cls'}",
    )
    assert code == 0, err
    assert len(store.read_text(encoding="utf-8").splitlines()) == 2


def test_frozen_embedding_refuses_tasks_that_are_not_sentence_pair_regression(jglue_bench_cli, tmp_path):
    code, _, err = jglue_bench_cli(
        "train",
        "experiment=frozen_embedding",
        "task=jnli",
        "model=tiny",
        f"results.path={tmp_path / 'runs.jsonl'}",
        f"output_dir={tmp_path / 'run'}",
    )
    assert code == 2 and "scores sentence-pair regression tasks (JSTS); task jnli is classification" in err
    assert not (tmp_path / "runs.jsonl").exists()
