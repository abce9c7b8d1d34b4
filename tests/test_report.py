"""`jglue-bench report`: the tables computed from hand-made records with hand-computed expected numbers."""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

from jglue_bench.errors import UserError
from jglue_bench.records.published import COLUMNS, load_published
from jglue_bench.report import compare as report_compare
from jglue_bench.report import render as report_render
from jglue_bench.report import tables as report
from jglue_bench.report.cli import add_report_parser, run_report

PUBLISHED = Path(__file__).resolve().parent.parent / "results" / "published"
_counter = iter(range(1, 10**6))


def make_record(
    model: str = "line_distilbert",
    task: str = "jnli",
    scores: dict | None = None,
    protocol: str = "single",
    seed: int = 42,
    lr: float = 5e-5,
    epochs: int = 3,
    version: str = "1.3",
    main_metric: str = "accuracy",
    run_kind: str = "train",
    **extra,
) -> dict:
    """A minimal run record as records.build_record writes it; `scores`: {split: {metric: value x100}}."""
    scores = scores or {"valid": {"accuracy": 90.0}}
    number = next(_counter)
    first = next(iter(scores))
    return {
        "run_id": f"run{number:06d}",
        "created_at": f"2026-01-01T00:{number // 60 % 60:02d}:{number % 60:02d}+00:00",
        "run_kind": run_kind,
        "protocol": protocol,
        "task": {
            "name": task,
            "kind": "classification",
            "data_version": version,
            "data_source": "jglue-release",
            "train_split": "train" if run_kind == "train" else None,
            "eval_splits": list(scores),
        },
        "model": {"name": model, "pretrained": None, "num_parameters": 68_000_000},
        "split": first,
        "metrics": scores[first],
        "eval_metrics": scores,
        "main_metric": main_metric,
        "seed": seed,
        "hyperparameters": {
            "learning_rate": lr,
            "num_train_epochs": epochs,
            "batch_size": 32,
            "max_seq_length": 128,
            "precision": "fp32",
        },
        "device": {"type": "cuda", "name": "NVIDIA H100", "num_processes": 1, "precision": "fp32"},
        "wall_time_s": 100.0,
        "throughput": {"train_samples_per_s": 500.0, "eval_samples_per_s": 2000.0},
        **extra,
    }


def write_store(path: Path, records: list, extra_lines: dict | None = None) -> Path:
    lines = [json.dumps(record) for record in records]
    for position, text in sorted((extra_lines or {}).items()):
        lines.insert(position - 1, text)  # 1-based line number the text ends up on
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def cli(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="jglue-bench")
    add_report_parser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(["report", *argv])


def render(capsys, *argv: str) -> str:
    args = cli(*argv)
    args.handler(args)
    return capsys.readouterr().out


def paper_grid() -> list[dict]:
    """Six cells of JGLUE's grid for JNLI. Dev picks lr 3e-5 x 4 epochs (89.5); test would pick another cell."""
    dev_test = {
        (5e-5, 3): (88.0, 86.0),
        (5e-5, 4): (87.0, 87.9),
        (3e-5, 3): (89.0, 87.0),
        (3e-5, 4): (89.5, 87.2),
        (2e-5, 3): (88.8, 88.1),
        (2e-5, 4): (86.0, 85.0),
    }
    return [
        make_record(
            protocol="paper", lr=lr, epochs=epochs, scores={"valid": {"accuracy": dev}, "test": {"accuracy": test}}
        )
        for (lr, epochs), (dev, test) in dev_test.items()
    ]


# ---- (b) paper ---------------------------------------------------------------------------------------------


