"""A fine-tuned model saved by `train` (its run folder): `evaluate` scores it on any split, `predict` runs it on
unlabelled rows. Both rebuild the run's task, tokenizer and model from the folder alone."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from jglue_bench.config import apply_overrides, check_run_config
from jglue_bench.data.download import file_sha256
from jglue_bench.data.readers import FORMATS, LINES
from jglue_bench.data.sources import FileEntry, Source, SplitFile, locate_file
from jglue_bench.errors import UserError
from jglue_bench.prepare.stage import featurize_split, read_split, task_spec
from jglue_bench.records.build import build_record, finish_record
from jglue_bench.tasks import TaskSpec, kind_module
from jglue_bench.tokenization import load_tokenizer
from jglue_bench.tokenization.recipes import RECIPE_FILE
from jglue_bench.train.decoders import decoder_auto_class, for_kind, ready_tokenizer
from jglue_bench.train.evaluation import predict, score_outputs, write_predictions
from jglue_bench.train.first_token import first_token_last_layer
from jglue_bench.train.loop import RunResult, accelerator_for, collator_for, eval_split_names
from jglue_bench.train.modeling import (
    forward_input_names,
    library_progress_bars,
    load_base,
    load_pretrained,
    max_input_length,
    model_facts,
)
from jglue_bench.train.peft_adapters import (
    adapter_head_modules,
    has_adapter,
    load_adapter,
    peft_settings,
    recorded_settings,
)


@dataclass
class SavedRun:
    cfg: DictConfig
    spec: TaskSpec
    model_dir: Path
    base: DictConfig | None = None  # the model config the run started from: a LoRA adapter goes on its weights


def load_saved_run(run_dir: Path, overrides: Sequence[str] = ()) -> SavedRun:
    run_dir = Path(run_dir)
    model_dir = run_dir / "model"
    if not (run_dir / "config.yaml").is_file() or not (model_dir / RECIPE_FILE).is_file():
        raise UserError(
            f"{run_dir} is not a jglue-bench run folder with a saved model (config.yaml and "
            f"model/{RECIPE_FILE} are expected; was the run made with save_model=false?)."
        )
    cfg = apply_overrides(OmegaConf.load(run_dir / "config.yaml"), overrides)
    base = cfg.model.copy()
    cfg.model.pretrained, cfg.model.revision = str(model_dir), None
    cfg.model.tokenizer = json.loads((model_dir / RECIPE_FILE).read_text(encoding="utf-8"))
    check_run_config(cfg)
    library_progress_bars(bool(cfg.trainer.progress_bar))
    return SavedRun(cfg, task_spec(cfg), model_dir, base)


def saved_model(saved: SavedRun, kind, device, tokenizer):
    """The fine-tuned model, on the device, with the trainer's first-token last layer when it asks for one. A
    LoRA run's folder holds the adapter and head only: they go on the base weights the run started from."""
    model_cfg, kind_name = saved.cfg.model, saved.spec.kind
    if has_adapter(saved.model_dir):
        base = load_base(saved.base, saved.spec, kind, tokenizer, supplied=adapter_head_modules(saved.model_dir))
        weights = load_adapter(base, saved.model_dir)
    else:
        weights = load_pretrained(kind, saved.model_dir, auto_class=decoder_auto_class(model_cfg, kind_name))
    model = for_kind(weights, model_cfg, kind_name).to(device)
    if saved.cfg.trainer.get("first_token_last_layer"):
        first_token_last_layer(model)
    return model


def predict_split(saved: SavedRun, model, tokenizer, accelerator, data, data_cfg, desc: str = "predict"):
    """One split featurized for the saved model (with the feature cache where `data_cfg` allows it) and
    predicted: (the prepared split, the model's outputs, seconds)."""
    cfg, kind = saved.cfg, kind_module(saved.spec.kind)
    input_names = forward_input_names(model)
    max_length = max_input_length(model, cfg.max_seq_length)
    prepared = featurize_split(data, saved.spec, tokenizer, max_length, "token_type_ids" in input_names, data_cfg)
    collator = collator_for(cfg.trainer, input_names, tokenizer)
    trainer = cfg.trainer
    outputs, seconds = predict(
        model,
        prepared.features,
        kind,
        collator,
        trainer.eval_batch_size,
        accelerator.device,
        accelerator.autocast,
        trainer.progress_bar,
        desc=desc,
        processes=(accelerator.num_processes, accelerator.process_index),
    )
    return prepared, outputs, seconds


