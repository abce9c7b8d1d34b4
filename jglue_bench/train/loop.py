"""train(cfg) -> RunResult: prepare, fine-tune with Accelerate, score each epoch on every eval split, save, record.

The loop reads top to bottom; the official JGLUE protocol scores the last epoch, so that is the reported
result (every epoch's scores are kept in the record's history). Every epoch's batches are planned from the seed
before training starts, so the number of optimizer steps is counted from the batches themselves, and a run
resumed from a checkpoint sees exactly the batches it would have seen.
"""

from __future__ import annotations

import math
import sys
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState, GradientState
from accelerate.utils import DistributedDataParallelKwargs, set_seed
from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm
from transformers import get_scheduler

from jglue_bench.config import check_run_config, resolved_config
from jglue_bench.errors import UserError, explained_write_errors
from jglue_bench.prepare.stage import PreparedSplit, featurize_split, read_split, resolve_labels, task_spec
from jglue_bench.records.build import build_record, finish_record
from jglue_bench.records.key import experiment_key
from jglue_bench.records.model_card import write_model_card
from jglue_bench.records.store import find_record, write_yaml_atomic
from jglue_bench.tasks import TaskSpec, kind_module
from jglue_bench.tokenization import load_tokenizer, tokenizer_fingerprint
from jglue_bench.tokenization.presegment import jumanpp_command
from jglue_bench.tokenization.recipes import save_recipe
from jglue_bench.train import checkpoints
from jglue_bench.train.batching import Collator, micro_steps, to_device, training_batches
from jglue_bench.train.decoders import check_decoder_task, ready_tokenizer
from jglue_bench.train.distributed import (
    batch_split,
    is_sharded,
    launched_world_size,
    parallelism,
    strategy_plugins,
    use_slurm_environment,
    wrap_transformer_layers,
)
from jglue_bench.train.evaluation import predict, score_outputs, write_predictions
from jglue_bench.train.first_token import first_token_last_layer
from jglue_bench.train.modeling import (
    build_model,
    checkpoint_activations,
    forward_input_names,
    library_progress_bars,
    max_input_length,
    model_facts,
    needs_unused_parameters,
)
from jglue_bench.train.peft_adapters import (
    add_adapter,
    check_merge,
    check_qlora,
    merged_model,
    peft_settings,
    recorded_settings,
    upcast_trainable,
)
from jglue_bench.train.preflight import (
    check_hub_reachable,
    check_output_dir,
    check_training_dtype,
    check_writable_store,
    warn_about_precision,
)
from jglue_bench.train.trackers import Tracking, start_tracking, tracker_settings

LOG_EVERY = 50  # optimizer steps between progress-bar loss updates (reading the loss waits for the device)


@dataclass
class RunResult:
    metrics: dict[str, float]  # last epoch, first eval split, on the published tables' scale (x100)
    record: dict[str, Any]
    output_dir: Path
    main_process: bool = True  # under a multi-process launch only the main process writes and prints
    skipped: bool = False  # the results store already held this experiment


@dataclass
class Loop:
    """What the training loop works with, and where it is (the part a checkpoint saves)."""

    cfg: DictConfig
    accelerator: Accelerator
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: Any
    collator: Collator
    forward: Any  # the task kind's forward(model, batch)
    tokenizer: Any
    plan: list[list[list[int]]]  # per epoch, the global batches of feature indices (the same in every process)
    out: Path
    state: dict[str, Any] = field(
        default_factory=lambda: {
            "epoch": 1,
            "batches_done": 0,
            "loss_sum": 0.0,
            "optimizer_steps": 0,
            "history": [],
            "train_seconds": 0.0,
            "eval_seconds": 0.0,
        }
    )
    tracking: Tracking = field(default_factory=Tracking)  # trainer.log_with's trackers (none: does nothing)