def test_paper_reports_the_grid_cell_that_is_best_on_dev():
    records = paper_grid() + [make_record(protocol="single", scores={"valid": {"accuracy": 99.0}})]  # not a cell
    [choice] = report.paper_choices(records)
    assert choice.chosen["hyperparameters"]["learning_rate"] == 3e-5
    assert choice.chosen["hyperparameters"]["num_train_epochs"] == 4
    assert choice.scores == {"valid": {"accuracy": 89.5}, "test": {"accuracy": 87.2}}
    assert choice.cells == 6
    table = report.paper_table(records)
    assert [(row["split"], row["accuracy"], row["cells"], row["lr"], row["epochs"]) for row in table.rows] == [
        ("valid", 89.5, 6, "3e-05", "4"),
        ("test", 87.2, 6, "3e-05", "4"),
    ]
    assert table.rows[0]["grid"] == "lr 2e-05,3e-05,5e-05 x epochs 3,4"


def test_paper_keeps_a_later_test_evaluation_of_the_chosen_cell():
    records = paper_grid()
    records.append(
        make_record(protocol="paper", lr=3e-5, epochs=4, run_kind="evaluate", scores={"test": {"accuracy": 87.4}})
    )  # the chosen cell evaluated again on test
    [choice] = report.paper_choices(records)
    assert choice.scores == {"valid": {"accuracy": 89.5}, "test": {"accuracy": 87.4}} and choice.cells == 6


# ---- (c) robust --------------------------------------------------------------------------------------------


def test_robust_mean_and_sample_std_by_hand():
    # accuracy 80, 82, 87: mean 83; deviations -3, -1, 4; squares 9 + 1 + 16 = 26; / (3 - 1) = 13; std = sqrt(13)
    records = [
        make_record(protocol="robust", seed=seed, scores={"valid": {"accuracy": value}})
        for seed, value in ((2, 82.0), (1, 80.0), (3, 87.0))
    ]
    records.append(make_record(protocol="robust", seed=1, lr=2e-5, scores={"valid": {"accuracy": 70.0}}))  # own group
    table = report.robust_table(records)
    [row, other] = sorted(table.rows, key=lambda row: row["lr"], reverse=True)
    assert row["n"] == 3 and row["seeds"] == "1 2 3" and row["accuracy"].mean == pytest.approx(83.0)
    assert row["accuracy"].std == pytest.approx(13**0.5)
    assert other["n"] == 1 and other["accuracy"] == report.Spread(70.0, None)
    markdown = report_render.render_markdown_table(table)
    assert "| 83.00 ± 3.61 | 80.00 82.00 87.00 " in markdown
    rows = {row["lr"]: row for row in csv.DictReader(io.StringIO(report_render.render_csv(table)))}
    assert (rows["5e-05"]["accuracy"], rows["5e-05"]["accuracy std"], rows["5e-05"]["accuracy per seed"]) == (
        "83.0000",
        "3.6056",
        "80.0000 82.0000 87.0000",
    )
    assert rows["2e-05"]["accuracy std"] == ""  # one seed: no sample std
    [score] = report.scores_for(records, "robust")  # the setting with the best dev mean stands for the model
    assert (score.value, score.n) == (pytest.approx(83.0), 3)


# ---- (d) ours beside published -----------------------------------------------------------------------------


def published_as_records(scores) -> list[dict]:
    """Each published evaluation turned into a record, as if we had run it."""
    grouped = {}
    for score in scores:
        grouped.setdefault((score.file, score.model, score.task, score.data_version, score.split), {})[score.metric] = (
            score.value
        )
    return [
        make_record(model=model, task=task, version=version, scores={split: metrics}, main_metric=next(iter(metrics)))
        for (_, model, task, version, split), metrics in sorted(grouped.items())
    ]


def test_published_numbers_as_our_records_give_zero_deltas():
    # fine-tuning rows: a few-shot row pairs only with a few-shot record (tests/test_fewshot_report.py)
    published = [row for row in load_published(PUBLISHED) if not row.protocol.startswith("fewshot/")]
    records = published_as_records(published)
    table = report_compare.published_table(report.scores_for(records, "single"), published)
    assert len(table.rows) == len(published)  # every published number found its own evaluation
    # same data, same split; but one single run is no source's protocol, and the table says so
    assert all(row["delta"] == 0 and row["differs"] == "protocol" for row in table.rows)
    assert {row["ours protocol"] for row in table.rows} == {"single_run (single)"}
    assert "+0.00" in report_render.render_markdown_table(table) and "-0.00" not in report_render.render_markdown_table(
        table
    )


