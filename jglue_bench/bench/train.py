"""`bench train`: end-to-end JSTS fine-tuning, as in DESIGN.md's table. A random DistilBERT (4 layers x 256,
hidden 1,024, 4 heads) over BandaiNamco's vocabulary (MeCab IPADIC + WordPiece), 3,200 training pairs, the
1,457 dev pairs, one epoch, fp32, batch 32, max length 128, lr 5e-5 (--learning-rate: a random model learns
next to nothing at 5e-5 in one epoch; 5e-4 over 3 epochs gives Pearsons worth comparing), 10% linear warmup,
the same seed and the same initial weights on every side:

- ours: jglue_bench.train.loop.train(cfg), length-grouped batches padded per batch;
- HF Trainer, every pair padded to max_seq_length (JGLUE's official setup);
- HF Trainer with dynamic padding and the length-grouped sampler (the best HF setup).

Reported per side: train samples/s (the training loop), wall seconds (tokenizing, training, scoring dev) and
dev Pearson x100. With --repeats N the sides run in N rounds (hf_pad_to_max, hf_dynamic, ours, then again), so a
slow spell of a shared machine hits every side alike; each side's fastest round is reported and every round is
kept in the JSON.

`--model FAMILY[=FOLDER]` runs the same comparison on another encoder family: a random model of that family at
the same size (4 layers x 256, feed-forward 1,024, 4 heads) with tokenizer files in the family's hub layout
(jglue_bench.train.random_families), or FOLDER, a model of that family in its hub layout."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

from jglue_bench.bench.common import inputs, random_distilbert_overrides, ratio, report, task_config

ARCHITECTURE = {"dim": 256, "n_layers": 4, "n_heads": 4, "hidden_dim": 1024}
SIDES = ("hf_pad_to_max", "hf_dynamic", "ours")


def run(
    data: Path,
    vocab: Path | None,
    version: str = "1.3",
    train_samples: int = 3200,
    eval_samples: int | None = None,
    epochs: int = 1,
    seed: int = 42,
    out_dir: Path | None = None,
    sides=SIDES,
    repeats: int = 1,
    learning_rate: float = 5e-5,
    model: str | None = None,
    peft: str = "none",
) -> dict:
    with tempfile.TemporaryDirectory(prefix="jglue-bench-train-") as work:
        model_overrides, model_label = model_choice(model, vocab, Path(work), peft)
        cfg = ours_config(
            data, model_overrides, version, train_samples, eval_samples, epochs, seed, Path(work), learning_rate
        )
        settings = {
            "max_seq_length": int(cfg.max_seq_length),
            "batch_size": int(cfg.batch_size),
            "epochs": epochs,
            "eval_batch_size": int(cfg.trainer.eval_batch_size),
            "learning_rate": float(cfg.learning_rate),
            "warmup_ratio": float(cfg.trainer.warmup_ratio),
            "seed": seed,
        }
        shared = shared_inputs(cfg) if any(side != "ours" for side in sides) else None
        rounds = [
            {side: measure_side(side, cfg, settings, shared, Path(work) / f"{side}-{round_}") for side in sides}
            for round_ in range(1, max(repeats, 1) + 1)
        ]
    measured = {
        side: {
            **max((measures[side] for measures in rounds), key=lambda m: m["train_samples_per_s"]),
            "rounds": [measures[side] for measures in rounds],
        }
        for side in sides
    }
    return report_sides(
        measured,
        {**settings, **inputs(data, vocab, version), "repeats": repeats, "model": model_label, "peft": peft},
        train_samples,
        eval_samples,
        out_dir,
    )


def model_choice(model: str | None, vocab: Path | None, work: Path, peft: str = "none") -> tuple[list[str], str]:
    """Config overrides for the model under test, and its label: DESIGN's random DistilBERT over BandaiNamco's
    vocabulary by default, else a family's random model (or the given folder of that family); a decoder family
    (decoder_models) with LoRA when `peft` is lora."""
    from jglue_bench.bench.decoder_models import DECODER_FAMILIES, decoder_overrides, is_decoder_family
    from jglue_bench.errors import UserError
    from jglue_bench.train.random_families import BENCH_SIZES, FAMILIES, cached_family

    family, _, folder = (model or "").partition("=")
    if peft != "none" and not is_decoder_family(family):
        raise UserError(
            f"bench train --peft {peft}: LoRA is benchmarked on decoders; add --model FAMILY with FAMILY one of "
            f"{', '.join(DECODER_FAMILIES)}."
        )
    if model is None:
        name = "random_distilbert_4x256_bandainamco_vocab"
        return random_distilbert_overrides(vocab, ARCHITECTURE, name), name
    if is_decoder_family(family):
        return decoder_overrides(family, folder, work, peft)
    if family not in FAMILIES:
        raise UserError(
            f"bench train --model {model}: expected FAMILY or FAMILY=FOLDER with FAMILY one of "
            f"{', '.join([*FAMILIES, *DECODER_FAMILIES])}."
        )
    path = Path(folder).expanduser() if folder else cached_family(family, work / "models", BENCH_SIZES)
    if not (path / "config.json").is_file():
        raise UserError(
            f"bench train --model {model}: {path} holds no config.json (expected a {family} model in its hub layout)."
        )
    config_name = FAMILIES[family][0]
    label = f"{config_name} at {path}" if folder else f"random {family} 4 x 256 ({config_name}'s tokenizer layout)"
    return [
        f"model={config_name}",
        f"model.pretrained={path}",
        "model.revision=null",
        "model.allow_pickle=false",
        f"model.name=random_{family}",
    ], label


def ours_config(
    data: Path,
    model_overrides: list[str],
    version: str,
    train_samples: int,
    eval_samples: int | None,
    epochs: int,
    seed: int,
    work: Path,
    learning_rate: float = 5e-5,
):
    """The benchmark's run config: JSTS with the model under test (model_choice)."""
    overrides = [
        *model_overrides,
        f"data.max_train_samples={train_samples}",
        f"num_train_epochs={epochs}",
        "batch_size=32",
        f"learning_rate={learning_rate}",
        f"seed={seed}",
        "trainer.precision=fp32",
        "trainer.progress_bar=false",
        "save_model=false",
        "rerun=true",
        f"results.path={work / 'runs.jsonl'}",
        f"data.cache_dir={work / 'cache'}",
    ]
    if eval_samples is not None:
        overrides.append(f"data.max_eval_samples={eval_samples}")
    cfg = task_config("jsts", data, version, *overrides)
    if "save_checkpoints" in cfg.trainer:  # the HF side saves nothing either
        cfg.trainer.save_checkpoints = False
    return cfg