def evaluate_saved_run(run_dir: Path, overrides: Sequence[str] = ()) -> RunResult:
    """Score the fine-tuned model saved in `run_dir` on its eval split(s); writes eval-<split>/ there."""
    started = time.perf_counter()
    saved = load_saved_run(run_dir, overrides)
    cfg, spec = saved.cfg, saved.spec
    kind = kind_module(spec.kind)
    splits = eval_split_names(cfg.data, spec)
    eval_data = [read_split(spec, cfg.data, split, cfg.data.max_eval_samples) for split in splits]
    accelerator = accelerator_for(cfg.trainer)
    tokenizer = ready_tokenizer(cfg.model, load_tokenizer(cfg.model))
    # Inference needs no DDP wrapper (whose forward hides the input names); each process predicts its share.
    model = saved_model(saved, kind, accelerator.device, tokenizer)
    scores, prepared_sets, seconds_total = {}, [], 0.0
    out = Path(run_dir) / ("eval-" + "+".join(splits) + (f"-v{spec.version}" if spec.version else ""))
    for data in eval_data:
        prepared, outputs, seconds = predict_split(saved, model, tokenizer, accelerator, data, cfg.data)
        seconds_total += seconds
        predictions, scores[data.split] = score_outputs(
            kind, spec, outputs, prepared.features, prepared.examples, tokenizer
        )
        if accelerator.is_main_process:
            write_predictions(out / f"predictions-{data.split}.jsonl", kind, spec, prepared.examples, predictions)
        prepared_sets.append(prepared)
    record = build_record(
        cfg,
        spec,
        kind="evaluate",
        splits=prepared_sets,
        tokenizer=tokenizer,
        metrics=scores,
        history=[],
        device=accelerator.device,
        num_processes=accelerator.num_processes,
        # a LoRA run's record says so here too, as the training record did
        model_facts=model_facts(model, recorded_settings(model, peft_settings(cfg.model))),
    )
    features = sum(len(prepared.features) for prepared in prepared_sets)
    finish_record(
        record,
        out,
        cfg.results.path,
        started,
        throughput={"eval_samples_per_s": round(features / max(seconds_total, 1e-9), 2), "eval_features": features},
        write=accelerator.is_main_process,
    )
    return RunResult(record["metrics"], record, out, accelerator.is_main_process)


def predict_file(
    run_dir: Path, input_path: Path, file_format: str | None = None, overrides: Sequence[str] = ()
) -> list[dict[str, Any]]:
    """The saved model's prediction for every row of `input_path` (any supported format, or plain text with one
    text per line for a task that reads one text; labels not needed): one dict per row with its id, its input
    text(s) and the prediction."""
    from jglue_bench.prepare.stage import SplitData, examples_to_predict

    saved = load_saved_run(run_dir, overrides)
    cfg, spec = saved.cfg, saved.spec
    kind = kind_module(spec.kind)
    split_file = input_file(input_path, file_format, cfg.data)
    examples, note = examples_to_predict(spec, split_file)
    if note:
        print(note, file=sys.stderr)
    accelerator = accelerator_for(cfg.trainer)
    tokenizer = ready_tokenizer(cfg.model, load_tokenizer(cfg.model))
    model = saved_model(saved, kind, accelerator.device, tokenizer)
    data = SplitData("input", examples, split_file, len(examples))
    prepared, outputs, _ = predict_split(saved, model, tokenizer, accelerator, data, None, desc="predict")
    return kind.output_rows(examples, outputs, prepared.features, spec)


def input_file(input_path: Path, file_format: str | None, data_cfg) -> SplitFile:
    """The file `predict` reads, as a split named "input": a task's formats, or `.txt` (`--format txt`)."""
    path = Path(input_path).expanduser().resolve()
    if file_format is not None and file_format not in (*FORMATS, LINES):
        raise UserError(f"--format is {file_format!r}; expected one of {', '.join((*FORMATS, LINES))}.")
    if not path.is_file():
        raise UserError(f"--input {path} is not a file; expected a file of rows to predict.")
    if file_format == LINES or (file_format is None and path.suffix.lower() == ".txt"):
        return SplitFile("input", path, LINES, file_sha256(path), None, "local", path.name)
    return locate_file(FileEntry("input", str(path), file_format), Source(), data_cfg)