def test_a_different_data_version_or_split_is_flagged():
    published = load_published(PUBLISHED)
    records = [
        make_record(scores={"valid": {"accuracy": 89.4}}),  # ours: JNLI v1.3 valid
        make_record(
            model="tohoku_bert_base",
            task="jcola",
            version="1.0",
            main_metric="mcc",
            scores={"valid": {"mcc": 30.0}, "valid_out_of_domain": {"mcc": 20.0}},
        ),
    ]
    rows = report_compare.published_table(report.scores_for(records, "single"), published).rows
    [line] = [row for row in rows if row["model"] == "line_distilbert"]
    assert (line["ours data"], line["published data"], line["differs"]) == (
        "v1.3 valid",
        "v1.1 valid",
        "data version, protocol",
    )  # the card states no protocol: not ours
    assert line["delta"] == pytest.approx(89.4 - 88.9)
    jcola = {row["published data"]: row for row in rows if row["task"] == "jcola"}
    assert jcola["v1.0 test"]["ours data"] == "v1.0 valid" and jcola["v1.0 test"]["differs"] == "split, protocol"
    assert jcola["v1.0 test_out_of_domain"]["ours data"] == "v1.0 valid_out_of_domain"  # same domain
    assert jcola["v1.0 test"]["published"] == report.Spread(35.0, 2.7)
    assert jcola["v1.0 test"]["delta"] == pytest.approx(30.0 - 35.0)


def test_jsquad_is_compared_with_the_official_metric_when_the_record_has_it():
    published = load_published(PUBLISHED)
    scores = {"valid": {"exact_match": 86.0, "f1": 92.0, "exact_match_official": 84.1, "f1_official": 91.9}}
    records = [
        make_record(model="bandainamco_distilbert", task="jsquad", version="1.1", main_metric="f1", scores=scores),
        make_record(
            model="laboro_distilbert",
            task="jsquad",
            version="1.1",
            main_metric="f1",
            scores={"valid": {"exact_match": 71.0, "f1": 87.0}},
        ),
    ]
    rows = {
        (row["model"], row["metric"]): row
        for row in report_compare.published_table(report.scores_for(records, "single"), published).rows
    }
    em = rows[("bandainamco_distilbert", "exact_match")]
    assert em["ours metric"] == "exact_match_official" and em["delta"] == pytest.approx(84.1 - 80.0)
    assert rows[("bandainamco_distilbert", "f1")]["delta"] == pytest.approx(91.9 - 88.0)
    assert rows[("laboro_distilbert", "exact_match")]["ours metric"] == "exact_match"
    assert rows[("laboro_distilbert", "exact_match")]["delta"] == pytest.approx(71.0 - 70.2)


def paper_rows(records: list[dict], model: str = "waseda_roberta_base", task: str = "jnli") -> dict:
    rows = report_compare.published_table(report.scores_for(records, "paper"), load_published(PUBLISHED)).rows
    return {
        (row["source"], row["published data"]): row for row in rows if row["model"] == model and row["task"] == task
    }


def test_a_protocol_difference_is_named_and_the_same_protocol_is_not():
    # JGLUE's grid at seed 42 (dev picks 89.5, its test 87.2), as Waseda RoBERTa base on JNLI v1.3
    rows = paper_rows([{**record, "model": {"name": "waseda_roberta_base"}} for record in paper_grid()])
    jglue = rows[("jglue_readme_v1.3", "v1.3 valid")]  # JGLUE README: same grid, fixed seed: the same protocol
    assert (jglue["differs"], jglue["delta"], jglue["published protocol"]) == (
        "",
        pytest.approx(89.5 - 90.0),
        "jglue_grid_fixed_seed",
    )
    assert jglue["ours protocol"] == "jglue_grid_fixed_seed (paper)"
    assert rows[("jglue_readme_v1.3", "v1.3 test")]["delta"] == pytest.approx(87.2 - 87.6)
    nobu = rows[("jglue_evaluation_scripts_readme", "v1.1 valid")]  # nobu-g: the seed was not fixed, data v1.1
    assert (nobu["differs"], nobu["delta"]) == ("data version, protocol", pytest.approx(89.5 - 90.5))
    assert nobu["published protocol"] == "jglue_grid_unfixed_seed"
    table = report_compare.published_table(report.scores_for(paper_grid(), "paper"), load_published(PUBLISHED))
    assert not any("`wider_grid_max`" in note for note in table.notes)  # only the labels the rows use