def train(cfg: DictConfig, output_dir: str | Path | None = None, sweep: dict[str, Any] | None = None) -> RunResult:
    """Fine-tune and score one run. `sweep`: the sweep and grid cell it belongs to (the CLI passes it)."""
    started = time.perf_counter()
    cfg = resolved_config(cfg)
    check_run_config(cfg)
    check_writable_store(cfg.results.path)
    check_hub_reachable(cfg.model)
    jumanpp_command(cfg.model.tokenizer, cfg.model.name)  # a missing Juman++ binary: one line, before any work
    accelerator, per_device_batch = make_accelerator(cfg)
    spec = resolve_labels(task_spec(cfg), cfg.data)
    check_decoder_task(cfg.model, spec)
    adapter = peft_settings(cfg.model)  # model.peft checked before any work
    check_qlora(adapter, on_cpu=runs_on_cpu(cfg.trainer))
    check_training_dtype(cfg.model, adapter)
    check_merge(cfg.model, cfg.trainer.get("distributed"), is_sharded(accelerator))
    # Every record of every split is read and validated before anything is written.
    train_data = read_split(spec, cfg.data, cfg.data.train_split, cfg.data.max_train_samples)
    eval_data = [
        read_split(spec, cfg.data, split, cfg.data.max_eval_samples) for split in eval_split_names(cfg.data, spec)
    ]
    tokenizer = ready_tokenizer(cfg.model, load_tokenizer(cfg.model, cfg.data.cache_dir))
    experiment = {
        "key": experiment_key(cfg, spec, [train_data, *eval_data], tokenizer_fingerprint(tokenizer)),
        **(sweep or {}),
    }
    if not cfg.get("rerun", False) and (done := find_record(cfg.results.path, experiment["key"])) is not None:
        return skipped_run(done, cfg)
    resume_dir = checkpoints.run_in_progress(cfg.data.cache_dir, experiment["key"]) if cfg.get("resume") else None
    out = resume_dir or Path(output_dir or cfg.output_dir or default_output_dir(cfg))
    # A sweep's job folder is its cell's; when the store has no record of the cell, the folder is an interrupted
    # try (or rerun=true asked for it again), so it may be replaced.
    check_output_dir(out, resuming=resume_dir is not None, overwrite=bool(cfg.get("overwrite")) or sweep is not None)
    accelerator.wait_for_everyone()  # every process checks the folder before the main one writes into it
    tracking = start_tracking(accelerator, cfg, experiment, out, sweep)

    if accelerator.is_main_process and any(data.file.origin == "bundled-sample" for data in [train_data, *eval_data]):
        print(
            f"note: {spec.name} reads the bundled sample (no data folder is set): a smoke run, its scores mean nothing",
            file=sys.stderr,
        )
    warn_about_precision(cfg.trainer, accelerator.device)
    if accelerator.is_main_process and cfg.trainer.get("save_checkpoints", True) and is_sharded(accelerator):
        print(
            f"note: trainer.distributed={cfg.trainer.distributed} keeps no checkpoints (resume=true is for ddp and "
            "one-process runs): a killed run starts over",
            file=sys.stderr,
        )
    library_progress_bars(cfg.trainer.progress_bar and accelerator.is_local_main_process)
    set_seed(cfg.seed)
    kind = kind_module(spec.kind)
    model = build_model(cfg.model, spec, kind, tokenizer, cfg.seed)
    if cfg.trainer.get("first_token_last_layer"):
        first_token_last_layer(model)
    if cfg.trainer.get("gradient_checkpointing"):
        checkpoint_activations(model, cfg.model.name)
    input_names = forward_input_names(model)
    with_token_types = "token_type_ids" in input_names
    max_length = max_input_length(model, cfg.max_seq_length)
    train_set = featurize_split(train_data, spec, tokenizer, max_length, with_token_types, cfg.data)
    eval_sets = [featurize_split(data, spec, tokenizer, max_length, with_token_types, cfg.data) for data in eval_data]
    if adapter is not None:
        model = add_adapter(model, adapter)
        if cfg.trainer.precision != "fp32":
            # under autocast the trained copies of the head (modules_to_save) of a bfloat16 base update in float32
            # as LoRA's matrices do; autocast computes them in half precision all the same
            upcast_trainable(model)
    loop = make_loop(cfg, accelerator, model, train_set, kind, input_names, tokenizer, out)
    loop.tracking = tracking
    if resume_dir is not None:
        loop.state = checkpoints.load_checkpoint(
            checkpoints.latest_checkpoint(out), accelerator, loop.model, loop.optimizer, loop.scheduler
        )
        accelerator.print(f"resuming {out} at epoch {loop.state['epoch']}, batch {loop.state['batches_done']}")
    if accelerator.is_main_process:
        checkpoints.remember_run(cfg.data.cache_dir, experiment["key"], out)

    predictions = run_epochs(loop, spec, kind, train_set, eval_sets)
    history = loop.state["history"]
    record = build_record(
        cfg,
        spec,
        kind="train",
        splits=[train_set, *eval_sets],
        tokenizer=tokenizer,
        metrics=history[-1]["metrics"],
        history=history,
        device=accelerator.device,
        num_processes=accelerator.num_processes,
        model_facts=model_facts(model, recorded_settings(model, adapter)),
        experiment=experiment,
        parallelism=parallelism(cfg.trainer, accelerator, per_device_batch),
    )
    # Sharded weights are gathered by every process together; a DDP copy is whole (None: the model saves its own).
    weights = accelerator.get_state_dict(loop.model) if cfg.save_model and is_sharded(accelerator) else None
    with explained_write_errors(f"the run's outputs into {out} and {cfg.results.path}"):
        if accelerator.is_main_process:
            for prepared in eval_sets:
                write_predictions(
                    out / f"predictions-{prepared.split}.jsonl",
                    kind,
                    spec,
                    prepared.examples,
                    predictions[prepared.split],
                )
            if cfg.save_model:
                save_model(accelerator.unwrap_model(loop.model), out, weights, tokenizer, adapter, cfg.model)
            save_run_config(cfg, spec, out / "config.yaml")
        finish_record(
            record,
            out,
            cfg.results.path,
            started,
            throughput=throughput(cfg, loop, train_set, eval_sets),
            write=accelerator.is_main_process,
        )
        if accelerator.is_main_process and cfg.save_model:  # the card reads the finished record (wall time)
            write_model_card(record, out / "model")
    if accelerator.is_main_process:  # the run is complete: its checkpoints have done their job
        checkpoints.forget_run(cfg.data.cache_dir, experiment["key"])
        checkpoints.remove_all(out)
    loop.tracking.finish(record)
    # the other processes return only once the main one has written: they then remove their own run folder if it
    # is empty, and in a sweep that folder is the main one's (without this, one could go before the first write)
    accelerator.wait_for_everyone()
    return RunResult(record["metrics"], record, out, accelerator.is_main_process)


