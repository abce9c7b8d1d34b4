"""Report tables that set numbers side by side: ours beside the published numbers, model against model, and
efficiency. Pure functions of Scores and records, as in report.py."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from jglue_bench.records.choice import finite, group_by, model_label
from jglue_bench.records.published import PROTOCOLS, PublishedScore
from jglue_bench.report.tables import (
    METRIC_ORDER,
    SPLIT_ORDER,
    TASK_ORDER,
    Score,
    Spread,
    Table,
    as_spread,
    data_label,
    ranked,
    score_cell,
)


def setting(protocol_label: str) -> str:
    """Few-shot labels (`fewshot/...`) are their own setting; every fine-tuning label is one setting."""
    return protocol_label if protocol_label.startswith("fewshot/") else "fine-tune"


def domain(split: str) -> bool:
    return split.endswith("out_of_domain")


def published_table(scores: Sequence[Score], published: Sequence[PublishedScore]) -> Table:
    """Each published number of a model we ran (paired through its config's `published:` id, else its name), beside
    our closest evaluation of the same model, task and metric (same split first, then the same domain, then the
    same data version), with the delta and what differs: data version, split, protocol."""
    # a few-shot number pairs only with ours of the same setting (preset, prompt version, shots), and a fine-tuned
    # one never with a few-shot one
    ours = {(s.model, s.task, s.data_version, s.split, s.metric, setting(s.protocol_label)): s for s in scores}
    evaluations = defaultdict(set)
    ours_for = defaultdict(set)  # published id -> our model names
    for s in scores:
        evaluations[(s.model, s.task, setting(s.protocol_label))].add((s.data_version, s.split))
        ours_for[s.published_id or s.model].add(s.model)
    rows, sources, labels, renamed = [], set(), set(), set()
    for row in sorted(
        published,
        key=lambda p: (
            ranked(p.task, TASK_ORDER),
            ranked(p.metric, METRIC_ORDER),
            p.model,
            p.file,
            p.data_version,
            ranked(p.split, SPLIT_ORDER),
        ),
    ):
        for model in sorted(ours_for[row.model]):
            candidates = sorted(
                (version, split)
                for version, split in evaluations[(model, row.task, setting(row.protocol))]
                if _ours(ours, model, row, version, split) is not None
            )
            if not candidates:
                continue
            version, split = max(
                candidates,
                key=lambda option: (
                    option[1] == row.split,
                    domain(option[1]) == domain(row.split),
                    option[0] == row.data_version,
                ),
            )
            score = _ours(ours, model, row, version, split)
            differs = [
                word
                for word, same in (
                    ("data version", version == row.data_version),
                    ("split", split == row.split),
                    ("protocol", score.protocol_label == row.protocol),
                    # ours a LoRA run (model_label "NAME+lora r8"), the published row a full fine-tune's
                    ("fine-tune method (PEFT)", "+" not in model),
                )
                if not same
            ]
            delta = None if score.value is None else score.value - row.value
            sources.add((row.file, row.source))
            labels |= {score.protocol_label, row.protocol}
            if model != row.model:
                renamed.add((model, row.model))
            rows.append(
                {
                    "task": row.task,
                    "model": model,
                    "metric": row.metric,
                    "ours": as_spread(score_cell(score)),
                    "ours data": data_label(version, split),
                    "ours protocol": f"{score.protocol_label} ({score.protocol})",
                    "published": Spread(row.value, row.std),
                    "published data": data_label(row.data_version, row.split),
                    "published protocol": row.protocol,
                    "delta": delta,
                    "differs": ", ".join(differs),
                    "source": row.file,
                    "ours metric": score.metric,
                }
            )
    notes = [
        "delta = ours - published (x100). `differs` names what is not the same evaluation on both sides; a "
        "delta across a protocol difference is not a reproduction gap."
    ]
    notes += [f"`{label}`: {PROTOCOLS[label]}." for label in PROTOCOLS if label in labels]
    notes += [
        f"ours `{model}` is compared with the published rows of `{reference}` (its model config's `published:` key)."
        for model, reference in sorted(renamed)
    ]
    if any(row["task"] == "jsquad" for row in rows):
        notes.append(
            "JSQuAD: `ours metric` *_official rebuilds answers from tokens, as JGLUE's script did for the "
            "JGLUE README and LINE card numbers; plain exact_match/f1 slice answers from the original text "
            "(compared only when a record has no *_official). Other sources' scoring is in their rows' "
            "notes."
        )
    notes += [f"{name}: {source}" for name, source in sorted(sources)]
    return Table(
        "published",
        "Ours beside the published numbers",
        [
            "task",
            "model",
            "metric",
            "ours",
            "ours data",
            "ours protocol",
            "published",
            "published data",
            "published protocol",
            "delta",
            "differs",
            "source",
            "ours metric",
        ],
        rows,
        notes,
        signed=("delta",),
        empty="no published number for a model and task of these records",
    )


def _ours(ours: dict, model: str, row: PublishedScore, version: str, split: str) -> Score | None:
    """Our score of `model` for the published row. JSQuAD: the *_official metric (answers rebuilt from tokens, as
    JGLUE's numbers were made) when the record has it, else the plain one."""
    kind = setting(row.protocol)
    official = ours.get((model, row.task, version, split, f"{row.metric}_official", kind))
    return official or ours.get((model, row.task, version, split, row.metric, kind))


# ---- (e) model against model, (f) efficiency ---------------------------------------------------------------


def models_table(scores: Sequence[Score]) -> Table:
    models = sorted({s.model for s in scores})
    cells: dict[tuple, dict[str, Any]] = {}
    for s in scores:
        cells.setdefault((s.task, s.metric, s.data_version, s.split), {})[s.model] = score_cell(s)
    keys = sorted(
        cells, key=lambda k: (ranked(k[0], TASK_ORDER), ranked(k[1], METRIC_ORDER), k[2], ranked(k[3], SPLIT_ORDER))
    )
    rows = [
        {"task": task, "metric": metric, "data": data_label(version, split), **cells[(task, metric, version, split)]}
        for task, metric, version, split in keys
    ]
    return Table(
        "models",
        "Model against model",
        ["task", "metric", "data", *models],
        rows,
        ["Each cell: the paper protocol's chosen cell, the robust mean ± std, or the latest single run."],
    )


def efficiency_key(record: dict[str, Any]) -> tuple:
    """What one efficiency row groups: model, task, device, precision, processes."""
    device = record.get("device") or {}
    return (
        model_label(record),
        record["task"]["name"],
        str(device.get("name") or device.get("type") or "?"),
        str(device.get("precision") or "?"),
        int(device.get("num_processes") or 1),
    )


def efficiency_table(records: Sequence[dict[str, Any]]) -> Table:
    groups = group_by(records, efficiency_key)
    rows = []
    for model, task, device, precision, processes in sorted(groups, key=lambda k: (ranked(k[1], TASK_ORDER), k)):
        group = groups[(model, task, device, precision, processes)]
        throughput = [record.get("throughput") or {} for record in group]
        parameters = {record["model"].get("num_parameters") for record in group} - {None}
        rows.append(
            {
                "task": task,
                "model": model,
                "device": device,
                "precision": precision,
                "processes": processes,
                "runs": len(group),
                "parameters": max(parameters) if parameters else None,
                "train samples/s": _mean(t.get("train_samples_per_s") for t in throughput),
                "eval samples/s": _mean(t.get("eval_samples_per_s") for t in throughput),
                "wall s": _mean(record.get("wall_time_s") for record in group),
            }
        )
    return Table(
        "efficiency",
        "Efficiency (means over runs)",
        [
            "task",
            "model",
            "device",
            "precision",
            "processes",
            "runs",
            "parameters",
            "train samples/s",
            "eval samples/s",
            "wall s",
        ],
        rows,
    )


def _mean(values: Iterable[Any]) -> float | None:
    numbers = [number for number in (finite(value) for value in values) if number is not None]
    return statistics.fmean(numbers) if numbers else None
