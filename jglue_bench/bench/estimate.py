"""`jglue-bench bench estimate`: expected time and memory per task for an encoder on one GPU, before anyone has
measured them there. These are estimates, and every line says so.

`--model-dir DIR` estimates the one model in DIR (its config.json; BandaiNamco DistilBERT-base by default) task by
task. `--all-models` (or `--model NAME[=PATH]`, repeatable) estimates every model config: its architecture from
config.json where its files are here (a local folder, or the hub cache), else from the config's `shape:` block
(the hub config.json's fields, as read with their source), and its token counts with its own tokenizer where
its files are here, else with BandaiNamco's (a proxy, said in the table).

Time: training costs about 6 x parameters FLOPs per token (forward 2, backward 4), scoring 2 x, counting the
parameters outside the word embeddings (a lookup is no matrix product: XLM-R's 250k-word table is 192M of its
278M parameters; Kaplan et al., "Scaling Laws for Neural Language Models", 2020, count them the same way); tokens per epoch
are the official train counts times the mean tokens of a feature, measured on the real dev files with
BandaiNamco's tokenizer (length-grouped batches waste almost nothing, see `bench padding`); the GPU delivers an
assumed fraction (--mfu) of its bf16 peak. Memory: 16 bytes per parameter (fp32 weights and gradients, two AdamW
moments) plus the activations of the longest batch, s*b*h*(34 + 5*a*s/h) bytes per layer (Korthikanti et al.,
"Reducing Activation Recomputation in Large Transformer Models", 2022).
"""

from __future__ import annotations

from pathlib import Path

from jglue_bench.bench.common import bandainamco_tokenizer, report, task_config

TASKS = ("jsts", "jnli", "jsquad", "jcommonsenseqa", "jcola")
TRAIN_COUNTS = {"jsts": 12_451, "jnli": 20_073, "jsquad": 62_697, "jcommonsenseqa": 8_939, "jcola": 6_919}
PAPER_EPOCHS = 3 * (3 + 4)  # lr {5e-5, 3e-5, 2e-5} x epochs {3, 4}
ROBUST_EPOCHS = 5 * 4  # five seeds at the chosen cell (four epochs at most)
H100_BF16_DENSE_TFLOPS = 989.0


def run(
    data: Path,
    vocab: Path | None,
    model_dir: Path,
    jcola_dir: Path | None,
    peak_tflops: float,
    mfu: float,
    out_dir: Path | None,
) -> Path:
    parameters, shape = model_size(config_from_folder(model_dir))
    tokenizer = bandainamco_tokenizer(vocab)
    flops_per_second = peak_tflops * 1e12 * mfu
    rows, result = [], {}
    for task in TASKS:
        result[task] = task_estimate(measure(task, data, jcola_dir, tokenizer), parameters, shape, flops_per_second)
        rows.append(
            [
                task,
                round(result[task]["epoch_tokens"]),
                round(result[task]["train_epoch_s"], 1),
                round(result[task]["paper_min"], 1),
                round(result[task]["robust_min"], 1),
                round(result[task]["memory_gb"], 1),
            ]
        )
    title = (
        f"bench estimate (ESTIMATES, not measurements): {model_dir.name} ({parameters / 1e6:.1f}M parameters) on "
        f"one GPU of {peak_tflops:g} bf16 TFLOPS at an assumed {mfu:.0%} MFU; compute only (tokenizing, "
        f"start-up and per-step overhead come on top)"
    )
    headers = ["task", "train tokens/epoch", "s/epoch", "paper protocol min", "robust protocol min", "peak GB"]
    total = sum(row[3] + row[4] for row in rows)
    return report(
        "estimate",
        title,
        headers,
        rows,
        {"parameters": parameters, "mfu": mfu, "peak_tflops": peak_tflops, "tasks": result},
        f"estimate: paper + robust for one model on the five tasks ~{total:.0f} GPU-minutes of compute (not measured)",
        out_dir,
    )


def task_estimate(measured, parameters: int, shape: dict[str, int], flops_per_second: float) -> dict[str, float]:
    """Compute time of one epoch, of the paper and robust protocols, and peak memory of one task."""
    tokens_per_feature, features_per_example, dev_tokens, cfg = measured
    epoch_tokens = TRAIN_COUNTS[cfg.task.name] * features_per_example * tokens_per_feature
    compute = parameters - shape["embedding_parameters"]
    train_epoch_s = 6 * compute * epoch_tokens / flops_per_second
    eval_s = 2 * compute * dev_tokens / flops_per_second
    return {
        "epoch_tokens": epoch_tokens,
        "train_epoch_s": train_epoch_s,
        "paper_min": PAPER_EPOCHS * (train_epoch_s + eval_s) / 60,
        "robust_min": (ROBUST_EPOCHS * train_epoch_s + 5 * eval_s) / 60,
        "memory_gb": (16 * parameters + activation_bytes(cfg, shape)) / 1e9,
    }