def save_model(model, out: Path, weights, tokenizer, adapter, model_cfg: DictConfig) -> None:
    """The fine-tuned model and its tokenizer into out/model; with LoRA, the adapter and the head only (PEFT's
    format), and with model.merge_adapter=true also the base weights with the adapter folded in, out/merged."""
    if adapter is None:
        model.save_pretrained(out / "model", state_dict=weights, safe_serialization=True)
    else:  # sharded (FSDP, DeepSpeed): peft takes the adapter and the head out of the gathered state dict
        model.save_pretrained(
            out / "model", safe_serialization=True, **({} if weights is None else {"state_dict": weights})
        )
    save_recipe(tokenizer, out / "model")
    if adapter is not None and model_cfg.get("merge_adapter"):
        merged_model(model).save_pretrained(out / "merged", safe_serialization=True)
        save_recipe(tokenizer, out / "merged")


def make_loop(
    cfg: DictConfig,
    accelerator: Accelerator,
    model,
    train_set: PreparedSplit,
    kind,
    input_names: tuple[str, ...],
    tokenizer,
    out: Path,
) -> Loop:
    """Plan every epoch's batches, then the optimizer and a schedule over exactly that many optimizer steps."""
    lengths = train_set.features.lengths()
    # The global batches, planned from the seed alone: one process or several, the same batches in the same
    # order; each process takes its part of each (micro_steps).
    plan = [
        training_batches(lengths, cfg.batch_size, seed=cfg.seed + epoch, group_by_length=cfg.trainer.group_by_length)
        for epoch in range(1, cfg.num_train_epochs + 1)
    ]
    total_steps = sum(len(batches) for batches in plan)  # one optimizer step per global batch
    fused = accelerator.device.type in ("cuda", "cpu")  # one kernel for the whole update (as HF Trainer's default)
    optimizer = torch.optim.AdamW(
        # the parameters that train: with LoRA the frozen base (QLoRA's in 4-bit integers) is not the optimizer's
        [parameter for parameter in model.parameters() if parameter.requires_grad],
        lr=cfg.learning_rate,
        eps=cfg.trainer.adam_epsilon,
        betas=tuple(cfg.trainer.adam_betas),
        weight_decay=cfg.trainer.weight_decay,
        fused=fused,
    )
    wrap_transformer_layers(accelerator, model)
    if needs_unused_parameters(model) and accelerator.ddp_handler is None:
        accelerator.ddp_handler = DistributedDataParallelKwargs(find_unused_parameters=True)
    model, optimizer = accelerator.prepare(model, optimizer)
    if cfg.trainer.get("compile"):
        model = torch.compile(model, dynamic=True)  # dynamic: every batch has its own padded length
    scheduler = get_scheduler(
        cfg.trainer.lr_scheduler,
        optimizer,
        num_training_steps=total_steps,
        num_warmup_steps=math.ceil(total_steps * cfg.trainer.warmup_ratio),
    )
    collator = collator_for(cfg.trainer, input_names, tokenizer, accelerator.num_processes)
    return Loop(cfg, accelerator, model, optimizer, scheduler, collator, kind.forward, tokenizer, plan, out)


