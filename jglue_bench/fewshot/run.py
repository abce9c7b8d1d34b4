"""`jglue-bench fewshot`: one preset, task and decoder model through lm-eval, scored, recorded.

The data comes through jglue-bench's prepare stage (files found, sha256-checked against their pins, every
record validated), is converted to the documents the original loaders gave, and handed to lm-eval as a
`custom_dataset`; lm-eval renders the prompts, draws the shots, runs the model and applies the preset's
metrics. The record says which files, which preset, prompt version and shots, which model, and what it scored."""

from __future__ import annotations

import hashlib
import json
import random
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

import jglue_bench
from jglue_bench.config import config_dir
from jglue_bench.errors import UserError
from jglue_bench.fewshot import scores
from jglue_bench.fewshot.backends import (
    check_backend,
    count_throughput,
    hub_commit,
    load_model,
    quiet_lm_eval,
    throughput_record,
    without_environment_report,
)
from jglue_bench.fewshot.documents import as_dataset_dict, to_documents
from jglue_bench.fewshot.llm_jp_eval import SCORING as LLM_JP_EVAL_SCORING
from jglue_bench.fewshot.presets import Preset, load_preset, protocol_label, task_config
from jglue_bench.prepare.stage import SplitData, read_split, resolve_labels, task_spec
from jglue_bench.records.key import model_identity
from jglue_bench.records.store import (
    RECORD_SCHEMA_VERSION,
    append_record,
    device_info,
    git_state,
    package_versions,
    read_records,
    write_json_atomic,
    write_jsonl_atomic,
)
from jglue_bench.tasks import TaskSpec


@dataclass
class FewshotData:
    spec: TaskSpec
    preset: Preset
    shots: int
    eval_splits: list[str]
    splits: dict[str, SplitData]  # the few-shot source split (when shots > 0) and the eval splits
    documents: dict[str, list[dict[str, Any]]]
    limit: int | None = None  # limit=N, else the preset's own cap (Nejumi scores the first 100), else all


@dataclass
class FewshotResult:
    record: dict[str, Any]
    output_dir: Path
    skipped: bool = False


def prepare(cfg: DictConfig, model_needed: bool = True) -> FewshotData:
    """The task, the preset and the documents of the few-shot split and the eval splits; every user mistake is
    one line before a model is loaded."""
    if model_needed:
        check_model(cfg.model)
        check_backend(cfg.backend)
    spec = resolve_labels(task_spec(cfg), cfg.data)
    preset = load_preset(cfg.preset, config_dir(), cfg.prompt_version)
    if cfg.fewshot_split:  # e.g. JNLI without its train file: shots from test, dev scored (the label says so)
        preset = replace(preset, fewshot_split=str(cfg.fewshot_split))
    if preset.task_entry(spec.name).get("scoring") == "jasquad" and model_needed:
        from jglue_bench.fewshot.jasquad import check_installed

        check_installed(preset.name)
    shots = preset.shots(spec.name) if cfg.num_fewshot is None else int(cfg.num_fewshot)
    eval_split = cfg.data.eval_split
    eval_splits = list(spec.eval_splits) if eval_split is None else _as_list(eval_split)
    needed = ([preset.fewshot_split] if shots > 0 else []) + [split for split in eval_splits]
    splits = {}
    for split in dict.fromkeys(needed):
        if split not in spec.files:
            raise UserError(f"task {spec.name!r} has no {split!r} split; its splits are {', '.join(spec.files)}.")
        try:
            splits[split] = read_split(spec, cfg.data, split)
        except UserError as error:
            if split == preset.fewshot_split and split not in eval_splits:
                # the first sentence names the file; the rest of the data layer's hint is about training
                missing = str(error).split(" split).")[0] + " split)"
                raise UserError(
                    f"preset {preset.name!r} draws its shots from a missing file (the few-shot source split): "
                    f"{missing}; num_fewshot=0 runs zero-shot without it, fewshot_split=SPLIT draws the shots from "
                    f"another split."
                ) from None
            raise
    documents = {split: to_documents(spec, data.examples) for split, data in splits.items()}
    limit = int(cfg.limit) if cfg.limit is not None else preset.limit
    return FewshotData(spec, preset, shots, eval_splits, splits, documents, limit)