def test_a_wider_grid_maximum_is_a_protocol_difference():
    records = [
        make_record(
            model="llm_jp_modernbert_base",
            task="jsts",
            version="1.3",
            main_metric="pearson",
            protocol="paper",
            lr=lr,
            epochs=epochs,
            scores={"valid": {"pearson": 90.0 + lr * 1e4}},
        )
        for lr in (2e-5, 3e-5, 5e-5)
        for epochs in (3, 4)
    ]
    [row] = paper_rows(records, "llm_jp_modernbert_base", "jsts").values()
    # best cell: lr 5e-5 -> 90.5; published 91.8 is the best of 36 cells
    assert (row["delta"], row["differs"]) == (pytest.approx(90.5 - 91.8), "data version, protocol")
    assert row["published protocol"] == "wider_grid_max"
    table = report_compare.published_table(report.scores_for(records, "paper"), load_published(PUBLISHED))
    assert "`wider_grid_max`: the best cell on dev of a grid wider than JGLUE's." in table.notes


@pytest.mark.parametrize(
    "change, why",
    [
        (lambda records: records[:5], "five of the six cells"),
        (
            lambda records: [
                *records,
                {**records[0], "hyperparameters": {**records[0]["hyperparameters"], "learning_rate": 1e-4}},
            ],
            "a seventh cell",
        ),
        (lambda records: [*records, {**records[0], "seed": 7}], "a second seed"),
    ],
)
def test_a_paper_protocol_over_another_grid_is_not_jglues(change, why):
    records = change([{**record, "model": {"name": "waseda_roberta_base"}} for record in paper_grid()])
    [choice] = report.paper_choices(records)
    assert choice.label == "other_grid", why
    row = paper_rows(records)[("jglue_readme_v1.3", "v1.3 valid")]
    assert (row["ours protocol"], row["differs"]) == ("other_grid (paper)", "protocol")


def test_the_robust_protocol_is_a_seed_mean():
    records = [
        make_record(model="waseda_roberta_base", protocol="robust", seed=seed, scores={"test": {"accuracy": value}})
        for seed, value in ((1, 87.0), (2, 88.0))
    ]
    rows = report_compare.published_table(report.scores_for(records, "robust"), load_published(PUBLISHED)).rows
    [test] = [row for row in rows if row["published data"] == "v1.3 test" and row["task"] == "jnli"]
    assert (test["ours protocol"], test["differs"], test["delta"]) == (
        "seed_mean (robust)",
        "protocol",
        pytest.approx(87.5 - 87.6),
    )


def test_a_model_config_published_key_pairs_a_record_with_its_rows():
    luke = {"valid": {"accuracy": 91.0}}
    records = [
        make_record(model="luke_base", scores=luke, config={"model": {"published": "luke_japanese_base_lite"}}),
        make_record(model="luke_japanese_large_lite", scores=luke, config={"model": {"published": None}}),
        make_record(model="my_luke", scores=luke),
    ]  # no key: its own name, which no source uses
    scores = report.scores_for(records, "single")
    assert {s.model: s.published_id for s in scores} == {
        "luke_base": "luke_japanese_base_lite",
        "luke_japanese_large_lite": "luke_japanese_large_lite",
        "my_luke": "my_luke",
    }
    table = report_compare.published_table(scores, load_published(PUBLISHED))
    rows = {(row["model"], row["source"]): row for row in table.rows}
    assert set(rows) == {
        ("luke_base", "studio_ousia_luke_readme"),
        ("luke_japanese_large_lite", "studio_ousia_luke_readme"),
    }
    assert rows[("luke_base", "studio_ousia_luke_readme")]["delta"] == pytest.approx(91.0 - 91.2)  # base JNLI 0.912
    assert rows[("luke_japanese_large_lite", "studio_ousia_luke_readme")]["delta"] == pytest.approx(91.0 - 92.7)
    assert (
        "ours `luke_base` is compared with the published rows of `luke_japanese_base_lite` (its model config's "
        "`published:` key)."
    ) in table.notes


