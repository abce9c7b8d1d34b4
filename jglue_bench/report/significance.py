"""`report --ci` and `report --table significance`: intervals beside the scores, and model against model on the same
examples (confidence.py does the statistics; this module picks the runs and lays out the tables).

The run that stands for a model on a task is the paper protocol's chosen cell where there is one, else the latest
single run; its per-example predictions sit beside its record (output_dir/predictions-<split>.jsonl). Robust seed
groups are compared by Welch's test of their means.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jglue_bench.errors import UserError
from jglue_bench.records.choice import group_by, main_metric_of, recency, split_scores
from jglue_bench.report import confidence
from jglue_bench.report.tables import (
    SPLIT_ORDER,
    Table,
    data_label,
    evaluation_key,
    evaluation_order,
    paper_choices,
    ranked,
    seed_groups,
)

CI_COLUMNS = ("ci metric", "ci low", "ci high")


def predictions_of(record: dict[str, Any], split: str) -> Path:
    return Path(str(record.get("output_dir") or "")) / f"predictions-{split}.jsonl"


def record_interval(record: dict[str, Any], split: str, resamples: int, seed: int) -> tuple[float, float] | None:
    """The bootstrap interval of the record's main metric on `split`; None where its predictions are gone."""
    path = predictions_of(record, split)
    if not path.is_file():
        return None
    metric = main_metric_of(record)
    data = confidence.columns(confidence.read_predictions(path), metric)
    return confidence.bootstrap_interval(data, metric, resamples, seed)


def with_intervals(table: Table, records: Sequence[dict[str, Any]], resamples: int, seed: int) -> Table:
    """The runs, paper or robust table with the main metric's 95% interval on every row: the percentile bootstrap
    over examples (runs, paper), the t-interval of the seed mean (robust)."""
    if table.name == "robust":
        groups = {
            (g.key[1], g.key[0], data_label(g.key[2]), str(g.hyperparameters.get("learning_rate"))): g
            for g in seed_groups(records)
        }
        for row in table.rows:
            group = groups[(row["task"], row["model"], row["data"], row["lr"])]
            values = [value for _, value in group.values(row["split"], group.main_metric) if value is not None]
            row.update(zip(CI_COLUMNS, (group.main_metric, *confidence.t_interval(values))))
        note = "ci: the t-interval (95%) of the seed mean of the main metric."
    elif table.name in ("runs", "paper"):
        if table.name == "runs":
            by_row = {record.get("run_id", ""): record for record in records}
            pick = lambda row: by_row.get(row["run"])  # noqa: E731
            split_of = lambda row: row["train -> eval"].split(" -> ")[-1]  # noqa: E731
        else:
            chosen = {(c.key[1], c.key[0], data_label(c.key[2])): c.chosen for c in paper_choices(records)}
            pick = lambda row: chosen.get((row["task"], row["model"], row["data"]))  # noqa: E731
            split_of = lambda row: row["split"]  # noqa: E731
        missing = 0
        for row in table.rows:
            record = pick(row)
            interval = record_interval(record, split_of(row), resamples, seed) if record else None
            missing += interval is None
            row.update(zip(CI_COLUMNS, (main_metric_of(record) if record else "-", *(interval or (None, None)))))
        note = (
            f"ci: the percentile bootstrap (95%, {resamples} resamples of the examples, seed {seed}) of the main "
            f"metric, from each run's predictions file"
            + (f"; {missing} row(s) without a predictions file have none." if missing else ".")
        )
    else:
        raise UserError(f"--ci adds intervals to the runs, paper and robust tables, not to {table.name}.")
    table.columns = [*table.columns, *CI_COLUMNS]
    table.notes = [*table.notes, note]
    return table


def standing_records(records: Sequence[dict[str, Any]]) -> dict[tuple[str, str, str], dict[str, Any]]:
    """(model, task, data version) -> the record that stands for it: the paper protocol's chosen cell, else the
    latest single run."""
    standing = {choice.key: choice.chosen for choice in paper_choices(records)}
    singles = group_by((r for r in records if r.get("protocol", "single") == "single"), evaluation_key)
    for key, group in singles.items():
        standing.setdefault(key, max(group, key=recency))
    return standing


