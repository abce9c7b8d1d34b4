"""Tables from run records: the runs, the paper protocol's chosen grid cells and robust seed statistics (ours
beside the published numbers, model against model and efficiency are in compare.py; Markdown, CSV and JSON
in render.py).

Pure functions of the records (plain dicts as the results store holds them) and the published rows; standard
library only, so `jglue-bench report` starts fast. Every table is sorted by its content, never by the order of the
store, and numbers have fixed formats: the same records always give the same bytes.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from jglue_bench.records.choice import (
    DEV_SPLIT,
    choose_cell,
    configured_model,
    finite,
    group_by,
    hyperparameter_text,
    latest_scores,
    main_metric_of,
    model_label,
    recency,
    split_scores,
)

PROTOCOLS = ("paper", "robust", "single", "all")
TASK_ORDER = ("marc_ja", "jsts", "jnli", "jsquad", "jcommonsenseqa", "jcola")
METRIC_ORDER = (
    "accuracy",
    "macro_f1",
    "mcc",
    "pearson",
    "spearman",
    "exact_match",
    "f1",
    "exact_match_official",
    "f1_official",
)
SPLIT_ORDER = ("valid", "valid_out_of_domain", "test", "test_out_of_domain")
# With --protocol all, the number that stands for a model on a task: the paper protocol's chosen cell (what the
# published tables report), else the robust mean, else the latest single run.
PROTOCOL_PRIORITY = ("paper", "robust", "single")
# JGLUE's grid (fine-tuning/README.md): a paper protocol over exactly these cells, at one seed, is made the way the
# JGLUE README's numbers were (published.PROTOCOLS "jglue_grid_fixed_seed").
JGLUE_GRID = frozenset((lr, epochs) for lr in (2e-5, 3e-5, 5e-5) for epochs in (3.0, 4.0))
# llm-jp-modernbert's grid (experiment=wide_grid): published.PROTOCOLS "wider_grid_max" when run whole at one seed
WIDE_GRID = frozenset(
    (lr, epochs) for lr in (5e-6, 1e-5, 2e-5, 3e-5, 5e-5, 1e-4) for epochs in (1.0, 2.0, 3.0, 4.0, 5.0, 10.0)
)


@dataclass(frozen=True)
class Spread:
    """A mean with its sample standard deviation (None for one value)."""

    mean: float | None
    std: float | None


@dataclass(frozen=True)
class SeedValues:
    """Every seed's value, in seed order: a space-separated list in Markdown and CSV, a list in JSON."""

    values: tuple[Any, ...]


@dataclass
class Table:
    name: str
    title: str
    columns: list[str]
    rows: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    signed: tuple[str, ...] = ()  # columns shown with a sign (deltas)
    fine: tuple[str, ...] = ()  # columns shown with 4 decimals in Markdown and HTML (p-values)
    empty: str = "no records"


@dataclass(frozen=True)
class Score:
    """The number that stands for one model on one task, data version, split and metric under a protocol."""

    model: str
    task: str
    data_version: str
    split: str
    metric: str
    value: float | None
    std: float | None
    n: int
    protocol: str
    main_metric: str
    protocol_label: str = ""  # how the number was made, in published.PROTOCOLS' words, to compare with theirs
    published_id: str = ""  # the `model` id of this model's published rows (its config's `published:` key)


# ---- reading records ---------------------------------------------------------------------------------------


def ranked(value: str, canonical: Sequence[str]) -> tuple[int, str]:
    """Sort key: the canonical order first (JGLUE's task order, ...), then the rest by name."""
    return (canonical.index(value) if value in canonical else len(canonical), value)


def version_of(record: dict[str, Any]) -> str:
    return str(record["task"].get("data_version") or "")


def data_label(version: str, split: str = "") -> str:
    """ "v1.3 valid"; a user's task may have no version."""
    return " ".join(part for part in (f"v{version}" if version else "", split) if part) or "-"


def evaluation_key(record: dict[str, Any]) -> tuple[str, str, str]:
    return (model_label(record), record["task"]["name"], version_of(record))


def evaluation_order(key: tuple[str, str, str]) -> tuple:
    model, task, version = key
    return (ranked(task, TASK_ORDER), model, version)


def published_id(record: dict[str, Any]) -> str:
    """The `model` id of the published rows this record's model pairs with: the model config's `published:` key
    (kept in the record's resolved config), else the model's name."""
    model = record.get("model") or {}
    return str(model.get("published") or configured_model(record).get("published") or model["name"])


def metric_columns(metric_sets: Iterable[Iterable[str]]) -> list[str]:
    return sorted({name for names in metric_sets for name in names}, key=lambda name: ranked(name, METRIC_ORDER))


# ---- (a) runs ----------------------------------------------------------------------------------------------