def measure_side(side: str, cfg, settings: dict[str, Any], shared, work: Path) -> dict[str, Any]:
    if side == "ours":
        return ours_run(cfg, work)
    from jglue_bench.bench.hf_baseline import hf_trainer_run
    from jglue_bench.train.modeling import forward_input_names

    model, tokenizer, train_examples, eval_examples = shared
    return hf_trainer_run(
        model,
        tokenizer,
        train_examples,
        eval_examples,
        settings,
        pad_to_max=side == "hf_pad_to_max",
        work_dir=work,
        input_names=forward_input_names(model),
    )


def ours_run(cfg, work: Path) -> dict[str, Any]:
    from jglue_bench.train.loop import train

    started = time.perf_counter()
    result = train(cfg, output_dir=work)
    wall = time.perf_counter() - started
    throughput = result.record["throughput"]
    return {
        "train_samples_per_s": throughput["train_samples_per_s"],
        "wall_seconds": wall,
        "pearson": result.metrics["pearson"],
        "train_features": throughput.get("train_features"),
    }


def shared_inputs(cfg):
    """The model every HF side copies (built as train(cfg) builds ours: build_model seeds its initialisation, so
    the weights are the same; a decoder's LoRA adapters drawn next, as there), the tokenizer (a decoder's padded as
    ours is), and the training and dev examples train(cfg) reads."""
    import torch

    from jglue_bench.bench.decoder_models import with_adapter
    from jglue_bench.prepare.stage import read_split, task_spec
    from jglue_bench.tasks import kind_module
    from jglue_bench.tokenization import load_tokenizer
    from jglue_bench.train.decoders import ready_tokenizer
    from jglue_bench.train.modeling import build_model

    spec = task_spec(cfg)
    tokenizer = ready_tokenizer(cfg.model, load_tokenizer(cfg.model, cfg.data.cache_dir))
    torch.manual_seed(cfg.seed)  # as train(cfg) seeds before building: a pretrained body's new head is the same
    model = with_adapter(build_model(cfg.model, spec, kind_module(spec.kind), tokenizer, cfg.seed), cfg.model)
    train_examples = read_split(spec, cfg.data, cfg.data.train_split, cfg.data.max_train_samples).examples
    eval_examples = read_split(spec, cfg.data, "valid", cfg.data.max_eval_samples).examples
    return model, tokenizer, train_examples, eval_examples


def report_sides(
    measured: dict[str, dict],
    settings: dict[str, Any],
    train_samples: int,
    eval_samples: int | None,
    out_dir: Path | None,
) -> dict:
    names = {
        "hf_pad_to_max": "HF Trainer, padded to max_seq_length (JGLUE official)",
        "hf_dynamic": "HF Trainer, dynamic padding + group_by_length",
        "ours": "jglue-bench train (ours)",
    }
    rows = [[names[side], m["train_samples_per_s"], m["wall_seconds"], m["pearson"]] for side, m in measured.items()]
    hf_sides = [side for side in measured if side != "ours"]
    parts = []
    if "ours" in measured and hf_sides:
        best = max(hf_sides, key=lambda side: measured[side]["train_samples_per_s"])
        speed = measured["ours"]["train_samples_per_s"]
        parts.append(f"ours/best HF ({best}) {ratio(speed, measured[best]['train_samples_per_s']):.2f}x")
        if "hf_pad_to_max" in measured:
            parts.append(f"ours/HF pad-to-max {ratio(speed, measured['hf_pad_to_max']['train_samples_per_s']):.2f}x")
    result = {
        "sides": measured,
        "settings": settings,
        "train_samples": train_samples,
        "eval_samples": eval_samples,
        "architecture": ARCHITECTURE if settings.get("model", "").startswith("random_distilbert") else None,
    }
    title = (
        f"bench train: JSTS, {train_samples:,} training pairs, {eval_samples or 'all'} dev pairs, "
        f"{settings['model']}, {settings['epochs']} epoch(s), lr "
        f"{settings['learning_rate']:g}, fp32, batch 32"
        + (f"; each side's fastest of {settings['repeats']} rounds" if settings.get("repeats", 1) > 1 else "")
    )
    report(
        "train",
        title,
        ["side", "train samples/s", "wall s", "dev Pearson x100"],
        rows,
        result,
        "ratio train samples/s: " + ("; ".join(parts) or "n/a (ours and an HF side are both needed)"),
        out_dir,
    )
    return result
