"""The two protocols a reported number comes from, and the one rule that picks the paper protocol's cell.

paper:  JGLUE's grid (each task YAML's `grid:`), one seed; for each model and task, the cell with the best
        `main_metric` on dev is the reported number (how JGLUE's tables were made).
robust: the hyperparameters `paper` chose, then several seeds scored on the v1.3 test split; mean, standard
        deviation and every seed.

`experiment=robust` reads the paper protocol's choice from the results store with the `paper_choice` resolver,
so its config says exactly which cell it runs; `report --protocol paper` shows the same choice. The rule, decided
once here (`choose_cell`): records are grouped into grid cells (hyperparameters and seed); a cell's score is the
main metric on dev of its latest record that has one (a rerun replaces the cell's score); the best score wins;
ties go to the cell run first.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf

from jglue_bench.errors import UserError

CHOSEN_KEYS = ("learning_rate", "num_train_epochs", "batch_size", "max_seq_length")
DEV_SPLIT = "valid"  # JGLUE's dev set: the paper protocol picks its grid cell here


@dataclass(frozen=True)
class CellChoice:
    record: Mapping[str, Any]  # the chosen cell's latest record
    scores: dict[str, dict[str, Any]]  # the chosen cell's scores per split (the latest record holding each)
    scored_cells: list[tuple[str, str]]  # (hyperparameters as JSON, seed) of every cell with a dev score
    unscored: int  # cells without a dev score


def peft_label(peft: Mapping[str, Any] | None) -> str | None:
    """The label "lora r8" (alpha, when not 2r, and dropout, when set, after a slash): what sets a
    parameter-efficient fine-tune apart from a full one of the same model, and LoRA settings from each other (None:
    every weight fine-tuned). Reports and the paper protocol's choice keep them apart."""
    if not isinstance(peft, Mapping) or peft.get("method") is None:
        return None
    label = f"{peft['method']} r{peft.get('r')}"
    if peft.get("alpha") is not None and peft.get("r") is not None and peft["alpha"] != 2 * peft["r"]:
        label += f"/alpha {peft['alpha']}"
    return label + (f"/dropout {peft['dropout']}" if peft.get("dropout") else "")


