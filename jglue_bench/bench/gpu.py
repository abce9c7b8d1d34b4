"""`bench gpu`: training throughput on a GPU per task, for a given model config: samples/s, tokens/s, MFU and
peak memory, for batches padded to max_seq_length (JGLUE's official setup: the baseline) against ours
(length-grouped, each batch padded to its own longest). FLOPs are estimated as 6 x parameters (all of them,
embeddings included) x tokens; MFU counts real tokens (padding is wasted work), `hardware MFU` counts every
computed token. Both modes run the stock model (no first-token last layer), so every FLOP counted is one the
GPU did; ours runs multiple choice in `trainer.choice_groups`. Without a GPU it says so and exits 0 (`--cpu`
runs it on the CPU anyway, as a smoke test)."""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jglue_bench.bench.common import inputs, random_distilbert_overrides, ratio, report, task_config
from jglue_bench.bench.padding import TASK_SPLITS

BASE_ARCHITECTURE = {"dim": 768, "n_layers": 6, "n_heads": 12, "hidden_dim": 3072}  # DistilBERT-base
# dense peak TFLOPS by GPU name fragment (spec sheets, no sparsity); fp32 without TF32 (torch's default)
PEAK_TFLOPS = {
    "H100 PCIe": {"bf16": 756.0, "fp32": 51.0},
    "H100": {"bf16": 989.4, "fp32": 66.9},
    "H200": {"bf16": 989.4, "fp32": 66.9},
    "A100": {"bf16": 312.0, "fp32": 19.5},
    "L40S": {"bf16": 362.1, "fp32": 91.6},
    "L4": {"bf16": 121.0, "fp32": 30.3},
    "A10G": {"bf16": 70.0, "fp32": 31.2},
    "4090": {"bf16": 165.2, "fp32": 82.6},
}
WARMUP_STEPS = 3
NO_GPU = (
    "bench gpu: no GPU is visible to torch on this machine; nothing to measure (`--cpu` runs it on the CPU as "
    "a smoke test)."
)


def gpu_visible() -> bool:
    import torch

    return torch.cuda.is_available()


def run(
    data: Path,
    vocab: Path,
    version: str = "1.3",
    overrides: Sequence[str] = (),
    steps: int = 30,
    precision: str | None = None,
    peak_tflops: float | None = None,
    device: str = "cuda",
    out_dir: Path | None = None,
    tasks=TASK_SPLITS,
    limit: int | None = None,
) -> dict | None:
    import torch

    if device == "cuda" and not gpu_visible():
        print(NO_GPU)
        return None
    precision = precision or ("bf16" if device == "cuda" else "fp32")
    peak = peak_tflops or peak_for(torch.cuda.get_device_name(0) if device == "cuda" else "", precision)
    name = "random_distilbert_base_bandainamco_vocab"
    model_overrides = [*random_distilbert_overrides(vocab, BASE_ARCHITECTURE, name), *overrides]
    measures = [
        measure_task(task, split, data, version, model_overrides, steps, precision, peak, device, limit)
        for task, split in tasks
    ]
    return report_tasks(
        measures,
        precision,
        peak,
        steps,
        device,
        out_dir,
        {**inputs(data, vocab, version), "model_overrides": list(model_overrides)},
    )


def peak_for(gpu_name: str, precision: str) -> float | None:
    for fragment, peaks in PEAK_TFLOPS.items():  # "H100 PCIe" is listed before "H100": the first match wins
        if fragment in gpu_name:
            return peaks.get(precision)
    return None


def measure_task(
    task: str,
    split: str,
    data: Path,
    version: str,
    model_overrides: Sequence[str],
    steps: int,
    precision: str,
    peak: float | None,
    device: str,
    limit: int | None,
) -> dict[str, Any]:
    from jglue_bench.bench.common import present_splits
    from jglue_bench.prepare.stage import featurize_split, read_split, task_spec
    from jglue_bench.tasks import kind_module
    from jglue_bench.tokenization import load_tokenizer
    from jglue_bench.train.modeling import build_model, count_parameters, forward_input_names

    cfg = task_config(task, data, version, *model_overrides)
    spec = task_spec(cfg)
    split = (present_splits(spec, data, (split, "train", "valid")) or [split])[0]
    tokenizer = load_tokenizer(cfg.model, cfg.data.cache_dir)
    model = build_model(cfg.model, spec, kind_module(spec.kind), tokenizer, int(cfg.seed))
    input_names = forward_input_names(model)
    examples = read_split(spec, cfg.data, split, limit or int(cfg.batch_size) * (steps + WARMUP_STEPS) * 2)
    prepared = featurize_split(examples, spec, tokenizer, int(cfg.max_seq_length), "token_type_ids" in input_names)
    setup = {
        "input_names": input_names,
        "pad_id": tokenizer.pad_token_id,
        "batch_size": int(cfg.batch_size),
        "forward": kind_module(spec.kind).forward,
        "choice_groups": int(cfg.trainer.choice_groups),
        "max_seq_length": int(cfg.max_seq_length),
        "steps": steps,
        "precision": precision,
        "device": device,
        "seed": int(cfg.seed),
    }
    parameters = count_parameters(model)
    modes = {
        mode: timed_training(copy.deepcopy(model), list(prepared.features), setup, mode == "pad_to_max")
        for mode in ("pad_to_max", "grouped")
    }
    for measured in modes.values():
        add_mfu(measured, parameters, peak)
    return {"task": task, "split": split, "data": f"{task} {split}", "parameters": parameters, "modes": modes}


