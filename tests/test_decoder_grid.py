"""experiment=decoder_lora (issue #22): the paper protocol for decoders with LoRA, lr {1e-4, 3e-4, 1e-3} x epochs
{1, 2, 3}, and its robust follow-up. The quick test checks the cells the sweep launches (train itself replaced by
a recorder); the slow one trains the nine cells of a random Llama over the llm-jp v3 tokenizer on JSTS, checks
that `report --protocol paper` picks the best of them on dev and that the robust protocol runs that cell."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest
from conftest import shared_models_dir

from jglue_bench.train import loop as train_loop
from jglue_bench.train.loop import RunResult

RATES, EPOCHS = (1e-4, 3e-4, 1e-3), (1, 2, 3)


def launched_cells(jglue_bench_cli, monkeypatch, tmp_path, *overrides: str) -> list[dict]:
    """The configs `jglue-bench train -m ...` hands to train(cfg), one per cell, without training."""
    cells = []

    def record_cell(cfg, output_dir=None, sweep=None):
        cells.append(
            {
                "task": cfg.task.name,
                "learning_rate": float(cfg.learning_rate),
                "num_train_epochs": int(cfg.num_train_epochs),
                "protocol": cfg.protocol,
                "seed": cfg.seed,
                "peft": cfg.model.peft.method,
                "pretrained": cfg.model.pretrained,
                "max_train_samples": cfg.data.max_train_samples,
                "eval_split": cfg.data.eval_split,
            }
        )
        return RunResult({"accuracy": 0.0}, {"main_metric": "accuracy"}, Path(output_dir), skipped=True)

    monkeypatch.setattr(train_loop, "train", record_cell)
    code, _, err = jglue_bench_cli("train", "-m", *overrides, f"output_dir={tmp_path / 'sweep'}")
    assert code == 0, err
    return cells


def test_decoder_lora_sweeps_the_nine_cells_with_lora(jglue_bench_cli, monkeypatch, tmp_path):
    cells = launched_cells(
        jglue_bench_cli,
        monkeypatch,
        tmp_path,
        "experiment=decoder_lora",
        "task=jnli",
        "model=causal_lm",
        "model.pretrained=DIR",
        "data.max_train_samples=64",
    )
    assert sorted((cell["learning_rate"], cell["num_train_epochs"]) for cell in cells) == sorted(
        itertools.product(RATES, EPOCHS)
    )
    assert {
        (cell["task"], cell["protocol"], cell["seed"], cell["peft"], cell["pretrained"], cell["max_train_samples"])
        for cell in cells
    } == {("jnli", "paper", 42, "lora", "DIR", 64)}
    assert {cell["eval_split"] for cell in cells} == {"valid"}


@pytest.mark.slow
def test_decoder_lora_sweeps_three_tasks_and_robust_five_seeds_each(jglue_bench_cli, monkeypatch, tmp_path):
    # without task=..., the three task kinds decoders fine-tune on, nine cells each
    every_task = launched_cells(
        jglue_bench_cli, monkeypatch, tmp_path, "experiment=decoder_lora", "model=causal_lm", "model.pretrained=DIR"
    )
    assert sorted({cell["task"] for cell in every_task}) == ["jcommonsenseqa", "jnli", "jsts"]
    assert len(every_task) == 27


@pytest.mark.slow
def test_decoder_lora_grid_trains_report_picks_the_best_cell_and_robust_runs_it(real_data, jglue_bench_cli, tmp_path):
    from jglue_bench.fewshot.tiny import build_tiny_decoder

    model_file = shared_models_dir() / "llm-jp-tokenizer-v3" / "llm-jp-tokenizer-100k.ver3.0b1.model"
    if not model_file.is_file():
        pytest.skip(f"the llm-jp v3 SentencePiece model is not at {model_file} (set JGLUE_MODELS_DIR)")
    folder = build_tiny_decoder(model_file, tmp_path / "decoder", hidden=32)
    store = tmp_path / "runs.jsonl"
    common = [
        "task=jsts",  # the JGLUE release has no JNLI train file
        "model=causal_lm",
        f"model.pretrained={folder}",
        "model.name=tiny_llama",
        f"data.dir={real_data}",
        "data.max_train_samples=16",
        "data.max_eval_samples=32",
        "save_model=false",
        "trainer.progress_bar=false",
        f"results.path={store}",
    ]
    code, _, err = jglue_bench_cli("train", "-m", "experiment=decoder_lora", *common, f"output_dir={tmp_path / 'p'}")
    assert code == 0, err
    records = [json.loads(line) for line in store.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 9 and {r["protocol"] for r in records} == {"paper"}
    assert all(r["model"]["peft"]["method"] == "lora" for r in records)
    code, out, _ = jglue_bench_cli("report", "--results", str(store), "--protocol", "paper", "--format", "json")
    [row] = json.loads(out)["tables"][0]["rows"]
    assert (row["label"], row["cells"]) == ("other_grid", 9)
    best = max(r["metrics"]["pearson"] for r in records)
    assert row["pearson"] == pytest.approx(best, abs=1e-4)
    robust = ["experiment=decoder_lora_robust", "seed=1,2", *common, f"output_dir={tmp_path / 'r'}"]
    code, _, err = jglue_bench_cli("train", "-m", *robust)
    assert code == 0, err
    runs = [json.loads(line) for line in store.read_text(encoding="utf-8").splitlines()][9:]
    assert len(runs) == 2 and {(r["protocol"], r["split"], r["model"]["peft"]["method"]) for r in runs} == {
        ("robust", "test", "lora")
    }
    chosen = [r for r in records if r["metrics"]["pearson"] == best][0]["hyperparameters"]  # a tie: the first
    assert all(
        r["hyperparameters"]["learning_rate"] == chosen["learning_rate"]
        and r["hyperparameters"]["num_train_epochs"] == chosen["num_train_epochs"]
        for r in runs
    )