def runs_table(records: Sequence[dict[str, Any]]) -> Table:
    """One row per record and evaluated split."""
    ordered = sorted(records, key=lambda record: (evaluation_order(evaluation_key(record)), recency(record)))
    metrics = metric_columns(scores for record in ordered for scores in split_scores(record).values())
    rows = []
    for record in ordered:
        task, hyper = record["task"], record.get("hyperparameters") or {}
        version = f"v{task['data_version']} " if task.get("data_version") else ""
        for split, scores in split_scores(record).items():
            rows.append(
                {
                    "task": task["name"],
                    "model": model_label(record),
                    "method": method_of(record),
                    "chance": chance_text(record, split),
                    "data": f"{version}{str(task.get('data_source') or '').replace('bundled-sample', 'sample')}",
                    "train -> eval": f"{task.get('train_split') or '-'} -> {split}",
                    "lr": str(hyper.get("learning_rate", "-")),
                    "epochs": str(hyper.get("num_train_epochs", "-")),
                    "seed": str(record.get("seed", "-")),
                    "protocol": record.get("protocol", "single"),
                    **{name: scores[name] for name in metrics if name in scores},
                    "wall s": finite(record.get("wall_time_s")),
                    "run": record.get("run_id", ""),
                }
            )
    # the method column only where few-shot runs sit beside fine-tuned ones (a fine-tuning store keeps its layout)
    method = ["method"] if any(is_fewshot(record) for record in ordered) else []
    chance = ["chance"] if method else []
    columns = [
        "task",
        "model",
        *method,
        "data",
        "train -> eval",
        "lr",
        "epochs",
        "seed",
        "protocol",
        *metrics,
        *chance,
        "wall s",
        "run",
    ]
    return Table("runs", f"Runs ({len(ordered)} records)", columns, rows)


def method_of(record: dict[str, Any]) -> str:
    """fine-tune (train, evaluate) or few-shot (an LLM prompted through lm-eval, `jglue-bench fewshot`)."""
    return "few-shot" if record.get("run_kind") == "fewshot" else "fine-tune"


def chance_text(record: dict[str, Any], split: str) -> str:
    """A few-shot record's chance level of its main metric on `split` ("20.00 accuracy"); "" for others."""
    levels = (record.get("chance") or {}).get(split) or {}
    main = main_metric_of(record)
    return f"{levels[main]:.2f} {main}" if main in levels else ""


def is_fewshot(record: dict[str, Any]) -> bool:
    return record.get("run_kind") == "fewshot"


# ---- (b) paper protocol: the best grid cell on dev ---------------------------------------------------------


@dataclass
class PaperChoice:
    key: tuple[str, str, str]
    chosen: dict[str, Any]  # a record of the chosen cell (for its hyperparameters)
    scores: dict[str, dict[str, Any]]  # the chosen cell's scores per split
    cells: int
    unscored: int  # cells without a dev score for the main metric: not compared
    learning_rates: list[str]
    epochs: list[str]
    label: str = "other_grid"  # published.PROTOCOLS: jglue_grid_fixed_seed, wider_grid_max or other_grid


def paper_choices(records: Iterable[dict[str, Any]]) -> list[PaperChoice]:
    """For each (model, task, data version) among the records with protocol "paper": the grid cell records.choice
    picks (the rule `experiment=robust` runs by), as JGLUE reports."""
    choices = []
    groups = group_by((record for record in records if record.get("protocol") == "paper"), evaluation_key)
    for key in sorted(groups, key=evaluation_order):
        chosen = choose_cell(groups[key])
        if chosen is None:
            continue
        hypers = [json.loads(hyperparameters) for hyperparameters, _ in chosen.scored_cells]
        seeds = {seed for _, seed in chosen.scored_cells}
        choices.append(
            PaperChoice(
                key,
                chosen.record,
                chosen.scores,
                len(chosen.scored_cells),
                chosen.unscored,
                sorted({str(h.get("learning_rate")) for h in hypers}, key=float_or_text),
                sorted({str(h.get("num_train_epochs")) for h in hypers}, key=float_or_text),
                paper_label(hypers, seeds),
            )
        )
    return choices


def paper_label(hypers: Sequence[dict[str, Any]], seeds: set[str]) -> str:
    """jglue_grid_fixed_seed when the cells compared are JGLUE's whole grid, each once, at one seed;
    wider_grid_max when they are llm-jp-modernbert's (experiment=wide_grid); else other_grid (a best cell picked
    over other cells or over seeds is not the same experiment)."""
    cells = [
        (float_or_text(str(h.get("learning_rate")))[0], float_or_text(str(h.get("num_train_epochs")))[0])
        for h in hypers
    ]
    for grid, label in ((JGLUE_GRID, "jglue_grid_fixed_seed"), (WIDE_GRID, "wider_grid_max")):
        if len(cells) == len(grid) and set(cells) == grid and len(seeds) == 1:
            return label
    return "other_grid"