def significance_table(records: Sequence[dict[str, Any]], resamples: int, seed: int) -> Table:
    """Every pair of models on the same task, data version and split: A - B in the main metric with its paired
    bootstrap interval and permutation p-value (McNemar too for accuracy); then robust seed means by Welch."""
    rows, refused = [], []
    standing = standing_records(records)
    read = functools.cache(lambda path, metric: confidence.columns(confidence.read_predictions(path), metric))
    by_task = group_by(standing.items(), lambda item: (item[0][1], item[0][2]))
    for (task, version), items in sorted(by_task.items(), key=lambda kv: evaluation_order(("", *kv[0]))):
        for (key_a, first), (key_b, second) in itertools.combinations(sorted(items), 2):
            for split in sorted(
                set(split_scores(first)) & set(split_scores(second)), key=lambda s: ranked(s, SPLIT_ORDER)
            ):
                metric = main_metric_of(first)
                label = f"{task} {data_label(version)} {split}: {key_a[0]} vs {key_b[0]}"
                paths = [predictions_of(first, split), predictions_of(second, split)]
                if not all(path.is_file() for path in paths):
                    refused.append(
                        f"{label}: no predictions file ({', '.join(str(p) for p in paths if not p.is_file())})."
                    )
                    continue
                data = [read(path, metric) for path in paths]
                try:
                    result = confidence.paired_comparison(*data, metric, resamples, seed)
                except ValueError as error:
                    refused.append(f"{label}: not compared: {error}.")
                    continue
                rows.append(
                    comparison_row(
                        (task, version, split, metric, key_a[0], key_b[0]),
                        "paired, per example",
                        result.examples,
                        (result.difference, result.low, result.high),
                        result.p_permutation,
                        result.p_mcnemar,
                    )
                )
    rows += welch_rows(records)
    notes = [
        f"Paired, per example: the runs that stand for each model (the paper protocol's chosen cell, else the latest "
        f"single run) on the same examples; ci: the paired percentile bootstrap (95%, {resamples} resamples, seed "
        f"{seed}) of A - B; p: a paired permutation test (each example's two predictions swapped at random, "
        f"{resamples} times; two-sided, (count + 1) / ({resamples} + 1)); p McNemar: the exact test on the examples "
        f"exactly one model gets right (accuracy only).",
        "Seed means: robust seed groups on the same task, data and split; p: Welch's t-test (unequal variances).",
        *refused,
    ]
    columns = [
        "task",
        "data",
        "split",
        "metric",
        "model A",
        "model B",
        "test",
        "n",
        "A - B",
        "ci low",
        "ci high",
        "p",
        "p McNemar",
    ]
    return Table(
        "significance",
        "Significance: paired differences, intervals and p-values",
        columns,
        rows,
        notes,
        signed=("A - B",),
        fine=("p", "p McNemar"),
        empty="no two models scored on the same task and split" + (f" ({'; '.join(refused)})" if refused else ""),
    )


def welch_rows(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    groups = group_by(seed_groups(records), lambda group: (group.key[1], group.key[2]))
    for (task, version), members in sorted(groups.items(), key=lambda kv: evaluation_order(("", *kv[0]))):
        for first, second in itertools.combinations(sorted(members, key=lambda g: g.key[0]), 2):
            splits = {s for scores in first.by_seed.values() for s in scores} & {
                s for scores in second.by_seed.values() for s in scores
            }
            for split in sorted(splits, key=lambda s: ranked(s, SPLIT_ORDER)):
                metric = first.main_metric
                a = [v for _, v in first.values(split, metric) if v is not None]
                b = [v for _, v in second.values(split, metric) if v is not None]
                if not a or not b:
                    continue
                difference = sum(a) / len(a) - sum(b) / len(b)
                key = (task, version, split, metric, first.key[0], second.key[0])
                rows.append(
                    comparison_row(
                        key,
                        "seed means, Welch",
                        f"{len(a)} / {len(b)}",
                        (difference, "-", "-"),
                        confidence.welch(a, b),
                        None,
                    )
                )
    return rows


def comparison_row(key: tuple, test: str, examples: Any, difference: tuple, p: float, p_mcnemar: float | None) -> dict:
    task, version, split, metric, model_a, model_b = key
    return {
        "task": task,
        "data": data_label(version),
        "split": split,
        "metric": metric,
        "model A": model_a,
        "model B": model_b,
        "test": test,
        "n": examples,
        **dict(zip(("A - B", "ci low", "ci high"), difference)),
        "p": p,
        "p McNemar": "-" if p_mcnemar is None else p_mcnemar,
    }
