"""train(cfg) -> RunResult: prepare, fine-tune with Accelerate, score each epoch on every eval split, save, record.

The loop reads top to bottom; the official JGLUE protocol scores the last epoch, so that is the reported
result (every epoch's scores are kept in the record's history).
"""

from __future__ import annotations

import math
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState, GradientState
from accelerate.utils import set_seed
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm
from transformers import get_scheduler

from jglue_bench.batching import collate, feature_length, shard_batches, training_batches
from jglue_bench.config import check_run_config
from jglue_bench.errors import UserError
from jglue_bench.evaluation import predict, score_outputs, write_predictions
from jglue_bench.modeling import build_model, count_parameters, forward_input_names, library_progress_bars
from jglue_bench.prepare import featurize_split, read_split, resolve_labels, task_spec
from jglue_bench.records import build_record, finish_record
from jglue_bench.results import write_yaml_atomic
from jglue_bench.tasks import TaskSpec, kind_module
from jglue_bench.tokenization import load_tokenizer
from jglue_bench.tokenization.recipes import save_recipe


@dataclass
class RunResult:
    metrics: dict[str, float]  # last epoch, first eval split, on the published tables' scale (x100)
    record: dict[str, Any]
    output_dir: Path
    main_process: bool = True  # under a multi-process launch only the main process writes and prints


def train(cfg: DictConfig, output_dir: str | Path | None = None) -> RunResult:
    started = time.perf_counter()
    check_run_config(cfg)
    spec = resolve_labels(task_spec(cfg), cfg.data)
    eval_splits = eval_split_names(cfg.data, spec)
    # Every record of every split is read and validated before anything is written.
    train_data = read_split(spec, cfg.data, cfg.data.train_split, cfg.data.max_train_samples)
    eval_data = [read_split(spec, cfg.data, split, cfg.data.max_eval_samples) for split in eval_splits]
    out = Path(output_dir or cfg.output_dir or default_output_dir(cfg))
    accelerator, per_device_batch = make_accelerator(cfg)
    library_progress_bars(cfg.trainer.progress_bar and accelerator.is_local_main_process)
    set_seed(cfg.seed)
    tokenizer = load_tokenizer(cfg.model, cfg.data.cache_dir)
    kind = kind_module(spec.kind)
    model = build_model(cfg.model, spec, kind, tokenizer, cfg.seed)
    input_names = forward_input_names(model)
    with_token_types = "token_type_ids" in input_names
    train_set = featurize_split(train_data, spec, tokenizer, cfg.max_seq_length, with_token_types)
    eval_sets = [featurize_split(data, spec, tokenizer, cfg.max_seq_length, with_token_types) for data in eval_data]

    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.learning_rate, eps=cfg.trainer.adam_epsilon,
                                  betas=tuple(cfg.trainer.adam_betas), weight_decay=cfg.trainer.weight_decay)
    model, optimizer = accelerator.prepare(model, optimizer)
    steps_per_epoch = math.ceil(math.ceil(len(train_set.features) / per_device_batch / accelerator.num_processes)
                                / accelerator.gradient_accumulation_steps)
    total_steps = steps_per_epoch * cfg.num_train_epochs
    scheduler = get_scheduler(cfg.trainer.lr_scheduler, optimizer, num_training_steps=total_steps,
                              num_warmup_steps=math.ceil(total_steps * cfg.trainer.warmup_ratio))
    show = cfg.trainer.progress_bar and accelerator.is_local_main_process
    pad_id = tokenizer.pad_token_id

    history, train_seconds, eval_seconds = [], 0.0, 0.0
    for epoch in range(1, cfg.num_train_epochs + 1):
        epoch_started = time.perf_counter()
        loss = train_one_epoch(cfg, accelerator, model, optimizer, scheduler, train_set.features, input_names,
                               pad_id, per_device_batch, epoch, show)
        train_seconds += time.perf_counter() - epoch_started
        scores, predictions = {}, {}
        for prepared in eval_sets:
            outputs, seconds = predict(model, prepared.features, kind, input_names, pad_id,
                                       cfg.trainer.eval_batch_size, accelerator.device, accelerator.autocast,
                                       cfg.trainer.pad_to_multiple_of, show, desc=f"eval {prepared.split} epoch {epoch}")
            eval_seconds += seconds
            predictions[prepared.split], scores[prepared.split] = score_outputs(
                kind, spec, outputs, prepared.features, prepared.examples)
        history.append({"epoch": epoch, "train_loss": round(loss, 6), "metrics": scores})
        accelerator.print(f"epoch {epoch}/{cfg.num_train_epochs}: train loss {loss:.4f}, " + "; ".join(
            f"{split} " + ", ".join(f"{name} {value:.2f}" for name, value in split_scores.items())
            for split, split_scores in scores.items()))

    record = build_record(cfg, spec, kind="train", splits=[train_set, *eval_sets], tokenizer=tokenizer,
                          metrics=history[-1]["metrics"], history=history, device=accelerator.device,
                          num_processes=accelerator.num_processes, num_parameters=count_parameters(model))
    if accelerator.is_main_process:
        for prepared in eval_sets:
            write_predictions(out / f"predictions-{prepared.split}.jsonl", kind, spec, prepared.examples,
                              predictions[prepared.split])
        if cfg.save_model:
            accelerator.unwrap_model(model).save_pretrained(out / "model", safe_serialization=True)
            save_recipe(tokenizer, out / "model")
        save_run_config(cfg, spec, out / "config.yaml")
    eval_features = sum(len(prepared.features) for prepared in eval_sets)
    finish_record(record, out, cfg.results.path, started, throughput={
        "train_samples_per_s": round(len(train_set.features) * cfg.num_train_epochs / max(train_seconds, 1e-9), 2),
        "eval_samples_per_s": round(eval_features * cfg.num_train_epochs / max(eval_seconds, 1e-9), 2),
        "train_features": len(train_set.features), "eval_features": eval_features},
        write=accelerator.is_main_process)
    return RunResult(record["metrics"], record, out, accelerator.is_main_process)