def collator_for(trainer: DictConfig, input_names: tuple[str, ...], tokenizer, num_processes: int = 1) -> Collator:
    """Batches as the trainer config asks. Choice groups call the model once per group before one backward,
    which DDP's gradient synchronisation does not allow: with several processes a batch is one group."""
    groups = int(trainer.get("choice_groups") or 1) if num_processes == 1 else 1
    return Collator(tuple(input_names), tokenizer.pad_token_id, trainer.pad_to_multiple_of, groups)


def run_epochs(
    loop: Loop, spec: TaskSpec, kind, train_set: PreparedSplit, eval_sets: list[PreparedSplit]
) -> dict[str, list]:
    """Train and score epoch by epoch from where the loop state is; the last epoch's predictions per split."""
    cfg, accelerator, state = loop.cfg, loop.accelerator, loop.state
    show = cfg.trainer.progress_bar and accelerator.is_local_main_process
    predictions: dict[str, list] = {}
    while state["epoch"] <= cfg.num_train_epochs:
        epoch = state["epoch"]
        epoch_started = time.perf_counter()
        loss = train_one_epoch(loop, train_set.features, show)
        state["train_seconds"] += time.perf_counter() - epoch_started
        scores = {}
        for prepared in eval_sets:
            outputs, seconds = predict(
                loop.model,
                prepared.features,
                kind,
                loop.collator,
                cfg.trainer.eval_batch_size,
                accelerator.device,
                accelerator.autocast,
                show,
                desc=f"eval {prepared.split} epoch {epoch}",
                processes=(accelerator.num_processes, accelerator.process_index),
            )
            state["eval_seconds"] += seconds
            predictions[prepared.split], scores[prepared.split] = score_outputs(
                kind, spec, outputs, prepared.features, prepared.examples, loop.tokenizer
            )
        state["history"].append({"epoch": epoch, "train_loss": round(loss, 6), "metrics": scores})
        loop.tracking.epoch(state["history"][-1], state["optimizer_steps"])
        accelerator.print(
            f"epoch {epoch}/{cfg.num_train_epochs}: train loss {loss:.4f}, "
            + "; ".join(
                f"{split} " + ", ".join(f"{name} {value:.2f}" for name, value in split_scores.items())
                for split, split_scores in scores.items()
            )
        )
        state.update(epoch=epoch + 1, batches_done=0, loss_sum=0.0)
        if epoch < cfg.num_train_epochs:
            save_checkpoint(loop)
    return predictions