# ---- (e), (f) ----------------------------------------------------------------------------------------------


def test_model_against_model_and_efficiency():
    records = [
        make_record(scores={"valid": {"accuracy": 89.0}}),
        make_record(model="laboro_distilbert", scores={"valid": {"accuracy": 82.5}}),
        make_record(
            model="laboro_distilbert",
            scores={"valid": {"accuracy": 83.0}},
            wall_time_s=300.0,
            throughput={"train_samples_per_s": 300.0},
        ),
    ]
    models = report_compare.models_table(report.scores_for(records, "single"))
    assert models.columns == ["task", "metric", "data", "laboro_distilbert", "line_distilbert"]
    assert models.rows == [
        {"task": "jnli", "metric": "accuracy", "data": "v1.3 valid", "laboro_distilbert": 83.0, "line_distilbert": 89.0}
    ]  # laboro: its latest run
    efficiency = {row["model"]: row for row in report_compare.efficiency_table(records).rows}
    laboro = efficiency["laboro_distilbert"]
    assert (laboro["runs"], laboro["train samples/s"], laboro["wall s"], laboro["device"]) == (
        2,
        400.0,
        200.0,
        "NVIDIA H100",
    )
    assert laboro["parameters"] == 68_000_000


# ---- the command -------------------------------------------------------------------------------------------


def mixed_records() -> list[dict]:
    return (
        paper_grid()
        + [
            make_record(protocol="robust", seed=seed, scores={"valid": {"accuracy": value}})
            for seed, value in ((1, 80.0), (2, 82.0), (3, 87.0))
        ]
        + [
            make_record(task="jsts", main_metric="pearson", scores={"valid": {"pearson": 88.1, "spearman": 84.0}}),
            make_record(
                task="jcola",
                version="1.0",
                main_metric="mcc",
                scores={"valid": {"mcc": 30.0, "accuracy": 84.0}, "valid_out_of_domain": {"mcc": 20.0}},
            ),
        ]
    )


WITH_PUBLISHED = ["--published", str(PUBLISHED)]


@pytest.mark.parametrize(
    "argv",
    [
        ["--format", "markdown", "--table", "all", *WITH_PUBLISHED],
        ["--format", "json", "--table", "all", *WITH_PUBLISHED],
        ["--format", "csv", "--protocol", "paper", *WITH_PUBLISHED],
        ["--format", "csv", "--protocol", "robust"],
    ],
)
def test_the_same_records_give_byte_identical_output_in_any_order(tmp_path, capsys, argv):
    records = mixed_records()
    shuffled = records[:]
    random.Random(7).shuffle(shuffled)
    assert shuffled != records
    store = write_store(tmp_path / "runs.jsonl", records)
    other = write_store(tmp_path / "shuffled.jsonl", shuffled)
    first = render(capsys, "--results", str(store), *argv)
    assert first.strip()
    assert render(capsys, "--results", str(store), *argv) == first
    assert render(capsys, "--results", str(other), *argv) == first


def test_csv_has_one_column_per_metric(tmp_path, capsys):
    store = write_store(tmp_path / "runs.jsonl", mixed_records())
    rows = list(csv.DictReader(io.StringIO(render(capsys, "--results", str(store), "--format", "csv"))))
    assert {"accuracy", "mcc", "pearson", "spearman"} <= set(rows[0])
    [jsts] = [row for row in rows if row["task"] == "jsts"]
    assert (jsts["pearson"], jsts["spearman"], jsts["accuracy"]) == ("88.1000", "84.0000", "")
    assert len(rows) == 6 * 2 + 3 + 1 + 2  # one row per record and evaluated split (grid: valid + test)