def float_or_text(text: str) -> tuple[float, str]:
    try:
        return (float(text), text)
    except ValueError:
        return (math.inf, text)


def paper_table(records: Sequence[dict[str, Any]]) -> Table:
    choices = paper_choices(records)
    metrics = metric_columns(scores for choice in choices for scores in choice.scores.values())
    rows = []
    for choice in choices:
        model, task, version = choice.key
        hyper = choice.chosen.get("hyperparameters") or {}
        for split in sorted(choice.scores, key=lambda split: ranked(split, SPLIT_ORDER)):
            rows.append(
                {
                    "task": task,
                    "model": model,
                    "data": data_label(version),
                    "split": split,
                    "lr": str(hyper.get("learning_rate")),
                    "epochs": str(hyper.get("num_train_epochs")),
                    "seed": str(choice.chosen.get("seed")),
                    "cells": choice.cells,
                    "grid": f"lr {','.join(choice.learning_rates)} x epochs {','.join(choice.epochs)}",
                    "label": choice.label,
                    "chosen on": f"{DEV_SPLIT} {main_metric_of(choice.chosen)}",
                    **{name: choice.scores[split][name] for name in metrics if name in choice.scores[split]},
                }
            )
    notes = [
        "The reported number is the grid cell with the best main metric on the dev split (JGLUE's protocol); "
        "`cells` counts the cells compared; `label` names the protocol as the published rows do "
        "(jglue_grid_fixed_seed: JGLUE's grid at one seed; wider_grid_max: llm-jp-modernbert's 36 cells)."
    ]
    unscored = sum(choice.unscored for choice in choices)
    if unscored:
        notes.append(f"{unscored} cell(s) had no dev score for the main metric and were not compared.")
    return Table(
        "paper",
        "Paper protocol: the best grid cell on dev",
        ["task", "model", "data", "split", "lr", "epochs", "seed", "cells", "grid", "label", "chosen on", *metrics],
        rows,
        notes,
        empty="no records with protocol paper (with a dev score)",
    )


# ---- (c) robust: seeds -------------------------------------------------------------------------------------


@dataclass
class SeedGroup:
    key: tuple[str, str, str]
    hyperparameters: dict[str, Any]
    main_metric: str
    by_seed: dict[str, dict[str, dict[str, Any]]]  # seed -> split -> scores

    def values(self, split: str, metric: str) -> list[tuple[str, Any]]:
        return [
            (seed, scores[split].get(metric))
            for seed, scores in self.by_seed.items()
            if split in scores and metric in scores[split]
        ]


def seed_groups(records: Iterable[dict[str, Any]]) -> list[SeedGroup]:
    """Records with protocol "robust", grouped by (model, task, data version, hyperparameters)."""
    groups = group_by(
        (record for record in records if record.get("protocol") == "robust"),
        lambda record: (*evaluation_key(record), hyperparameter_text(record)),
    )
    result = []
    for key in sorted(groups, key=lambda key: (evaluation_order(key[:3]), key[3])):
        seeds = group_by(groups[key], lambda record: str(record.get("seed")))
        result.append(
            SeedGroup(
                key[:3],
                json.loads(key[3]),
                main_metric_of(max(groups[key], key=recency)),
                {seed: latest_scores(seeds[seed]) for seed in sorted(seeds, key=float_or_text)},
            )
        )
    return result


def spread(values: Sequence[Any]) -> Spread:
    """Mean and sample standard deviation; undefined (None) if any value is, so n never shrinks silently."""
    numbers = [finite(value) for value in values]
    if not numbers or any(number is None for number in numbers):
        return Spread(None, None)
    return Spread(statistics.fmean(numbers), statistics.stdev(numbers) if len(numbers) > 1 else None)


def robust_table(records: Sequence[dict[str, Any]]) -> Table:
    groups = seed_groups(records)
    rows, metric_sets = [], []
    for group in groups:
        splits = {split for scores in group.by_seed.values() for split in scores}
        for split in sorted(splits, key=lambda split: ranked(split, SPLIT_ORDER)):
            metrics = metric_columns(scores[split] for scores in group.by_seed.values() if split in scores)
            metric_sets.append(metrics)
            seeds = [seed for seed, scores in group.by_seed.items() if split in scores]
            row = {
                "task": group.key[1],
                "model": group.key[0],
                "data": data_label(group.key[2]),
                "split": split,
                "lr": str(group.hyperparameters.get("learning_rate")),
                "epochs": str(group.hyperparameters.get("num_train_epochs")),
                "n": len(seeds),
                "seeds": " ".join(seeds),
            }
            for metric in metrics:
                values = [value for _, value in group.values(split, metric)]
                row[metric] = spread(values)
                row[f"{metric} per seed"] = SeedValues(tuple(values))
            rows.append(row)
    metrics = metric_columns(metric_sets)
    columns = [
        "task",
        "model",
        "data",
        "split",
        "lr",
        "epochs",
        "n",
        "seeds",
        *(name for metric in metrics for name in (metric, f"{metric} per seed")),
    ]
    return Table(
        "robust",
        "Robust protocol: mean ± sample std over seeds",
        columns,
        rows,
        ["Sample standard deviation (n - 1); per-seed values are in the order of `seeds`."],
        empty="no records with protocol robust",
    )


