"""Few-shot records in `report`: a method column beside fine-tuned runs, and published few-shot rows paired only
with ours of the same setting (preset, prompt version, shots)."""

from __future__ import annotations

import pytest

from jglue_bench.errors import DataError
from jglue_bench.records.published import parse_row
from jglue_bench.report import compare, tables


def record(model: str, protocol: str, accuracy: float, run_kind: str = "train", run_id: str = "r1") -> dict:
    return {
        "run_id": run_id,
        "created_at": "2026-12-05T00:00:00+00:00",
        "run_kind": run_kind,
        "task": {"name": "jnli", "data_version": "1.3", "data_source": "local", "train_split": None},
        "model": {"name": model},
        "split": "valid",
        "metrics": {"accuracy": accuracy},
        "main_metric": "accuracy",
        "protocol": protocol,
        **({"chance": {"valid": {"accuracy": 33.3333}}} if run_kind == "fewshot" else {}),
    }


def published(protocol: str, value: str) -> object:
    cells = ["llm", "", "jnli", "accuracy", value, "", "1.3", "valid", protocol, "https://example.org/x", ""]
    return parse_row("test.csv", 2, cells)


RECORDS = [
    record("tiny", "single", 55.0),
    record("llm", "fewshot/ja_leaderboard/3shot", 40.0, "fewshot", "r2"),
    record("llm", "fewshot/ja_leaderboard/0shot", 30.0, "fewshot", "r3"),
]


def test_runs_table_names_the_method_of_each_row():
    table = tables.runs_table(RECORDS)
    assert "method" in table.columns
    assert {(row["model"], row["method"], row["protocol"]) for row in table.rows} == {
        ("tiny", "fine-tune", "single"),
        ("llm", "few-shot", "fewshot/ja_leaderboard/3shot"),
        ("llm", "few-shot", "fewshot/ja_leaderboard/0shot"),
    }
    assert {row["model"]: row["chance"] for row in table.rows if row["method"] == "few-shot"} == {
        "llm": "33.33 accuracy"
    }
    assert "method" not in tables.runs_table(RECORDS[:1]).columns  # a fine-tuning store keeps its layout


def test_published_fewshot_rows_pair_with_the_same_setting_only():
    scores = tables.scores_for(RECORDS, "all")
    rows = compare.published_table(scores, [published("fewshot/ja_leaderboard/3shot", "45.5")]).rows
    assert [(row["ours"].mean, row["delta"], row["differs"]) for row in rows] == [(40.0, pytest.approx(-5.5), "")]
    assert compare.published_table(scores, [published("fewshot/ja_leaderboard/2shot", "45.5")]).rows == []
    # a fine-tuning row of the same model never pairs with a few-shot number
    assert compare.published_table(scores, [published("single_run", "45.5")]).rows == []


def test_a_published_protocol_must_be_a_known_label_or_a_fewshot_setting():
    with pytest.raises(DataError, match="fewshot/<preset>"):
        published("fewshot/ja leaderboard", "45.5")