def test_corrupt_lines_are_reported_on_stderr_with_their_line_numbers(tmp_path, capsys):
    store = write_store(
        tmp_path / "runs.jsonl",
        [make_record(), make_record(model="laboro_distilbert")],
        {2: '{"run_id": "half-writ', 4: "[1, 2]", 5: json.dumps({**make_record(), "device": "cuda"})},
    )
    args = cli("--results", str(store))
    args.handler(args)
    captured = capsys.readouterr()
    assert captured.out.count("| jnli ") == 2
    assert "runs.jsonl, line 2: record: expected one JSON run record on each line, found invalid JSON" in captured.err
    assert "runs.jsonl, line 4: record: expected one JSON run record on each line, found a JSON list" in captured.err
    assert "line 5: record: expected one JSON run record on each line, found 'device' that is not an object" in (
        captured.err
    )


def test_plot_writes_a_png(tmp_path, capsys):
    store = write_store(
        tmp_path / "runs.jsonl",
        mixed_records()
        + [
            make_record(
                task="jsquad",
                main_metric="f1",
                version="1.1",
                scores={"valid": {"exact_match": 85.0, "f1": 92.0, "f1_official": 91.5}},
            )
        ],
    )
    plot = tmp_path / "figures" / "ours.png"
    render(capsys, "--results", str(store), "--published", str(PUBLISHED), "--plot", str(plot))
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "argv, words",
    [
        (["--last", "0"], "--last expects a number of records, 1 or more"),
        (["--last", "-2"], "--last expects"),
        (["--plot", "figure.pdf"], "--plot expects a file name ending in .png"),
        (["--format", "csv", "--table", "all"], "--format csv writes one table"),
    ],
)
def test_user_mistakes_are_one_line_errors(tmp_path, argv, words):
    args = cli("--results", str(write_store(tmp_path / "runs.jsonl", [make_record()])), *argv)
    with pytest.raises(UserError, match=words) as error:
        args.handler(args)
    assert "\n" not in str(error.value)


def test_last_keeps_the_last_records_of_the_store(tmp_path, capsys):
    store = write_store(tmp_path / "runs.jsonl", [make_record(model=f"model_{index}") for index in range(5)])
    out = render(capsys, "--results", str(store), "--last", "2")
    assert "model_3" in out and "model_4" in out and "model_2" not in out


def test_a_missing_or_empty_store_is_a_user_error(tmp_path):
    for path in (tmp_path / "nothing.jsonl", write_store(tmp_path / "empty.jsonl", [])):
        with pytest.raises(UserError, match="does not exist|holds no run records"):
            run_report(cli("--results", str(path)))


def test_bare_published_uses_the_packaged_tables_from_any_directory(tmp_path, capsys, monkeypatch):
    store = write_store(tmp_path / "runs.jsonl", [make_record(scores={"valid": {"accuracy": 89.4}})])
    monkeypatch.chdir(tmp_path)  # no results/published here
    out = render(capsys, "--results", "runs.jsonl", "--published", "--format", "csv")
    [row] = list(csv.DictReader(io.StringIO(out)))
    assert (row["model"], row["source"], row["published"], row["delta"]) == (
        "line_distilbert",
        "line_distilbert_card",
        "88.9000",
        "+0.5000",
    )
    # --table published without --published reads the packaged tables too
    assert "line_distilbert_card" in render(capsys, "--results", str(store), "--table", "published")