def eval_split_names(data_cfg: DictConfig, spec: TaskSpec) -> list[str]:
    """data.eval_split (a split or a list of them) when set, else the task's eval_splits."""
    chosen = data_cfg.get("eval_split")
    if chosen is None:
        if not spec.eval_splits:
            raise UserError(f"task '{spec.name}' has no valid split to score: add files.valid, carve one with "
                            f"`split: {{valid: 0.1}}`, or set data.eval_split.")
        return list(spec.eval_splits)
    return [str(chosen)] if isinstance(chosen, (str, int, float)) else [str(split) for split in chosen]


def default_output_dir(cfg: DictConfig) -> Path:
    """outputs/<task>/<model>/<time> under the working directory: where a Hydra run would have put it."""
    return Path("outputs") / str(cfg.task.name) / str(cfg.model.name) / time.strftime("%Y-%m-%d_%H-%M-%S")


def save_run_config(cfg: DictConfig, spec: TaskSpec, path: Path) -> None:
    """The resolved config, with the labels the run used (inferred from train when the task lists none)."""
    resolved = OmegaConf.to_container(cfg, resolve=True)
    if spec.labels is not None:
        resolved["task"]["labels"] = list(spec.labels)
    write_yaml_atomic(path, resolved)


def make_accelerator(cfg: DictConfig) -> tuple[Accelerator, int]:
    """The accelerator, and the per-device batch size; accumulation makes up the rest of `batch_size`."""
    accelerator = accelerator_for(cfg.trainer)
    per_device = int(cfg.trainer.per_device_batch_size or cfg.batch_size)
    per_step = per_device * accelerator.num_processes
    if cfg.batch_size % per_step:
        raise UserError(f"batch_size {cfg.batch_size} is not a multiple of per_device_batch_size {per_device} x "
                        f"{accelerator.num_processes} processes; gradient accumulation needs a whole number.")
    accelerator.gradient_accumulation_steps = cfg.batch_size // per_step
    return accelerator, per_device


def accelerator_for(trainer: DictConfig) -> Accelerator:
    """An Accelerator for the trainer config's device and precision (fp32, bf16 autocast, fp16 autocast)."""
    precision = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}.get(trainer.precision)
    if precision is None:
        raise UserError(f"trainer.precision is {trainer.precision!r}; expected fp32, bf16 or fp16.")
    if trainer.device == "cuda" and not torch.cuda.is_available():
        raise UserError("trainer.device=cuda but no GPU is visible to torch; use trainer.device=auto or cpu.")
    use_cpu = trainer.device == "cpu" or not torch.cuda.is_available()
    if precision == "fp16" and use_cpu:
        raise UserError("trainer.precision=fp16 needs a GPU; use fp32 or bf16 on the CPU.")
    return fresh_accelerator(cpu=use_cpu, mixed_precision=precision)


def fresh_accelerator(**settings) -> Accelerator:
    """An Accelerator with exactly these settings. Accelerate keeps its state process-wide, so a second run in
    the same process (a Hydra sweep, a test, `evaluate` after `train`) with another precision or device would be
    refused; outside a distributed launch that state is safe to start afresh."""
    AcceleratorState._reset_state(reset_partial_state=not torch.distributed.is_initialized())
    GradientState._reset_state()
    return Accelerator(**settings)


def train_one_epoch(cfg, accelerator, model, optimizer, scheduler, features, input_names, pad_id,
                    per_device_batch, epoch, show) -> float:
    """One pass over the training features; returns the mean loss."""
    model.train()
    batches = training_batches([feature_length(feature) for feature in features], per_device_batch,
                               seed=cfg.seed + epoch, group_by_length=cfg.trainer.group_by_length)
    batches = shard_batches(batches, accelerator.num_processes, accelerator.process_index)
    accumulation = accelerator.gradient_accumulation_steps
    total_loss = 0.0
    # disable=None: a bar on a terminal, none in a log file (epoch lines are printed either way)
    progress = tqdm(batches, desc=f"train epoch {epoch}", unit="batch", leave=False, disable=None if show else True)
    for step, indices in enumerate(progress, start=1):
        batch = collate([features[i] for i in indices], input_names, pad_id, cfg.trainer.pad_to_multiple_of)
        batch = {name: tensor.to(accelerator.device) for name, tensor in batch.items()}
        # Accumulation is counted here rather than by accelerator.accumulate(): the batches are built per
        # epoch by our own sampler, and the last partial group of an epoch must still update the weights.
        update = step % accumulation == 0 or step == len(batches)
        group_start = (step - 1) // accumulation * accumulation
        group_size = min(accumulation, len(batches) - group_start)
        with (nullcontext() if update else accelerator.no_sync(model)), accelerator.autocast():
            loss = model(**batch).loss
            # backward divides by gradient_accumulation_steps; an epoch's last group may be shorter, and its
            # gradient must still be the mean over the micro-batches it has.
            accelerator.backward(loss * (accumulation / group_size))
        if update:
            if cfg.trainer.max_grad_norm:
                accelerator.clip_grad_norm_(model.parameters(), cfg.trainer.max_grad_norm)
            optimizer.step()
            scheduler.step()  # not prepared by Accelerate: one schedule step per optimizer step, exactly
            optimizer.zero_grad()
        total_loss += loss.item()
        progress.set_postfix(loss=f"{loss.item():.4f}")
    return total_loss / max(len(batches), 1)