def train_one_epoch(loop: Loop, features, show: bool) -> float:
    """The current epoch's planned batches, from the first one not yet done; returns the epoch's mean loss (the
    mean over its global batches of each one's mean loss). The loss is summed on the device and read only at
    logging points, checkpoints and the epoch's end."""
    cfg, accelerator, state = loop.cfg, loop.accelerator, loop.state
    batches = loop.plan[state["epoch"] - 1]
    accumulation, processes = accelerator.gradient_accumulation_steps, accelerator.num_processes
    # ZeRO-2/3 and FSDP2 reduce gradients as they go; DeepSpeed refuses no_sync under gradient partitioning.
    sharded = is_sharded(accelerator)
    steps = micro_steps(
        batches[state["batches_done"] :], state["batches_done"] + 1, processes, accumulation, accelerator.process_index
    )
    checkpoint_steps = cfg.trainer.get("checkpoint_steps")
    loop.model.train()
    loss_sum = torch.zeros((), device=accelerator.device)
    # disable=None: a bar on a terminal, none in a log file (epoch lines are printed either way)
    progress = tqdm(
        total=len(batches),
        initial=state["batches_done"],
        desc=f"train epoch {state['epoch']}",
        unit="batch",
        leave=False,
        disable=None if show else True,
    )
    # Accumulation is counted here rather than by accelerator.accumulate(): each global batch is one optimizer
    # step, whatever its size (an epoch's last one may be smaller).
    for step, batch in zip(steps, batch_stream(loop, features, [step.indices for step in steps])):
        with nullcontext() if step.update or sharded else accelerator.no_sync(loop.model), accelerator.autocast():
            loss = loop.forward(loop.model, batch).loss
            # A micro-batch's mean loss weighs as its share of the global batch: backward divides by the
            # accumulation steps and DDP averages over the processes, so the gradient is the global batch's
            # mean loss's, as one process taking the whole batch at once computes it.
            accelerator.backward(loss * (step.share * processes * accumulation))
        loss_sum += loss.detach() * step.share
        loop.tracking.add_loss(loss)
        if not step.update:
            continue
        progress.update()
        optimizer_step(loop)
        state["optimizer_steps"] += 1
        loop.tracking.optimizer_step(state["optimizer_steps"], loop.scheduler)
        if state["optimizer_steps"] % LOG_EVERY == 0:
            progress.set_postfix(loss=f"{loss.item():.4f}")
        if checkpoint_steps and state["optimizer_steps"] % checkpoint_steps == 0 and step.batch_number < len(batches):
            state.update(
                batches_done=step.batch_number, loss_sum=state["loss_sum"] + summed_over_processes(loop, loss_sum)
            )
            loss_sum.zero_()
            save_checkpoint(loop)
    progress.close()
    return (state["loss_sum"] + summed_over_processes(loop, loss_sum)) / max(len(batches), 1)


def summed_over_processes(loop: Loop, value: torch.Tensor) -> float:
    """Each process holds its micro-batches' part of the loss; the checkpoint and the epoch's mean hold all."""
    return loop.accelerator.reduce(value, reduction="sum").item()


def batch_stream(loop: Loop, features, batches: list[list[int]]):
    """Padded tensors on the device, one batch after another. On a GPU a DataLoader builds them in worker
    processes into pinned memory, so the next batch is ready while the current one trains."""
    cfg, device = loop.cfg, loop.accelerator.device

    def build(indices: list[int]) -> dict[str, Any]:
        return loop.collator([features[i] for i in indices])

    workers = cfg.trainer.get("dataloader_workers")
    workers = (2 if device.type == "cuda" else 0) if workers in (None, "auto") else int(workers)
    # A generator of its own: the loader must not draw from the global RNG that dropout (and a resumed run) uses.
    source = (
        torch.utils.data.DataLoader(
            batches,
            batch_size=None,
            collate_fn=build,
            num_workers=workers,
            pin_memory=device.type == "cuda",
            generator=torch.Generator(),
        )
        if workers
        else map(build, batches)
    )
    for batch in source:
        yield to_device(batch, device)


def optimizer_step(loop: Loop) -> None:
    if loop.cfg.trainer.max_grad_norm:
        loop.accelerator.clip_grad_norm_(loop.model.parameters(), loop.cfg.trainer.max_grad_norm)
    loop.optimizer.step()
    loop.scheduler.step()  # not prepared by Accelerate: one schedule step per optimizer step, exactly
    loop.optimizer.zero_grad(set_to_none=True)


def save_checkpoint(loop: Loop) -> None:
    if checkpoints_kept(loop.cfg.trainer, loop.accelerator) and loop.accelerator.is_main_process:
        with explained_write_errors(f"a checkpoint into {loop.out / checkpoints.FOLDER}"):
            checkpoints.save_checkpoint(
                loop.out,
                loop.accelerator,
                loop.model,
                loop.optimizer,
                loop.scheduler,
                loop.state,
                keep=int(loop.cfg.trainer.get("keep_checkpoints", 2)),
            )
    loop.accelerator.wait_for_everyone()


def checkpoints_kept(trainer: DictConfig, accelerator: Accelerator) -> bool:
    """A checkpoint is one process's whole model and optimizer state: under FSDP or DeepSpeed no process has
    them, so those runs keep none (they start over when killed)."""
    return bool(trainer.get("save_checkpoints", True)) and not is_sharded(accelerator)


