"""Intervals and paired tests (report/confidence.py) against hand computations and an independent bootstrap, and
`report --ci` / `report --table significance` over saved runs."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from jglue_bench.report import confidence

ROWS = [  # a tiny classification prediction file: 7 of 10 right
    {"id": str(i), "gold": gold, "prediction": prediction}
    for i, (gold, prediction) in enumerate(
        [
            ("a", "a"),
            ("a", "b"),
            ("b", "b"),
            ("b", "b"),
            ("a", "a"),
            ("b", "a"),
            ("a", "a"),
            ("b", "b"),
            ("a", "b"),
            ("b", "b"),
        ]
    )
]


def test_bootstrap_equals_an_independent_computation_with_the_same_seed():
    interval = confidence.bootstrap_interval(confidence.columns(ROWS, "accuracy"), "accuracy", resamples=200, seed=3)
    right = np.array([row["gold"] == row["prediction"] for row in ROWS], dtype=float)
    generator = np.random.default_rng(3)
    means = [100 * right[generator.integers(0, 10, 10)].mean() for _ in range(200)]
    assert interval == pytest.approx((np.percentile(means, 2.5), np.percentile(means, 97.5)))
    assert interval[0] < 70.0 < interval[1]


def test_bootstrap_of_a_correlation_and_of_jsquad_per_question_scores():
    rows = [
        {"id": str(i), "gold": float(i % 5), "prediction": float(i % 5) + (0.5 if i % 3 else -0.5)} for i in range(40)
    ]
    low, high = confidence.bootstrap_interval(confidence.columns(rows, "pearson"), "pearson", resamples=100)
    assert low <= 100 * float(np.corrcoef([r["gold"] for r in rows], [r["prediction"] for r in rows])[0, 1]) <= high
    qa = [{"id": str(i), "gold": ["x"], "exact_match": float(i < 3), "f1": 0.5} for i in range(6)]
    assert confidence.bootstrap_interval(confidence.columns(qa, "f1"), "f1", resamples=50) == (50.0, 50.0)
    low, high = confidence.bootstrap_interval(confidence.columns(qa, "exact_match"), "exact_match", resamples=300)
    assert 0.0 <= low < 50.0 < high <= 100.0


def test_identical_models_have_p_one_and_a_zero_difference():
    data = confidence.columns(ROWS, "accuracy")
    result = confidence.paired_comparison(data, data, "accuracy", resamples=100)
    assert (result.difference, result.low, result.high, result.p_permutation, result.p_mcnemar) == (0, 0, 0, 1.0, 1.0)


def test_one_model_right_wherever_the_other_is_wrong_has_p_near_zero():
    golds = ["a", "b"] * 25
    right = confidence.Columns(tuple(map(str, range(50))), tuple(golds), tuple(golds))
    wrong = confidence.Columns(right.ids, tuple(golds), tuple("b" if g == "a" else "a" for g in golds))
    result = confidence.paired_comparison(right, wrong, "accuracy", resamples=200)
    assert result.difference == 100.0
    assert result.p_permutation == pytest.approx(1 / 201)  # no swap of the 200 is as extreme: (0 + 1) / (200 + 1)
    assert result.p_mcnemar == pytest.approx(2 * 0.5**50)  # 50 discordant pairs, all one way
    assert 90.0 <= result.low <= result.high == 100.0


def test_mcnemar_by_hand():
    # 10 examples exactly one model gets right: 1 for ours, 9 for theirs. Exact two-sided binomial p:
    # 2 * (C(10,0) + C(10,1)) / 2^10 = 2 * 11 / 1024 = 0.021484375
    golds = ["y"] * 12
    ours = ["y"] + ["n"] * 9 + ["y", "n"]
    theirs = ["n"] + ["y"] * 9 + ["y", "n"]
    assert confidence.mcnemar(golds, ours, theirs) == pytest.approx(0.021484375)


def test_t_interval_and_welch_by_hand():
    # [1, 2, 3]: mean 2, s = 1, t(0.975, 2) = 4.302652729749462 -> 2 ± 4.302652729749462 / sqrt(3)
    half = 4.302652729749462 / math.sqrt(3)
    assert confidence.t_interval([1.0, 2.0, 3.0]) == pytest.approx((2 - half, 2 + half))
    # Welch, [1, 2, 3] against [4, 5, 6]: t = -3 / sqrt(1/3 + 1/3) = -3.674, df = 4, two-sided p = 0.0213116
    assert confidence.welch([1.0, 2.0, 3.0], [4.0, 5.0, 6.0]) == pytest.approx(0.021311641128756713)
    assert math.isnan(confidence.welch([1.0], [2.0, 3.0]))


def test_runs_on_different_examples_are_refused_with_the_reason():
    data = confidence.columns(ROWS, "accuracy")
    fewer = confidence.columns(ROWS[:8], "accuracy")
    with pytest.raises(ValueError, match="different examples"):
        confidence.paired_comparison(data, fewer, "accuracy", resamples=10)
    relabelled = confidence.columns([{**row, "gold": "a"} for row in ROWS], "accuracy")
    with pytest.raises(ValueError, match="different gold labels"):
        confidence.paired_comparison(data, relabelled, "accuracy", resamples=10)


# --- the report, over saved runs ---


@pytest.fixture
def two_jsts_runs(jglue_bench_cli, tmp_path):
    common = [
        "train",
        "task=jsts",
        "model=tiny",
        "num_train_epochs=1",
        "save_model=false",
        "trainer.progress_bar=false",
        f"results.path={tmp_path / 'runs.jsonl'}",
    ]
    assert jglue_bench_cli(*common, f"output_dir={tmp_path / 'a'}")[0] == 0
    assert jglue_bench_cli(*common, "model.name=tiny_other", "seed=7", f"output_dir={tmp_path / 'b'}")[0] == 0
    return tmp_path / "runs.jsonl"


def test_report_significance_and_ci_over_saved_runs(jglue_bench_cli, two_jsts_runs, tmp_path):
    code, out, err = jglue_bench_cli(
        "report", "--results", str(two_jsts_runs), "--table", "significance", "--format", "json"
    )
    assert code == 0, err
    [row] = json.loads(out)["tables"][0]["rows"]
    assert (row["task"], row["metric"], row["model A"], row["model B"], row["split"]) == (
        "jsts",
        "pearson",
        "tiny",
        "tiny_other",
        "valid",
    )
    records = [json.loads(line) for line in two_jsts_runs.read_text(encoding="utf-8").splitlines()]
    difference = records[0]["metrics"]["pearson"] - records[1]["metrics"]["pearson"]
    assert row["A - B"] == pytest.approx(difference, abs=2e-4)  # JSON and the records keep 4 decimals
    assert row["ci low"] <= row["A - B"] <= row["ci high"] and 0 < row["p"] <= 1
    code, page, _ = jglue_bench_cli(
        "report", "--results", str(two_jsts_runs), "--table", "significance", "--format", "html"
    )
    assert code == 0 and "Significance: paired differences" in page and f"{row['p']:.4f}" in page
    # --ci: the bootstrap interval beside each run's main metric
    code, out, _ = jglue_bench_cli("report", "--results", str(two_jsts_runs), "--ci", "--format", "json")
    rows = json.loads(out)["tables"][0]["rows"]
    assert code == 0 and all(row["ci low"] <= row["pearson"] <= row["ci high"] for row in rows)
    assert (
        jglue_bench_cli(
            "train",
            "task=jsts",
            "model=tiny",
            "model.name=tiny_fewer",
            "num_train_epochs=1",
            "data.max_eval_samples=5",
            "save_model=false",
            "trainer.progress_bar=false",
            f"results.path={two_jsts_runs}",
            f"output_dir={tmp_path / 'c'}",
        )[0]
        == 0
    )
    # a run on other examples is refused, with the reason
    code, out, _ = jglue_bench_cli("report", "--results", str(two_jsts_runs), "--table", "significance")
    assert code == 0 and "tiny_fewer: not compared: the runs scored different examples" in out


def test_robust_seed_means_are_compared_by_welch_and_get_t_intervals():
    from test_report import make_record

    from jglue_bench.report import tables
    from jglue_bench.report.significance import significance_table, with_intervals

    records = [
        make_record(model=model, protocol="robust", seed=seed, scores={"test": {"accuracy": value}})
        for model, values in (("a", [1.0, 2.0, 3.0]), ("b", [4.0, 5.0, 6.0]))
        for seed, value in enumerate(values)
    ]
    [row] = significance_table(records, 10, 0).rows
    assert (row["test"], row["n"], row["A - B"]) == ("seed means, Welch", "3 / 3", -3.0)
    assert row["p"] == pytest.approx(0.021311641128756713)  # as in test_t_interval_and_welch_by_hand
    robust = with_intervals(tables.robust_table(records), records, 10, 0)
    half = 4.302652729749462 / math.sqrt(3)
    assert (robust.rows[0]["ci low"], robust.rows[0]["ci high"]) == pytest.approx((2 - half, 2 + half))


# --- breakdowns ---


def read_jsonl(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_breakdown_confusion_sources_buckets_and_any_column(jglue_bench_cli, two_jsts_runs, tmp_path):
    from collections import Counter

    common = ["num_train_epochs=1", "save_model=false", "trainer.progress_bar=false", f"results.path={two_jsts_runs}"]
    assert jglue_bench_cli("train", "task=jcola", "model=tiny", *common, f"output_dir={tmp_path / 'cola'}")[0] == 0
    code, out, err = jglue_bench_cli(
        "report", "--results", str(two_jsts_runs), "--table", "breakdown", "--format", "json"
    )
    assert code == 0, err
    rows = json.loads(out)["tables"][0]["rows"]
    # JCoLA: confusion counts as in the predictions file; out of domain, MCC per source paper
    ood = read_jsonl(tmp_path / "cola" / "predictions-valid_out_of_domain.jsonl")
    counts = Counter(f"{row['gold']} -> {row['prediction']}" for row in ood)
    confusion = {r["group"]: r["n"] for r in rows if r["split"] == "valid_out_of_domain" and r["by"] == "confusion"}
    assert confusion == dict(counts)
    sources = [r for r in rows if r["by"] == "source"]
    assert sources and {r["measure"] for r in sources} == {"mcc"} and sum(r["n"] for r in sources) == len(ood)
    # JSTS: the mean absolute error per gold bucket, by hand from the file
    jsts = read_jsonl(tmp_path / "a" / "predictions-valid.jsonl")
    low = [abs(r["prediction"] - r["gold"]) for r in jsts if r["gold"] < 1]
    [bucket] = [r for r in rows if r["model"] == "tiny" and r["group"] == "[0, 1)"]
    assert (bucket["n"], bucket["value"]) == (len(low), pytest.approx(sum(low) / len(low), abs=1e-4))
    # --by: the main metric per value of any column of the eval files that have it (JCoLA's diacritic mark)
    code, out, _ = jglue_bench_cli(
        "report", "--results", str(two_jsts_runs), "--table", "breakdown", "--by", "diacritic"
    )
    assert code == 0 and "| diacritic |" in out
    code, _, err = jglue_bench_cli("report", "--results", str(two_jsts_runs), "--table", "breakdown", "--by", "nothing")
    assert code == 2 and "no eval file of these runs has a column 'nothing'" in err
