"""Report tables that set numbers side by side: ours beside the published numbers, model against model, and
efficiency. Pure functions of Scores and records, as in report.py."""

from __future__ import annotations

import statistics
from collections import defaultdict
from typing import Any, Iterable, Sequence

from jglue_bench.published import PublishedScore
from jglue_bench.report import (METRIC_ORDER, SPLIT_ORDER, TASK_ORDER, Score, Spread, Table, as_spread, data_label,
                                finite, group_by, ranked, score_cell)


def domain(split: str) -> bool:
    return split.endswith("out_of_domain")


def published_table(scores: Sequence[Score], published: Sequence[PublishedScore]) -> Table:
    """Each published number of a model we ran, beside our closest evaluation of the same model, task and metric
    (same split first, then the same domain, then the same data version), with the delta and what differs."""
    ours = {(s.model, s.task, s.data_version, s.split, s.metric): s for s in scores}
    evaluations = defaultdict(set)
    for s in scores:
        evaluations[(s.model, s.task)].add((s.data_version, s.split))
    rows, sources = [], {}
    for row in sorted(published, key=lambda p: (ranked(p.task, TASK_ORDER), ranked(p.metric, METRIC_ORDER),
                                                p.model, p.file, p.data_version, ranked(p.split, SPLIT_ORDER))):
        candidates = sorted((version, split) for version, split in evaluations[(row.model, row.task)]
                            if _ours(ours, row, version, split) is not None)
        if not candidates:
            continue
        version, split = max(candidates, key=lambda option: (option[1] == row.split,
                                                             domain(option[1]) == domain(row.split),
                                                             option[0] == row.data_version))
        score = _ours(ours, row, version, split)
        differs = [word for word, same in (("data version", version == row.data_version), ("split", split == row.split))
                   if not same]
        delta = None if score.value is None else score.value - row.value
        sources[row.file] = row.source
        rows.append({"task": row.task, "model": row.model, "metric": row.metric, "ours": as_spread(score_cell(score)),
                     "ours data": data_label(version, split), "ours protocol": score.protocol,
                     "published": Spread(row.value, row.std),
                     "published data": data_label(row.data_version, row.split), "delta": delta,
                     "differs": ", ".join(differs), "source": row.file, "ours metric": score.metric})
    notes = ["delta = ours - published (x100). `differs` names what is not the same evaluation on both sides."]
    if any(row["task"] == "jsquad" for row in rows):
        notes.append("JSQuAD: `ours metric` *_official rebuilds answers from tokens, as JGLUE's script did for the "
                     "published numbers; plain exact_match/f1 slice answers from the original text (compared only "
                     "when a record has no *_official).")
    notes += [f"{name}: {source}" for name, source in sorted(sources.items())]
    return Table("published", "Ours beside the published numbers",
                 ["task", "model", "metric", "ours", "ours data", "ours protocol", "published", "published data",
                  "delta", "differs", "source", "ours metric"], rows, notes, signed=("delta",),
                 empty="no published number for a model and task of these records")


def _ours(ours: dict, row: PublishedScore, version: str, split: str) -> Score | None:
    """JSQuAD: the *_official metric (answers rebuilt from tokens, as the published numbers were made) when the
    record has it, else the plain one."""
    official = ours.get((row.model, row.task, version, split, f"{row.metric}_official"))
    return official or ours.get((row.model, row.task, version, split, row.metric))


# ---- (e) model against model, (f) efficiency ---------------------------------------------------------------


def models_table(scores: Sequence[Score]) -> Table:
    models = sorted({s.model for s in scores})
    cells: dict[tuple, dict[str, Any]] = {}
    for s in scores:
        cells.setdefault((s.task, s.metric, s.data_version, s.split), {})[s.model] = score_cell(s)
    keys = sorted(cells, key=lambda k: (ranked(k[0], TASK_ORDER), ranked(k[1], METRIC_ORDER), k[2],
                                        ranked(k[3], SPLIT_ORDER)))
    rows = [{"task": task, "metric": metric, "data": data_label(version, split), **cells[(task, metric, version, split)]}
            for task, metric, version, split in keys]
    return Table("models", "Model against model", ["task", "metric", "data", *models], rows,
                 ["Each cell: the paper protocol's chosen cell, the robust mean ± std, or the latest single run."])


def efficiency_table(records: Sequence[dict[str, Any]]) -> Table:
    def key(record: dict[str, Any]) -> tuple:
        device = record.get("device") or {}
        return (record["model"]["name"], record["task"]["name"], str(device.get("name") or device.get("type") or "?"),
                str(device.get("precision") or "?"), int(device.get("num_processes") or 1))

    groups = group_by(records, key)
    rows = []
    for model, task, device, precision, processes in sorted(groups, key=lambda k: (ranked(k[1], TASK_ORDER), k)):
        group = groups[(model, task, device, precision, processes)]
        throughput = [record.get("throughput") or {} for record in group]
        parameters = {record["model"].get("num_parameters") for record in group} - {None}
        rows.append({"task": task, "model": model, "device": device, "precision": precision, "processes": processes,
                     "runs": len(group), "parameters": max(parameters) if parameters else None,
                     "train samples/s": _mean(t.get("train_samples_per_s") for t in throughput),
                     "eval samples/s": _mean(t.get("eval_samples_per_s") for t in throughput),
                     "wall s": _mean(record.get("wall_time_s") for record in group)})
    return Table("efficiency", "Efficiency (means over runs)",
                 ["task", "model", "device", "precision", "processes", "runs", "parameters", "train samples/s",
                  "eval samples/s", "wall s"], rows)


def _mean(values: Iterable[Any]) -> float | None:
    numbers = [number for number in (finite(value) for value in values) if number is not None]
    return statistics.fmean(numbers) if numbers else None