def measure(task: str, data: Path, jcola_dir: Path | None, tokenizer) -> tuple[float, float, int, object]:
    """Mean tokens per feature and features per example on the dev split (JSQuAD: windows; multiple choice: all
    choices together), and the dev split's tokens."""
    from jglue_bench.prepare.stage import featurize_split, read_split, task_spec

    cfg = task_config(task, data, "1.3", *([f"task.source.dir={jcola_dir}"] if task == "jcola" and jcola_dir else []))
    spec = task_spec(cfg)
    dev = read_split(spec, cfg.data, "valid")
    lengths = featurize_split(dev, spec, tokenizer, cfg.max_seq_length, False, {"cache": False}).features.lengths()
    tokens = sum(lengths) * (len(spec.fields.get("choices", [])) or 1)
    return tokens / len(lengths), len(lengths) / len(dev.examples), tokens, cfg


def activation_bytes(cfg, shape: dict[str, int]) -> float:
    sequence = cfg.max_seq_length
    batch = cfg.batch_size * (len(cfg.task.fields.choices) if "choices" in (cfg.task.get("fields") or {}) else 1)
    hidden, heads, layers = shape["hidden_size"], shape["num_attention_heads"], shape["num_hidden_layers"]
    return layers * sequence * batch * hidden * (34 + 5 * heads * sequence / hidden)


def config_from_folder(model_dir: Path):
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(str(model_dir))


def model_size(config) -> tuple[int, dict[str, int]]:
    """Parameters of the model with a sequence classification head (built on the meta device), and the shape
    the estimate needs: the word embeddings' parameters, and the sizes of the activation formula (DistilBERT's
    dim/n_heads/n_layers answer to these names too)."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from jglue_bench.train.modeling import count_parameters

    with torch.device("meta"):
        model = AutoModelForSequenceClassification.from_config(config)
    shape = {key: getattr(config, key) for key in ("hidden_size", "num_attention_heads", "num_hidden_layers")}
    return count_parameters(model), {**shape, "embedding_parameters": model.get_input_embeddings().weight.numel()}


def run_models(
    data: Path,
    vocab: Path | None,
    models: list[dict],
    jcola_dir: Path | None,
    peak_tflops: float,
    mfu: float,
    out_dir: Path | None,
) -> Path:
    """One row per model config: parameters, whose tokens were counted, paper + robust minutes per task, and the
    largest peak memory over the tasks."""
    flops_per_second = peak_tflops * 1e12 * mfu
    proxy = bandainamco_tokenizer(vocab)
    proxy_counts = {task: measure(task, data, jcola_dir, proxy) for task in TASKS}
    rows, result = [], {}
    from jglue_bench.train.modeling import model_architecture

    for model_cfg in models:
        config, shape_source = model_architecture(model_cfg)
        if config is None:
            rows.append(
                [model_cfg["name"], model_cfg.get("family") or "-", "-", "-", "no shape", *["-"] * len(TASKS), "-"]
            )
            continue
        parameters, shape = model_size(config)
        tokenizer, tokens_by = model_tokenizer(model_cfg)
        counts = (
            proxy_counts if tokenizer is None else {task: measure(task, data, jcola_dir, tokenizer) for task in TASKS}
        )
        tasks = {task: task_estimate(counts[task], parameters, shape, flops_per_second) for task in TASKS}
        result[model_cfg["name"]] = {
            "parameters": parameters,
            "shape_from": shape_source,
            "tokens_by": tokens_by,
            "tasks": tasks,
        }
        rows.append(
            [
                model_cfg["name"],
                model_cfg.get("family") or "-",
                f"{parameters / 1e6:.0f}M",
                f"{(parameters - shape['embedding_parameters']) / 1e6:.0f}M",
                tokens_by,
                *(round(tasks[task]["paper_min"] + tasks[task]["robust_min"], 1) for task in TASKS),
                round(max(task["memory_gb"] for task in tasks.values()), 1),
            ]
        )
    title = (
        f"bench estimate (ESTIMATES, not measurements): paper + robust protocol GPU-minutes per task on one GPU "
        f"of {peak_tflops:g} bf16 TFLOPS at an assumed {mfu:.0%} MFU; compute only"
    )
    headers = [
        "model",
        "family",
        "parameters",
        "outside embeddings",
        "tokens counted with",
        *(f"{task} min" for task in TASKS),
        "peak GB",
    ]
    return report(
        "estimate",
        title,
        headers,
        rows,
        {"mfu": mfu, "peak_tflops": peak_tflops, "models": result},
        f"estimate: {len(result)} models; tokens counted with BandaiNamco's tokenizer where a model's own "
        f"files are not here (not measured)",
        out_dir,
    )


def model_tokenizer(model_cfg: dict):
    """The model's own tokenizer when its files can be had here, else None (BandaiNamco's counts stand in)."""
    from jglue_bench.errors import UserError
    from jglue_bench.tokenization import load_tokenizer

    try:
        return load_tokenizer(model_cfg), "own"
    except UserError:
        return None, "bandainamco (proxy)"