# ---- one number per model, task, split and metric ----------------------------------------------------------


def scores_for(records: Sequence[dict[str, Any]], protocol: str) -> list[Score]:
    """The numbers that stand for each model: the paper protocol's chosen cell, the robust mean over seeds (of
    the hyperparameters with the best dev mean), or the latest single run. With "all", each (model, task, data
    version) takes every number from one protocol, the first of PROTOCOL_PRIORITY that has any."""
    if protocol == "all":
        owner: dict[tuple[str, str, str], str] = {}
        kept = []
        for name in PROTOCOL_PRIORITY:
            for score in scores_for(records, name):
                if owner.setdefault((score.model, score.task, score.data_version), name) == name:
                    kept.append(score)
        return sort_scores([*kept, *fewshot_scores(records)])
    found: list[Score] = []
    if protocol == "paper":
        for choice in paper_choices(records):
            found += [
                Score(
                    *choice.key,
                    split,
                    metric,
                    finite(value),
                    None,
                    1,
                    "paper",
                    main_metric_of(choice.chosen),
                    choice.label,
                )
                for split, scores in choice.scores.items()
                for metric, value in scores.items()
            ]
    elif protocol == "robust":
        by_evaluation = group_by(seed_groups(records), lambda group: group.key)
        for key, groups in by_evaluation.items():
            group = max(groups, key=lambda group: (_dev_mean(group), json.dumps(group.hyperparameters, sort_keys=True)))
            for split in {split for scores in group.by_seed.values() for split in scores}:
                metrics = {metric for scores in group.by_seed.values() for metric in scores.get(split, {})}
                for metric in metrics:
                    values = [value for _, value in group.values(split, metric)]
                    stat = spread(values)
                    found.append(
                        Score(
                            *key,
                            split,
                            metric,
                            stat.mean,
                            stat.std,
                            len(values),
                            "robust",
                            group.main_metric,
                            "seed_mean",
                        )
                    )
    else:
        singles = group_by(
            (record for record in records if record.get("protocol", "single") == "single"), evaluation_key
        )
        for key, group in singles.items():
            main = main_metric_of(max(group, key=recency))
            found += [
                Score(*key, split, metric, finite(value), None, 1, "single", main, "single_run")
                for split, scores in latest_scores(group).items()
                for metric, value in scores.items()
            ]
    ids = published_ids(records)
    return sort_scores(replace(score, published_id=ids[score.model]) for score in found)


def fewshot_scores(records: Sequence[dict[str, Any]]) -> list[Score]:
    """The latest few-shot record of each model, task, data version and setting (its protocol label names the
    preset, prompt version and shots: `fewshot/ja_leaderboard/3shot`), every split and metric."""
    groups = group_by(
        (record for record in records if is_fewshot(record)),
        lambda record: (*evaluation_key(record), record["protocol"]),
    )
    found = []
    for (*key, label), group in groups.items():
        latest = max(group, key=recency)
        found += [
            Score(*key, split, metric, finite(value), None, 1, "few-shot", main_metric_of(latest), label)
            for split, scores in split_scores(latest).items()
            for metric, value in scores.items()
        ]
    ids = published_ids(records)
    return [replace(score, published_id=ids[score.model]) for score in found]


def published_ids(records: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Model label -> its published id; the latest record decides if a model's config changed its key."""
    return {model_label(record): published_id(record) for record in sorted(records, key=recency)}


def _dev_mean(group: SeedGroup) -> float:
    mean = spread([value for _, value in group.values(DEV_SPLIT, group.main_metric)]).mean
    return -math.inf if mean is None else mean


def sort_scores(scores: Iterable[Score]) -> list[Score]:
    return sorted(
        scores,
        key=lambda s: (
            evaluation_order((s.model, s.task, s.data_version)),
            ranked(s.split, SPLIT_ORDER),
            ranked(s.metric, METRIC_ORDER),
        ),
    )


def score_cell(score: Score) -> float | Spread | None:
    return Spread(score.value, score.std) if score.protocol == "robust" else score.value


def as_spread(value: float | Spread | None) -> Spread:
    """The comparison table's number columns always hold a Spread, so its CSV columns never depend on the data."""
    return value if isinstance(value, Spread) else Spread(value, None)