def test_published_path_adds_a_users_table_to_the_packaged_ones(tmp_path, capsys, monkeypatch):
    store = write_store(tmp_path / "runs.jsonl", [make_record(scores={"valid": {"accuracy": 89.4}})])
    mine = tmp_path / "mine.csv"
    mine.write_text(
        ",".join(COLUMNS) + "\nline_distilbert,,jnli,accuracy,90.1,,1.3,valid,single_run,"
        "https://example.org/our-lab-notes,our run\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    out = render(
        capsys, "--results", str(store), "--published", "mine.csv", "--published", str(PUBLISHED), "--format", "csv"
    )
    rows = {row["source"]: row for row in csv.DictReader(io.StringIO(out))}
    assert set(rows) == {"line_distilbert_card", "mine"}  # PUBLISHED is the packaged folder: read once
    assert (rows["mine"]["delta"], rows["mine"]["differs"]) == ("-0.7000", "")  # 89.4 - 90.1; same everything


def test_a_missing_published_path_is_one_line_and_exit_2(tmp_path):
    store = write_store(tmp_path / "runs.jsonl", [make_record()])
    environment = {**os.environ, "HF_HUB_OFFLINE": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "jglue_bench.cli", "report", "--results", str(store), "--published", "nowhere.csv"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=environment,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (
        "jglue-bench: error: nowhere.csv does not exist; expected a published-score CSV or a folder of them.\n"
    )


def test_report_modules_import_neither_torch_nor_matplotlib():
    code = (
        "import sys, jglue_bench.report.cli, jglue_bench.report.tables, jglue_bench.records.published; "
        "print(sorted(name for name in ('torch', 'matplotlib', 'numpy', 'transformers') if name in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_markdown_table_keeps_the_runs_layout_train_prints():
    text = report_render.runs_markdown([make_record(model="tiny")])
    assert text.startswith("| task | model | data")
    assert "| jnli | tiny  | v1.3 jglue-release | train -> valid |" in text


def test_with_protocol_all_one_protocol_stands_for_a_model_on_a_task():
    records = paper_grid() + [
        make_record(protocol="single", scores={"valid": {"accuracy": 91.0, "macro_f1": 90.0}}),
        make_record(model="laboro_distilbert", scores={"valid": {"accuracy": 82.0}}),
    ]
    scores = {(s.model, s.split, s.metric): (s.value, s.protocol) for s in report.scores_for(records, "all")}
    assert scores == {
        ("line_distilbert", "valid", "accuracy"): (89.5, "paper"),
        ("line_distilbert", "test", "accuracy"): (87.2, "paper"),
        ("laboro_distilbert", "valid", "accuracy"): (82.0, "single"),
    }  # no single macro_f1 mixed in


def test_a_tie_on_dev_goes_to_the_cell_run_first_whatever_the_store_order():
    first = make_record(protocol="paper", lr=2e-5, scores={"valid": {"accuracy": 89.5}})
    later = make_record(protocol="paper", lr=5e-5, scores={"valid": {"accuracy": 89.5}})
    for records in ([first, later], [later, first]):
        [choice] = report.paper_choices(records)
        assert choice.chosen["run_id"] == first["run_id"]


def test_a_lora_run_beside_a_published_full_fine_tune_says_so():
    published = [
        row
        for row in load_published(PUBLISHED)
        if row.model == "line_distilbert" and row.task == "jnli" and row.split == "valid"
    ]
    [record] = published_as_records(published)
    record["model"]["peft"] = {"method": "lora", "r": 8, "alpha": 32, "dropout": 0.1}
    table = report_compare.published_table(report.scores_for([record], "single"), published)
    [row] = table.rows
    assert row["differs"] == "protocol, fine-tune method (PEFT)"
    assert row["model"] == "line_distilbert+lora r8/alpha 32/dropout 0.1"


def test_an_evaluate_record_of_a_lora_run_from_its_config_keeps_the_runs_label():
    from jglue_bench.records.choice import model_label

    evaluated = make_record(run_kind="evaluate")
    evaluated["model"]["peft"] = None  # as evaluate wrote it before it kept the settings
    evaluated["config"] = {"model": {"peft": {"method": "lora", "r": 8, "alpha": 16}}}
    assert model_label(evaluated) == "line_distilbert+lora r8"
    evaluated["config"]["model"]["peft"]["method"] = None
    assert model_label(evaluated) == "line_distilbert"
