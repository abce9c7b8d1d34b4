"""`jglue-bench bench estimate`: expected time and memory per task for a DistilBERT-base on one GPU, before anyone
has measured them there. These are estimates, and every line says so.

Time: training costs about 6 x parameters FLOPs per token (forward 2, backward 4), scoring 2 x; tokens per epoch
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
ROBUST_EPOCHS = 5 * 4       # five seeds at the chosen cell (four epochs at most)
H100_BF16_DENSE_TFLOPS = 989.0


def run(data: Path, vocab: Path | None, model_dir: Path, jcola_dir: Path | None, peak_tflops: float, mfu: float,
        out_dir: Path | None) -> Path:
    parameters, shape = distilbert_size(model_dir)
    tokenizer = bandainamco_tokenizer(vocab)
    flops_per_second = peak_tflops * 1e12 * mfu
    rows, result = [], {}
    for task in TASKS:
        tokens_per_feature, features_per_example, dev_tokens, cfg = measure(task, data, jcola_dir, tokenizer)
        epoch_tokens = TRAIN_COUNTS[task] * features_per_example * tokens_per_feature
        train_epoch_s = 6 * parameters * epoch_tokens / flops_per_second
        eval_s = 2 * parameters * dev_tokens / flops_per_second
        memory_gb = (16 * parameters + activation_bytes(cfg, shape)) / 1e9
        paper_min = (PAPER_EPOCHS * (train_epoch_s + eval_s)) / 60
        robust_min = (ROBUST_EPOCHS * train_epoch_s + 5 * eval_s) / 60
        rows.append([task, round(epoch_tokens), round(train_epoch_s, 1), round(paper_min, 1), round(robust_min, 1),
                     round(memory_gb, 1)])
        result[task] = {"epoch_tokens": epoch_tokens, "train_epoch_s": train_epoch_s, "paper_min": paper_min,
                        "robust_min": robust_min, "memory_gb": memory_gb}
    title = (f"bench estimate (ESTIMATES, not measurements): DistilBERT-base ({parameters / 1e6:.1f}M parameters) on "
             f"one GPU of {peak_tflops:g} bf16 TFLOPS at an assumed {mfu:.0%} MFU; compute only (tokenizing, "
             f"start-up and per-step overhead come on top)")
    headers = ["task", "train tokens/epoch", "s/epoch", "paper protocol min", "robust protocol min", "peak GB"]
    total = sum(row[3] + row[4] for row in rows)
    return report("estimate", title, headers, rows, {"parameters": parameters, "mfu": mfu, "peak_tflops": peak_tflops,
                                                     "tasks": result}, f"estimate: paper + robust for one model on "
                  f"the five tasks ~{total:.0f} GPU-minutes of compute (not measured)", out_dir)


def measure(task: str, data: Path, jcola_dir: Path | None, tokenizer) -> tuple[float, float, int, object]:
    """Mean tokens per feature and features per example on the dev split (JSQuAD: windows; multiple choice: all
    choices together), and the dev split's tokens."""
    from jglue_bench.prepare import featurize_split, read_split, task_spec

    cfg = task_config(task, data, "1.3", *([f"task.source.dir={jcola_dir}"] if task == "jcola" and jcola_dir else []))
    spec = task_spec(cfg)
    dev = read_split(spec, cfg.data, "valid")
    lengths = featurize_split(dev, spec, tokenizer, cfg.max_seq_length, False, {"cache": False}).features.lengths()
    tokens = sum(lengths) * (len(spec.fields.get("choices", [])) or 1)
    return tokens / len(lengths), len(lengths) / len(dev.examples), tokens, cfg


def activation_bytes(cfg, shape: dict[str, int]) -> float:
    sequence = cfg.max_seq_length
    batch = cfg.batch_size * (len(cfg.task.fields.choices) if "choices" in (cfg.task.get("fields") or {}) else 1)
    hidden, heads, layers = shape["dim"], shape["n_heads"], shape["n_layers"]
    return layers * sequence * batch * hidden * (34 + 5 * heads * sequence / hidden)


def distilbert_size(model_dir: Path) -> tuple[int, dict[str, int]]:
    """Parameters of a DistilBERT-base classifier from its config.json, counted on the meta device (no memory)."""
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification

    from jglue_bench.modeling import count_parameters

    config = AutoConfig.from_pretrained(str(model_dir))
    with torch.device("meta"):
        model = AutoModelForSequenceClassification.from_config(config)
    return count_parameters(model), {key: getattr(config, key) for key in ("dim", "n_heads", "n_layers")}
