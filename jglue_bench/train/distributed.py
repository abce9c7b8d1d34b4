"""Several processes: how `batch_size` divides among them, the sharding strategy (`trainer.distributed`) as
Accelerate's own plugins, and the distributed environment of a multi-task SLURM job.

`batch_size` is the global batch whatever runs it: each optimizer step sees the same examples whether one
process or eight take them, and per_device_batch_size x processes x accumulation steps make it up exactly.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from jglue_bench.errors import UserError

STRATEGIES = ("ddp", "fsdp", "deepspeed")
ZERO_STAGES = (2, 3)


def batch_split(batch_size: int, per_device_batch_size: int | None, num_processes: int) -> tuple[int, int]:
    """(per-device batch, gradient accumulation steps) that make up `batch_size` over `num_processes`. null:
    the batch divided among the processes, in one step."""
    if batch_size % num_processes:
        fits = -(-batch_size // num_processes) * num_processes
        raise UserError(
            f"batch_size {batch_size} does not divide among {num_processes} processes; set batch_size={fits} (or "
            f"another multiple of {num_processes}), or start a number of processes that divides {batch_size}."
        )
    share = batch_size // num_processes
    if per_device_batch_size is None:
        return share, 1
    if share % per_device_batch_size:
        raise UserError(
            f"batch_size {batch_size} is not a multiple of per_device_batch_size {per_device_batch_size} x "
            f"{num_processes} processes; set trainer.per_device_batch_size=null ({share} per process) or a "
            f"divisor of {share}."
        )
    return per_device_batch_size, share // per_device_batch_size


def launched_world_size() -> int:
    """How many processes the launcher started (torchrun, accelerate launch, or SLURM through
    use_slurm_environment), read before any process group exists."""
    from accelerate.utils import get_int_from_env

    return get_int_from_env(["WORLD_SIZE", "PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "MV2_COMM_WORLD_SIZE"], 1)


def use_slurm_environment() -> bool:
    """Inside an `srun` step of several tasks (hydra/launcher=submitit_slurm with tasks_per_node or nodes > 1
    runs each job's tasks so), export RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT from SLURM's
    own variables, through submitit, so that Accelerate starts one process group over the tasks. Returns
    whether it did. The step's task count decides: a command typed in an `salloc -n 8` shell is one process,
    and must not wait for seven others."""
    if int(os.environ.get("SLURM_STEP_NUM_TASKS", "1")) <= 1 or "RANK" in os.environ:
        return False
    os.environ.setdefault("SUBMITIT_EXECUTOR", "slurm")  # a plain `srun` job: submitit reads SLURM all the same
    from submitit.helpers import TorchDistributedEnvironment

    # Each task keeps every GPU of its node in view: Accelerate picks cuda:LOCAL_RANK itself.
    TorchDistributedEnvironment().export(set_cuda_visible_devices=False, overwrite=True)
    return True


def strategy_plugins(trainer, num_processes: int, use_cpu: bool, per_device_batch_size: int = 1) -> dict[str, Any]:
    """The Accelerator's keyword arguments for trainer.distributed: none for ddp (Accelerate's default under
    several processes), FullyShardedDataParallelPlugin for fsdp, DeepSpeedPlugin for deepspeed. A strategy this
    machine cannot run is one line saying why."""
    strategy = trainer.get("distributed") or "ddp"
    if strategy not in STRATEGIES:
        raise UserError(f"trainer.distributed is {strategy!r}; expected one of {', '.join(STRATEGIES)}.")
    if strategy == "ddp":
        return {}
    if num_processes == 1:
        raise UserError(
            f"trainer.distributed={strategy} shards a model over several processes, but this run has one; start it "
            f"with `torchrun --nproc_per_node N -m jglue_bench.cli train ...` (or accelerate launch)."
        )
    if use_cpu:
        # Accelerate 1.15 turns FSDP and DeepSpeed on only for GPU (and other accelerator) processes; on the CPU
        # it would drop the plugin silently and run plain DDP under the strategy's name.
        raise UserError(
            f"trainer.distributed={strategy} needs GPUs (Accelerate shards models only across accelerator "
            f"devices); on the CPU use trainer.distributed=ddp."
        )
    if strategy == "fsdp":
        return {"fsdp_plugin": fsdp_plugin(trainer.precision)}
    return {"deepspeed_plugin": deepspeed_plugin(trainer, per_device_batch_size)}


def fsdp_plugin(precision: str):
    """Full sharding, the transformer layer as the wrap unit (named once the model is built:
    wrap_transformer_layers), full state dicts for saving, mixed precision as the trainer's."""
    from accelerate import FullyShardedDataParallelPlugin

    return FullyShardedDataParallelPlugin(
        fsdp_version=2,
        reshard_after_forward=True,  # FSDP2's full shard: parameters gathered for a layer's use only
        auto_wrap_policy="transformer_based_wrap",
        state_dict_type="FULL_STATE_DICT",
        mixed_precision_policy=None if precision == "fp32" else precision,
        cpu_ram_efficient_loading=False,
    )