def timed_training(model, features: list[dict], setup: dict[str, Any], pad_to_max: bool) -> dict[str, Any]:
    """WARMUP_STEPS untimed, then `steps` timed optimizer steps over this batching's first batches."""
    import torch

    from jglue_bench.bench.padding import computed_tokens
    from jglue_bench.train.batching import Collator, feature_length, to_device, training_batches

    device = torch.device(setup["device"])
    model.to(device).train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-5, fused=True)
    lengths = [feature_length(feature) for feature in features]
    batches = training_batches(lengths, setup["batch_size"], setup["seed"] + 1, group_by_length=not pad_to_max)
    batches = (batches * (1 + (WARMUP_STEPS + setup["steps"]) // max(len(batches), 1)))[: WARMUP_STEPS + setup["steps"]]
    dtype = torch.bfloat16 if setup["precision"] == "bf16" else None
    counts = {"samples": 0, "real_tokens": 0, "computed_tokens": 0}
    # padding to a multiple of max_seq_length pads to max_seq_length itself (no sequence is longer)
    collator = (
        Collator(setup["input_names"], setup["pad_id"], setup["max_seq_length"])
        if pad_to_max
        else Collator(setup["input_names"], setup["pad_id"], choice_groups=setup["choice_groups"])
    )
    for step, indices in enumerate(batches):
        if step == WARMUP_STEPS:
            started = start_timing(device)
        batch = collator([features[i] for i in indices])
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            loss = setup["forward"](model, to_device(batch, device)).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if step >= WARMUP_STEPS:
            counts["samples"] += len(indices)
            counts["real_tokens"] += sum(
                int(group["attention_mask"].sum()) for group in batch.get("choice_groups", [batch])
            )
            counts["computed_tokens"] += computed_tokens(batch)
    seconds = stop_timing(device, started)
    peak_memory = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    return {
        **counts,
        "seconds": seconds,
        "samples_per_s": counts["samples"] / seconds,
        "real_tokens_per_s": counts["real_tokens"] / seconds,
        "peak_memory_bytes": peak_memory,
    }


def start_timing(device) -> float:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    return time.perf_counter()


def stop_timing(device, started: float) -> float:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - started


def add_mfu(measured: dict[str, Any], parameters: int, peak_tflops: float | None) -> None:
    """MFU over real tokens (useful work) and over computed tokens (what the hardware did), when the peak is known."""
    for name, tokens in (("mfu", measured["real_tokens"]), ("hardware_mfu", measured["computed_tokens"])):
        flops_per_s = 6 * parameters * tokens / measured["seconds"]
        measured[name] = flops_per_s / (peak_tflops * 1e12) if peak_tflops else None


def report_tasks(
    measures: list[dict],
    precision: str,
    peak: float | None,
    steps: int,
    device: str,
    out_dir: Path | None,
    setup: dict[str, Any],
) -> dict:
    rows = []
    for measure in measures:
        for mode, m in measure["modes"].items():
            memory = m["peak_memory_bytes"] / 2**30 if m["peak_memory_bytes"] is not None else None
            rows.append(
                [
                    measure["data"],
                    "pad to max (baseline)" if mode == "pad_to_max" else "grouped (ours)",
                    m["samples_per_s"],
                    m["real_tokens_per_s"],
                    m["mfu"],
                    m["hardware_mfu"],
                    memory,
                ]
            )
    speed = {m["task"]: {mode: m["modes"][mode]["samples_per_s"] for mode in m["modes"]} for m in measures}
    parts = [f"{task} {ratio(modes['grouped'], modes['pad_to_max']):.2f}x" for task, modes in speed.items()]
    result = {**setup, "tasks": measures, "precision": precision, "peak_tflops": peak, "steps": steps, "run_on": device}
    report(
        "gpu",
        f"bench gpu: training steps on {device} ({precision}), {steps} timed steps per task and batching, "
        f"peak {peak or 'unknown'} TFLOPS",
        ["data", "batching", "samples/s", "real tokens/s", "MFU", "hardware MFU", "peak memory GiB"],
        rows,
        result,
        "ratio ours/pad-to-max samples/s: " + ", ".join(parts),
        out_dir,
    )
    return result
