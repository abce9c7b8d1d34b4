"""The two protocols a reported number comes from.

paper:  JGLUE's grid (each task YAML's `grid:`), one seed; for each model and task, the cell with the best
        `main_metric` on dev is the reported number (how JGLUE's tables were made).
robust: the hyperparameters `paper` chose, then several seeds scored on the v1.3 test split; mean, standard
        deviation and every seed.

`experiment=robust` reads the paper protocol's choice from the results store with the `paper_choice` resolver,
so its config says exactly which cell it runs.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from jglue_bench.errors import UserError

CHOSEN_KEYS = ("learning_rate", "num_train_epochs", "batch_size", "max_seq_length")


def paper_cells(records: Iterable[Mapping[str, Any]], task: str, model: str, pretrained: Any,
                data_version: str | None) -> list[Mapping[str, Any]]:
    """The paper protocol's training records for one task and model (scored on dev)."""
    return [record for record in records
            if record.get("run_kind") == "train" and record.get("protocol") == "paper"
            and record["task"]["name"] == task and record["model"]["name"] == model
            and record["model"].get("pretrained") == pretrained
            and (data_version is None or record["task"].get("data_version") == data_version)
            and record.get("split") == "valid"]


def best_cell(records: Iterable[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The record with the best main metric on its first eval split; ties go to the earlier record."""
    best, best_value = None, None
    for record in records:
        value = record["metrics"].get(record["main_metric"])
        if value is not None and (best_value is None or value > best_value):
            best, best_value = record, value
    return best


def paper_choice(key: str, *, _root_: Any) -> Any:
    """OmegaConf resolver `${paper_choice:learning_rate}`: the value the paper protocol chose for this config's
    task and model, read from its results store."""
    from jglue_bench.records.store import read_records

    if key not in CHOSEN_KEYS:
        raise UserError(f"paper_choice: {key!r} is not a chosen hyperparameter ({', '.join(CHOSEN_KEYS)}).")
    task, model = str(_root_.task.name), str(_root_.model.name)
    cells = paper_cells(read_records(_root_.results.path, skip_corrupt=True), task, model, _root_.model.pretrained,
                        "1.3")
    chosen = best_cell(cells)
    if chosen is None:
        raise UserError(f"the robust protocol runs the cell the paper protocol chose, but {_root_.results.path} holds "
                        f"no paper-protocol record of task '{task}' with model '{model}' on JGLUE v1.3 dev; run "
                        f"`jglue-bench train -m experiment=paper task={task} model={model}` first.")
    return chosen["hyperparameters"][key]