def deepspeed_plugin(trainer, per_device_batch_size: int):
    """ZeRO stage trainer.zero_stage (2: optimizer states and gradients sharded; 3: parameters too). The loop
    prepares no DataLoader, so the micro-batch size DeepSpeed's config wants is given here."""
    import importlib.util

    stage = trainer.get("zero_stage", 2)
    if stage not in ZERO_STAGES:
        raise UserError(f"trainer.zero_stage is {stage!r}; expected one of {', '.join(map(str, ZERO_STAGES))}.")
    if importlib.util.find_spec("deepspeed") is None:
        raise UserError(
            "trainer.distributed=deepspeed needs DeepSpeed; install it with `pip install 'jglue-bench[deepspeed]'`."
        )
    from accelerate import DeepSpeedPlugin

    plugin = DeepSpeedPlugin(
        zero_stage=stage, gradient_clipping=trainer.max_grad_norm or None, zero3_save_16bit_model=stage == 3
    )
    plugin.deepspeed_config["train_micro_batch_size_per_gpu"] = per_device_batch_size
    return plugin


def transformer_layer_classes(model: torch.nn.Module) -> list[str]:
    """The class of the encoder's repeated layer (DistilBERT's TransformerBlock, BertLayer, DebertaV2Layer...):
    the elements of a ModuleList that are all of one class. `_no_split_modules` would miss some families
    (DistilBERT's and DeBERTa-v2's are empty) and name embeddings too."""
    names = {
        type(layers[0]).__name__
        for layers in model.modules()
        if isinstance(layers, torch.nn.ModuleList) and len(layers) and len({type(layer) for layer in layers}) == 1
    }
    return sorted(names)


def wrap_transformer_layers(accelerator, model: torch.nn.Module) -> None:
    """Under FSDP, each transformer layer is one shard unit (set before accelerator.prepare wraps the model)."""
    plugin = getattr(accelerator.state, "fsdp_plugin", None)
    if plugin is not None:
        plugin.transformer_cls_names_to_wrap = transformer_layer_classes(model)


def is_sharded(accelerator) -> bool:
    """FSDP or DeepSpeed: no process holds the whole model (or its optimizer state) alone."""
    from accelerate.utils import DistributedType

    return accelerator.distributed_type in (DistributedType.FSDP, DistributedType.DEEPSPEED)


def parallelism(trainer, accelerator, per_device_batch_size: int) -> dict[str, Any]:
    """What a record says of how the run was spread: processes, strategy, per-device and global batch."""
    return {
        "num_processes": accelerator.num_processes,
        "strategy": (trainer.get("distributed") or "ddp") if accelerator.num_processes > 1 else "single",
        "per_device_batch_size": per_device_batch_size,
        "gradient_accumulation_steps": accelerator.gradient_accumulation_steps,
        "global_batch_size": per_device_batch_size
        * accelerator.num_processes
        * accelerator.gradient_accumulation_steps,
    }
