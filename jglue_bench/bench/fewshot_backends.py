"""`jglue-bench bench fewshot`: few-shot throughput of lm-eval's two backends on one model, measured in the same
run: transformers' HFLM (batched; the baseline) and vLLM (the candidate; CUDA only, an optional extra). Each side
is a `jglue-bench fewshot` run of the same preset, task, documents, batch size and dtype, in its own process (so
the first side's model and cached GPU memory are gone before vLLM claims its share of the GPU); its record and
predictions stay under the benchmark's folder, and the table puts the sides' throughput side by side, the ratio
last. Each side's timed window is lm-eval's evaluation alone (model loading is not in it); HFLM's first batch
warms up inside it, vLLM warms up while it loads.

The model is a folder (--model-dir) or a random Llama of a real model's shape over the real llm-jp v3 tokenizer
in $JGLUE_MODELS_DIR; the default shape is llm-jp-3 1.8B's (24 layers x 2048, 16 heads, feed-forward 7168), the
size of the smallest models Japanese LLM papers report. Random weights score near chance: the benchmark is about
speed, and both backends must score alike (log-likelihoods of the same prompts)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jglue_bench.errors import UserError

REAL_SHAPE = {"layers": 24, "hidden": 2048, "heads": 16, "intermediate": 7168}  # llm-jp-3 1.8B's config.json
BACKENDS = ("hf", "vllm")


def run(
    data_dir: Path | None,
    preset: str,
    task: str,
    limit: int,
    backends: Sequence[str],
    model_dir: Path | None,
    shape: dict[str, int],
    dtype: str,
    batch_size: int,
    out_dir,
) -> dict[str, Any]:
    from jglue_bench.bench.common import DEFAULT_OUT_DIR, ratio, report

    runs = Path(out_dir or DEFAULT_OUT_DIR) / f"fewshot-backends-{time.strftime('%Y%m%d-%H%M%S')}"
    with tempfile.TemporaryDirectory(prefix="jglue-bench-fewshot-") as work:
        model = Path(model_dir).expanduser() if model_dir else random_llama(Path(work) / "model", shape, dtype)
        if not (model / "config.json").is_file():
            raise UserError(f"bench fewshot --model-dir {model}: no config.json there (expected a causal LM folder).")
        sides = {backend: one_side(backend, data_dir, preset, task, limit, model, dtype, batch_size, runs)
                 for backend in backends}  # fmt: skip
    rows = [side_row(backend, side) for backend, side in sides.items()]
    measured = {backend: side for backend, side in sides.items() if "throughput" in side}
    if {"hf", "vllm"} <= set(measured):
        hf, vllm = measured["hf"]["throughput"], measured["vllm"]["throughput"]
        speedup = ratio(vllm["tokens_per_s"], hf["tokens_per_s"])
        ratio_line = f"vllm / hf: {speedup:.2f}x tokens/s ({preset}, {task}, {hf['examples']} documents each)"
    else:
        missing = ", ".join(backend for backend in BACKENDS if backend not in measured)
        ratio_line = f"vllm / hf: not measured ({missing} did not run here; see the table)"
    what = f"folder {model_dir}" if model_dir else f"random Llama {shape} over the llm-jp v3 tokenizer"
    title = (
        f"bench fewshot: lm-eval backends on {what}, {dtype}, batch {batch_size}, preset={preset} task={task} "
        f"limit={limit}; each side's record and predictions: {runs}"
    )
    headers = ["backend", "device", "examples", "tokens", "seconds", "examples/s", "tokens/s", "main metric"]
    result = {"model": what, "runs": str(runs), "sides": sides}
    report("fewshot-backends", title, headers, rows, result, ratio_line, out_dir)
    return sides


def random_llama(folder: Path, shape: dict[str, int], dtype: str) -> Path:
    from jglue_bench.bench.common import models_dir_file
    from jglue_bench.fewshot.tiny import LLM_JP_V3, build_tiny_decoder

    model_file = models_dir_file(*LLM_JP_V3, "bench fewshot", "--model-dir FOLDER (a causal LM)")
    print(f"building a random Llama {shape} ({dtype}) in {folder} ...", flush=True)
    return build_tiny_decoder(model_file, folder, dtype=dtype, **shape)


def one_side(backend, data_dir, preset, task, limit, model, dtype, batch_size, runs: Path) -> dict[str, Any]:
    """One `jglue-bench fewshot` run on `backend` in its own process: its record's throughput, device and metrics,
    or why it did not run (the backend's own one line: vLLM not installed, no GPU; else the process's last line)."""
    from jglue_bench.fewshot.backends import check_backend

    try:
        check_backend(backend)  # before a process is started for nothing
    except UserError as error:
        return {"refused": str(error)}
    overrides = [
        f"preset={preset}",
        f"task={task}",
        f"model.pretrained={model}",
        "model.name=bench_fewshot_model",
        f"model.dtype={dtype}",
        f"backend={backend}",
        f"batch_size={batch_size}",
        f"limit={limit}",
        f"data.dir={data_dir}" if data_dir else "data.dir=null",
        "rerun=true",
        f"output_dir={runs / backend}",
        f"results.path={runs / 'runs.jsonl'}",
    ]
    command = [sys.executable, "-m", "jglue_bench.cli", "fewshot", *overrides]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    record_file = runs / backend / "record.json"
    if done.returncode != 0 or not record_file.is_file():
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        return {"refused": f"exit {done.returncode}: {lines[-1] if lines else 'no output'}"}
    record = json.loads(record_file.read_text(encoding="utf-8"))
    return {
        "throughput": record["throughput"],
        "device": record["device"],
        "metrics": record["metrics"],
        "main_metric": record["main_metric"],
        "protocol": record["protocol"],
        "record": str(record_file),
    }


def side_row(backend: str, side: dict[str, Any]) -> list[Any]:
    if "refused" in side:
        return [backend, "-", "-", "-", "-", "-", "-", f"did not run: {side['refused']}"]
    speed, device = side["throughput"], side["device"]
    main = side["main_metric"]
    return [
        backend,
        f"{device.get('device')} {device.get('precision')}",
        speed["examples"],
        speed["tokens"],
        speed["seconds"],
        speed["examples_per_s"],
        speed["tokens_per_s"],
        f"{main} {side['metrics'][main]:.2f}",
    ]
