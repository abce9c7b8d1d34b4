"""`jglue-bench bench estimate --decoder CONFIG`: the ESTIMATED memory of fine-tuning a decoder LLM on each task
kind decoders support (decoder_memory has the model of it), with and without gradient checkpointing. CONFIG is a
config.json, a folder holding one, or a decoder model config (configs/fewshot/model, configs/model) whose hub id
is in the local hub cache: only the config's shapes are read, no weights, and the hub is never asked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jglue_bench.bench.decoder_memory import decoder_memory
from jglue_bench.errors import UserError

DECODER_TASKS = ("jsts", "jnli", "jcommonsenseqa", "jcola", "marc_ja", "jsquad")  # the tasks decoders fine-tune on
GB = 1e9


def run_decoder(
    source: str, peft: Mapping[str, Any] | None, weights_dtype: str, precision: str, out_dir
) -> dict[str, Any]:
    """One row per task at its batch size and max_seq_length (multiple choice: x choices): peak memory of a
    training step as estimated, without and with gradient checkpointing."""
    from jglue_bench.bench.common import report

    config, where = decoder_config(source)
    dtype = (
        str(getattr(config, "dtype", None) or "float32").replace("torch.", "")
        if weights_dtype == "auto"
        else weights_dtype
    )
    rows, result = [], {}
    for task in DECODER_TASKS:
        batch, length, num_labels = task_shape(task)
        qa = task == "jsquad"  # the family's *ForQuestionAnswering: a start/end head on every token
        try:
            plain, checkpointed = (
                decoder_memory(config, peft, dtype, precision, batch, length, num_labels, checkpointing, qa)
                for checkpointing in (False, True)
            )
        except UserError as error:
            if not qa:
                raise
            result[task] = {"not_estimated": str(error)}
            rows.append([task, f"{batch} x {length}", "-", "-", "-", f"not estimated: {error}", "-"])
            continue
        result[task] = {"batch_sequences": batch, "length": length, "memory": plain, "checkpointed": checkpointed}
        memory = plain["memory"]
        rows.append(
            [
                task,
                f"{batch} x {length}",
                round(memory["weights"] / GB, 2),
                round((memory["gradients"] + memory["optimizer"]) / GB, 2),
                round((memory["activations"] + memory["autocast_copies"]) / GB, 2),
                round(plain["total_bytes"] / GB, 2),
                round(checkpointed["total_bytes"] / GB, 2),
            ]
        )
    first = next(iter(result.values()))["memory"]  # jsts: always estimated
    what = f"LoRA r={peft['r']}" if peft else "full fine-tune"
    title = (
        f"bench estimate (ESTIMATES, not measurements): decoder {source} ({where}), {what}, "
        f"{first['parameters']:,} parameters ({first['trainable_parameters']:,} trainable), weights {dtype}, "
        f"trainer.precision={precision}; memory of one training step, GB (1e9 bytes), without the CUDA context"
    )
    headers = ["task", "sequences x length", "weights", "grads + AdamW", "activations", "peak", "peak (checkpointing)"]
    summary = max((row for row in rows if isinstance(row[5], float)), key=lambda row: row[5])
    report(
        "estimate-decoder",
        title,
        headers,
        rows,
        {
            "source": source,
            "config_from": where,
            "peft": dict(peft) if peft else None,
            "weights_dtype": dtype,
            "precision": precision,
            "tasks": result,
        },
        f"estimate: largest peak {summary[5]} GB ({summary[0]}), {summary[6]} GB with gradient checkpointing (not measured)",
        out_dir,
    )
    return result


def decoder_config(source: str):
    """The transformers config of `source`: a config.json, a folder holding one, or a model config's hub id
    (configs/fewshot/model/NAME or configs/model/NAME with `pretrained:`) read from the local hub cache; the hub
    itself is never asked (the estimate needs only config.json: download that one file)."""
    import json
    from pathlib import Path

    from transformers import AutoConfig

    path = Path(source).expanduser()
    if path.is_file() or (path / "config.json").is_file():
        file = path if path.is_file() else path / "config.json"
        fields = json.loads(file.read_text(encoding="utf-8"))
        if "model_type" not in fields:
            raise UserError(f"bench estimate --decoder {source}: {file} has no model_type (expected a config.json).")
        return AutoConfig.for_model(**fields), str(file)
    hub_id = configured_hub_id(source)
    try:
        return AutoConfig.from_pretrained(hub_id, local_files_only=True), f"hub cache of {hub_id}"
    except OSError:
        raise UserError(
            f"bench estimate --decoder {source}: the config.json of {hub_id} is not here and the estimate does not "
            f"go to the hub; download it (`huggingface-cli download {hub_id} config.json --local-dir DIR`) and "
            f"pass --decoder DIR."
        ) from None


def configured_hub_id(name: str) -> str:
    """The `pretrained` hub id of a decoder model config (few-shot configs first), else `name` itself."""
    import yaml

    from jglue_bench.config import config_dir

    for folder in (config_dir() / "fewshot" / "model", config_dir() / "model"):
        file = folder / f"{name}.yaml"
        if file.is_file():
            pretrained = (yaml.safe_load(file.read_text(encoding="utf-8")) or {}).get("pretrained")
            if not pretrained:
                raise UserError(
                    f"bench estimate --decoder {name}: {file} names no pretrained model; pass a config.json."
                )
            return str(pretrained)
    return name


def task_shape(task: str) -> tuple[int, int, int]:
    """Sequences in a batch (multiple choice: questions x choices), max_seq_length, and the head's outputs."""
    from jglue_bench.config import compose_config

    cfg = compose_config([f"task={task}"])
    choices = len((cfg.task.get("fields") or {}).get("choices") or [])
    outputs = {"regression": 1, "multiple_choice": 1, "extractive_qa": 2}.get(cfg.task.kind) or len(cfg.task.labels)
    return int(cfg.batch_size) * (choices or 1), int(cfg.max_seq_length), outputs