def _as_list(value: Any) -> list[str]:
    return (
        [str(item) for item in value] if isinstance(value, (list, tuple)) or OmegaConf.is_list(value) else [str(value)]
    )


def lm_eval_config(data: FewshotData, eval_split: str) -> dict[str, Any]:
    splits = dict.fromkeys([data.preset.fewshot_split, eval_split])
    documents = {split: data.documents[split] for split in splits if split in data.documents}
    if data.preset.sampler == "jp_stable":
        # jp-stable scores its documents in the order one Random(42) shuffles them into (samplers.py)
        documents[eval_split] = list(documents[eval_split])
        random.Random(data.preset.fewshot_seed).shuffle(documents[eval_split])
    return task_config(
        data.preset,
        data.spec.name,
        lambda **_: as_dataset_dict(documents),
        eval_split,
        num_fewshot=data.shots,
        scored_documents=len(documents[eval_split]),
    )


def build_task(config: dict[str, Any], seed: int, tokenizer=None):
    """The lm-eval Task object of one config, its few-shot sampler seeded as simple_evaluate seeds it; with the
    model's `tokenizer`, a jasquad task's generation length is set per question (jasquad.py)."""
    from lm_eval.tasks import TaskManager

    quiet_lm_eval()
    task = next(iter(TaskManager(include_defaults=False).load([config])["tasks"].values()))
    task.set_fewshot_seed(seed=seed)
    if tokenizer is not None and config.get("process_results") is not None:
        from jglue_bench.fewshot.jasquad import generate_up_to_the_longest_answer, scores_of

        if config["process_results"] is scores_of:
            generate_up_to_the_longest_answer(task, tokenizer)
    return task


def rendered_prompts(cfg: DictConfig, count: int) -> list[dict[str, Any]]:
    """The full prompts of the first `count` documents of the first eval split, exactly as an evaluation draws
    them (lm-eval renders documents in order from one seeded generator), with each one's target."""
    data = prepare(cfg, model_needed=False)
    split = data.eval_splits[0]
    task = build_task(lm_eval_config(data, split), data.preset.fewshot_seed)
    chat = {}
    if data.preset.chat:  # rendered by the model's chat template: its tokenizer is read (no weights)
        from jglue_bench.fewshot.chat import chat_renderer

        check_model(cfg.model)
        chat = {"apply_chat_template": True, "fewshot_as_multiturn": True, "chat_template": chat_renderer(cfg.model)}
    shown = []
    for doc in list(task.eval_docs)[:count]:
        shown.append(
            {
                "id": doc["id"],
                "prompt": task.fewshot_context(doc, data.shots, **chat),
                "target": task.doc_to_target(doc),
                "choices": task.doc_to_choice(doc) if task.OUTPUT_TYPE == "multiple_choice" else None,
            }
        )
    return shown


def check_model(model_cfg: DictConfig) -> None:
    if model_cfg.get("kind") != "decoder":
        raise UserError(
            f"model {model_cfg.name!r} is not a decoder config (kind: decoder); few-shot runs take causal LMs: "
            f"model=causal_lm model.pretrained=FOLDER_OR_HUB_ID, or a config in configs/fewshot/model/."
        )
    if not model_cfg.get("pretrained"):
        raise UserError(f"model {model_cfg.name!r} names no weights: add model.pretrained=FOLDER_OR_HUB_ID.")


def experiment_key(cfg: DictConfig, data: FewshotData) -> str:
    parts = {
        "task": [data.spec.name, data.spec.version, [[s, d.file.sha256] for s, d in sorted(data.splits.items())]],
        "eval_splits": data.eval_splits,
        "preset": [
            data.preset.name,
            data.preset.prompt_version,
            data.shots,
            data.preset.fewshot_seed,
            data.preset.fewshot_split,
        ],
        "model": model_identity(cfg.model),
        "dtype": cfg.model.get("dtype"),
        "limit": data.limit,
        "max_gen_toks": cfg.max_gen_toks,
        "jglue_bench": jglue_bench.__version__,
    }
    if data.preset.layout:
        # llm-jp-eval's datasets: the prompt recipe (layout, lead, generation) is in the key, so that a run of an
        # earlier recipe under the same label (Nejumi's plain prompts before its chat messages) is not taken as done
        entry = data.preset.task_entry(data.spec.name)
        parts["recipe"] = hashlib.sha256(json.dumps(entry, sort_keys=True, default=str).encode()).hexdigest()[:16]
    if data.preset.chat and cfg.model.get("chat_template"):  # another template file is another experiment
        template = Path(str(cfg.model.chat_template)).expanduser()
        parts["chat_template"] = hashlib.sha256(template.read_bytes()).hexdigest() if template.is_file() else None
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def find_fewshot_record(store: str | Path, key: str) -> dict[str, Any] | None:
    found = None
    if Path(store).is_file():
        for record in read_records(store, skip_corrupt=True):
            if record.get("run_kind") == "fewshot" and (record.get("experiment") or {}).get("key") == key:
                found = record
    return found