def configured_model(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """The model block of the resolved config a record keeps ({} where it has none)."""
    config = record.get("config") if isinstance(record.get("config"), Mapping) else {}
    return config.get("model") if isinstance(config.get("model"), Mapping) else {}


def record_peft(record: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """A record's PEFT settings; an evaluate record written before it kept them has them in its config."""
    recorded = record["model"].get("peft")
    if recorded is not None:
        return recorded
    return configured_model(record).get("peft") if record.get("run_kind") == "evaluate" else None


def trained_dtype(record: Mapping[str, Any]) -> str:
    """The dtype a fine-tuned record's weights trained in (model.dtype; float32 where unset)."""
    return str(configured_model(record).get("dtype") or "float32")


def model_label(record: Mapping[str, Any]) -> str:
    """The model as reports name it: the config's name, with its PEFT setting where one was used
    ("causal_lm+lora r8") and a fine-tune's weights' dtype where not float32 ("... (bfloat16)")."""
    model = record["model"]
    peft = peft_label(record_peft(record))
    label = f"{model['name']}+{peft}" if peft else str(model["name"])
    dtype = trained_dtype(record)
    return f"{label} ({dtype})" if record.get("run_kind") != "fewshot" and dtype not in ("float32", "auto") else label


def paper_cells(
    records: Iterable[Mapping[str, Any]],
    task: str,
    model: str,
    pretrained: Any,
    data_version: str | None,
    peft: Mapping[str, Any] | None = None,
    dtype: str | None = None,
) -> list[Mapping[str, Any]]:
    """The paper protocol's training records for one task, model, PEFT setting and weights' dtype (scored on
    dev)."""
    return [
        record
        for record in records
        if record.get("run_kind") == "train"
        and record.get("protocol") == "paper"
        and record["task"]["name"] == task
        and record["model"]["name"] == model
        and record["model"].get("pretrained") == pretrained
        and peft_label(record_peft(record)) == peft_label(peft)
        and trained_dtype(record) == str(dtype or "float32")
        and (data_version is None or record["task"].get("data_version") == data_version)
        and record.get("split") == "valid"
    ]


def choose_cell(records: Iterable[Mapping[str, Any]]) -> CellChoice | None:
    """The best grid cell on dev among `records` (one task, model and data version), by the rule above; "run
    first" is the earliest `created_at`, then the earliest place in the store."""
    records = list(records)
    positions = {id(record): index for index, record in enumerate(records)}
    cells = group_by(records, lambda record: (hyperparameter_text(record), str(record.get("seed"))))
    scored = []
    for cell_key, cell_records in cells.items():
        scores = latest_scores(cell_records)
        dev = finite(scores.get(DEV_SPLIT, {}).get(main_metric_of(max(cell_records, key=recency))))
        if dev is not None:
            first_run = min((recency(record), positions[id(record)]) for record in cell_records)
            scored.append((-dev, first_run, cell_key, max(cell_records, key=recency), scores))
    if not scored:
        return None
    *_, chosen, scores = min(scored, key=lambda item: item[:3])
    return CellChoice(chosen, scores, [item[2] for item in scored], len(cells) - len(scored))


def best_cell(records: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The record of the chosen cell (choose_cell), or None when no cell has a dev score."""
    chosen = choose_cell(records)
    return None if chosen is None else chosen.record


def paper_choice(key: str, *, _root_: Any) -> Any:
    """OmegaConf resolver `${paper_choice:learning_rate}`: the value the paper protocol chose for this config's
    task and model, read from its results store."""
    from jglue_bench.records.store import read_records

    if key not in CHOSEN_KEYS:
        raise UserError(f"paper_choice: {key!r} is not a chosen hyperparameter ({', '.join(CHOSEN_KEYS)}).")
    task, model = str(_root_.task.name), str(_root_.model.name)
    peft_node = OmegaConf.select(_root_, "model.peft")
    peft = OmegaConf.to_container(peft_node, resolve=True) if isinstance(peft_node, DictConfig) else None
    cells = paper_cells(
        read_records(_root_.results.path, skip_corrupt=True),
        task,
        model,
        _root_.model.pretrained,
        "1.3",
        peft,
        OmegaConf.select(_root_, "model.dtype"),
    )
    chosen = best_cell(cells)
    if chosen is None:
        raise UserError(
            f"the robust protocol runs the cell the paper protocol chose, but {_root_.results.path} holds "
            f"no paper-protocol record of task '{task}' with model '{model}' on JGLUE v1.3 dev; run "
            f"`jglue-bench train -m experiment=paper task={task} model={model}` first."
        )
    return chosen["hyperparameters"][key]


def split_scores(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Scores per evaluated split (JCoLA scores two); older records only have the first split's."""
    return record.get("eval_metrics") or {record.get("split") or DEV_SPLIT: record.get("metrics") or {}}


def recency(record: dict[str, Any]) -> tuple[str, str]:
    return (str(record.get("created_at") or ""), str(record.get("run_id") or ""))


def main_metric_of(record: dict[str, Any]) -> str:
    return record.get("main_metric") or next(iter(record.get("metrics") or {"accuracy": None}))


def finite(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def latest_scores(records: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Scores per split from the latest record holding that split: a cell trained (valid) and later evaluated
    (test) keeps both."""
    merged: dict[str, dict[str, Any]] = {}
    for record in sorted(records, key=recency):
        merged.update(split_scores(record))
    return merged


def hyperparameter_text(record: dict[str, Any]) -> str:
    return json.dumps(record.get("hyperparameters") or {}, sort_keys=True)


def group_by(records: Iterable[dict[str, Any]], key) -> dict[Any, list[dict[str, Any]]]:
    groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        groups[key(record)].append(record)
    return groups