def throughput(cfg: DictConfig, loop: Loop, train_set: PreparedSplit, eval_sets: list[PreparedSplit]) -> dict:
    state = loop.state
    eval_features = sum(len(prepared.features) for prepared in eval_sets)
    return {
        "train_samples_per_s": round(
            len(train_set.features) * cfg.num_train_epochs / max(state["train_seconds"], 1e-9), 2
        ),
        "eval_samples_per_s": round(eval_features * cfg.num_train_epochs / max(state["eval_seconds"], 1e-9), 2),
        "train_features": len(train_set.features),
        "eval_features": eval_features,
    }


def skipped_run(record: dict[str, Any], cfg: DictConfig) -> RunResult:
    """A run whose experiment the results store already holds: one line, and the stored result."""
    from accelerate import PartialState

    main = PartialState().is_main_process
    if main:
        scores = ", ".join(f"{name} {value:.2f}" for name, value in record["metrics"].items() if value is not None)
        hyper = record["hyperparameters"]
        print(
            f"skip: {record['task']['name']} / {record['model']['name']} (lr {hyper['learning_rate']}, epochs "
            f"{hyper['num_train_epochs']}, seed {record['seed']}): experiment {record['experiment']['key']} is "
            f"already in {cfg.results.path} (run {record['run_id']}: {scores}); rerun=true runs it again"
        )
    return RunResult(record["metrics"], record, Path(record.get("output_dir", ".")), main, skipped=True)


def eval_split_names(data_cfg: DictConfig, spec: TaskSpec) -> list[str]:
    """data.eval_split (a split or a list of them) when set, else the task's eval_splits."""
    chosen = data_cfg.get("eval_split")
    if chosen is None:
        if not spec.eval_splits:
            raise UserError(
                f"task '{spec.name}' has no valid split to score: add files.valid, carve one with "
                f"`split: {{valid: 0.1}}`, or set data.eval_split."
            )
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
    """The accelerator, and the per-device batch size; processes and accumulation make up the rest of
    `batch_size`, the global batch."""
    use_slurm_environment()
    num_processes = launched_world_size()
    per_device, accumulation = batch_split(cfg.batch_size, cfg.trainer.per_device_batch_size, num_processes)
    # Training only: a saved run's `evaluate` reads the whole model in each process, whatever trained it.
    plugins = strategy_plugins(cfg.trainer, num_processes, runs_on_cpu(cfg.trainer), per_device)
    accelerator = accelerator_for(cfg.trainer, **plugins, **tracker_settings(cfg.trainer))
    accelerator.gradient_accumulation_steps = accumulation
    return accelerator, per_device


def accelerator_for(trainer: DictConfig, **settings) -> Accelerator:
    """An Accelerator for the trainer config's device and precision (fp32, bf16 autocast, fp16 autocast);
    `settings`: more of the Accelerator's own (trackers: log_with, project_dir; a strategy's plugin), none by
    default."""
    precision = {"fp32": "no", "bf16": "bf16", "fp16": "fp16"}.get(trainer.precision)
    if precision is None:
        raise UserError(f"trainer.precision is {trainer.precision!r}; expected fp32, bf16 or fp16.")
    if trainer.device == "cuda" and not torch.cuda.is_available():
        raise UserError("trainer.device=cuda but no GPU is visible to torch; use trainer.device=auto or cpu.")
    use_cpu = runs_on_cpu(trainer)
    if precision == "fp16" and use_cpu:
        raise UserError("trainer.precision=fp16 needs a GPU; use fp32 or bf16 on the CPU.")
    return fresh_accelerator(cpu=use_cpu, mixed_precision=precision, **settings)


def runs_on_cpu(trainer: DictConfig) -> bool:
    return trainer.device == "cpu" or not torch.cuda.is_available()


def fresh_accelerator(**settings) -> Accelerator:
    """An Accelerator with exactly these settings. Accelerate keeps its state process-wide, so a second run in
    the same process (a Hydra sweep, a test, `evaluate` after `train`) with another precision or device would be
    refused; outside a distributed launch that state is safe to start afresh."""
    AcceleratorState._reset_state(reset_partial_state=not torch.distributed.is_initialized())
    GradientState._reset_state()
    return Accelerator(**settings)