def run_fewshot(cfg: DictConfig, output_dir: Path) -> FewshotResult:
    started = time.perf_counter()
    data = prepare(cfg)
    key = experiment_key(cfg, data)
    if not cfg.rerun and (done := find_fewshot_record(cfg.results.path, key)) is not None:
        print(f"jglue-bench: already in {cfg.results.path} (run {done['run_id']}); skipped (rerun=true runs it again).")
        return FewshotResult(done, Path(done.get("output_dir", ".")), skipped=True)
    chat_template = None
    if data.preset.chat:  # a model without a chat template is refused before its weights are read
        from jglue_bench.fewshot.chat import chat_renderer, use_chat_template

        chat_renderer(cfg.model)
    lm = load_model(cfg, chat=data.preset.chat)
    if data.preset.chat:
        chat_template = use_chat_template(lm, cfg.model)
    import lm_eval
    from lm_eval.tasks import TaskManager

    # without its own manager simple_evaluate indexes every task lm-eval ships (about ten seconds of YAML)
    manager = TaskManager(include_defaults=False)
    per_split, rows_per_split, chance = {}, {}, {}
    throughput = {"examples": 0, "tokens": 0, "seconds": 0.0}
    for split in data.eval_splits:
        config = lm_eval_config(data, split)
        evaluation_started = time.perf_counter()
        with without_environment_report():
            results = lm_eval.simple_evaluate(
                model=lm,
                # max_gen_toks=N overrides jasquad's per-question length (the tokenizer is left out then)
                tasks=[build_task(config, data.preset.fewshot_seed, None if cfg.max_gen_toks else lm.tokenizer)],
                task_manager=manager,
                limit=data.limit,
                log_samples=True,
                bootstrap_iters=0,
                fewshot_random_seed=data.preset.fewshot_seed,
                gen_kwargs={"max_gen_toks": int(cfg.max_gen_toks)} if cfg.max_gen_toks else None,
                # chat presets: shots as user/assistant turns, rendered by the model's chat template
                apply_chat_template=data.preset.chat,
                fewshot_as_multiturn=data.preset.chat,
            )
        seconds = time.perf_counter() - evaluation_started
        name = config["task"]
        output_type = config["output_type"]
        rows = scores.prediction_rows(results["samples"][name], output_type)
        scoring = data.preset.task_entry(data.spec.name).get("scoring")
        scoring = scoring if scoring in LLM_JP_EVAL_SCORING else None  # "jasquad" is jasquad.py's
        if scoring:
            rows = scores.normalized_like_llm_jp_eval(rows)
        num_choices = len(rows[0]["choices"]) if output_type == "multiple_choice" else _answer_count(data.spec)
        found = {
            **scores.preset_metrics(results["results"][name]),
            **scores.extra_metrics(data.spec.kind, rows, num_choices),
        }
        if scoring:
            found["format_rate"] = scores.llm_jp_eval_format_rate(rows, scoring, data.spec)
        count_throughput(throughput, lm, rows, seconds)
        per_split[split] = found
        rows_per_split[split] = rows
        chance[split] = scores.chance_levels(data.spec.kind, found, [row["gold"] for row in rows], num_choices)
    record = build_fewshot_record(cfg, data, per_split, chance, key, lm, rows_per_split)
    record["fewshot"]["chat_template"] = chat_template
    record["wall_time_s"] = round(time.perf_counter() - started, 2)
    record["throughput"] = throughput_record(throughput, cfg.backend)
    record["output_dir"] = str(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    for split, rows in rows_per_split.items():
        write_jsonl_atomic(output_dir / f"predictions-{split}.jsonl", rows)
    write_json_atomic(output_dir / "record.json", record)
    append_record(cfg.results.path, record)
    return FewshotResult(record, output_dir)


def _answer_count(spec: TaskSpec) -> int:
    """How many answers a generation task offers (for chance levels): its labels, or its choices; 0 for free text."""
    if spec.labels:
        return len(spec.labels)
    return len(spec.fields.get("choices") or ())


def build_fewshot_record(
    cfg: DictConfig,
    data: FewshotData,
    per_split: Mapping[str, dict[str, float]],
    chance: Mapping[str, dict[str, float]],
    key: str,
    lm,
    rows_per_split: Mapping[str, list],
) -> dict[str, Any]:
    first = data.eval_splits[0]
    label = protocol_label(data.preset, data.shots)
    model = getattr(lm, "model", None)
    return {
        "schema_version": RECORD_SCHEMA_VERSION,
        "run_id": uuid.uuid4().hex[:12],
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "run_kind": "fewshot",
        "task": {
            "name": data.spec.name,
            "kind": data.spec.kind,
            "data_version": data.spec.version,
            "data_source": "+".join(sorted({split.file.origin for split in data.splits.values()})),
            "train_split": None,
            "eval_splits": list(per_split),
            "labels": list(data.spec.labels) if data.spec.labels else None,
            "origin": data.spec.origin,
            "files": [
                {
                    **split.file.as_record(),
                    "examples": split.total,
                    "used": len(rows_per_split.get(name, split.examples)),
                }
                for name, split in data.splits.items()
            ],
        },
        "model": {
            "name": cfg.model.name,
            "pretrained": str(cfg.model.pretrained),
            "revision": cfg.model.get("revision"),
            "commit": hub_commit(str(cfg.model.pretrained), cfg.model.get("revision")),
            "dtype": cfg.model.get("dtype"),
            "published": cfg.model.get("published"),
            # vLLM's engine (lm.model there) is no torch module: its parameters are not counted
            "num_parameters": sum(p.numel() for p in model.parameters()) if hasattr(model, "parameters") else None,
        },
        "split": first,
        "metrics": per_split[first],
        "eval_metrics": dict(per_split),
        "chance": dict(chance),
        "metrics_scale": "x100 (as in the published JGLUE tables)",
        "main_metric": _main_metric(per_split[first]),
        "seed": data.preset.fewshot_seed,
        "hyperparameters": {
            "num_fewshot": data.shots,
            "limit": data.limit,
            "batch_size": cfg.batch_size,
            "max_gen_toks": cfg.max_gen_toks,
        },
        "protocol": label,
        "fewshot": {
            "preset": data.preset.name,
            "prompt_version": data.preset.prompt_version,
            "shots": data.shots,
            "fewshot_split": data.preset.fewshot_split if data.shots else None,
            "fewshot_seed": data.preset.fewshot_seed,
            "source": data.preset.source,
            "source_data_version": data.preset.source_data_version,  # report flags a data.version that differs
            "backend": cfg.backend,
            "limit": data.limit,
            "layout": data.preset.layout,  # llm-jp-eval's datasets: alpaca (its prompt) or chat (Nejumi's messages)
        },
        "experiment": {"key": key},
        "config": OmegaConf.to_container(cfg, resolve=True),
        "git": git_state(),
        "packages": {**package_versions(), "lm_eval": _version("lm_eval")},
        "device": fewshot_device(lm, cfg),
    }


def fewshot_device(lm, cfg: DictConfig) -> dict[str, Any]:
    """The device block of a training record (report's efficiency table reads it); precision: the weights' dtype.
    vLLM's engine runs on the GPU; its lm-eval wrapper's `device` is None."""
    import torch

    device = torch.device(str(getattr(lm, "device", None) or ("cuda" if cfg.backend == "vllm" else "cpu")))
    weights = getattr(getattr(lm, "model", None), "dtype", None)  # HFLM's model; vLLM's engine has none
    precision = str(weights).replace("torch.", "") if weights is not None else str(cfg.model.get("dtype") or "auto")
    return {**device_info(device, precision, 1), "device": str(device)}


def _main_metric(found: Mapping[str, float]) -> str:
    for name in ("accuracy", "exact_match", "pearson", "mcc"):
        if name in found:
            return name
    return next(iter(found))


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None
