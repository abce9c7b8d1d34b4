"""`jglue-bench bench ...`: argument parsing for the benchmarks; each handler only resolves paths and calls its
module's run(). jglue_bench/cli.py wires it with `add_bench_parser(sub)`."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

BENCH_HELP = (
    "benchmarks against a baseline measured in the same run: tokenize | padding | train | cache | gpu | fewshot; "
    "and estimate (time and memory per task on one GPU, estimated)"
)
EXAMPLES = {
    "tokenize": "example: jglue-bench bench tokenize --data-dir ~/JGLUE/datasets --vocab ~/bandainamco/vocab.txt",
    "padding": "example: jglue-bench bench padding --data-dir ~/JGLUE/datasets",
    "train": "example: jglue-bench bench train --data-dir ~/JGLUE/datasets --train-samples 3200 --epochs 1 "
    "--model xlm_roberta\n"
    "         jglue-bench bench train --data-dir ~/JGLUE/datasets --model llama --peft lora --sides hf_dynamic ours",
    "cache": "example: jglue-bench bench cache --data-dir ~/JGLUE/datasets",
    "gpu": "example: jglue-bench bench gpu --data-dir ~/JGLUE/datasets model.architecture.n_layers=12",
    "fewshot": "example: jglue-bench bench fewshot --backends hf vllm --limit 500          (on a GPU; vllm installed)\n"
    "         jglue-bench bench fewshot --model-dir ~/models/llm-jp-3-1.8b --task jnli --data-dir ~/JGLUE/datasets",
    "estimate": "example: jglue-bench bench estimate --data-dir ~/JGLUE/datasets --jcola-dir ~/jcola --mfu 0.2\n"
    "         jglue-bench bench estimate --decoder ~/models/llm-jp-3-1.8b/config.json --peft lora --lora-r 16",
}


def add_bench_parser(subparsers) -> argparse.ArgumentParser:
    """Add `bench` and its sub-benchmarks to the top-level subparsers (each sets `handler`)."""
    bench = subparsers.add_parser("bench", help=BENCH_HELP, description=BENCH_HELP)
    benchmarks = bench.add_subparsers(dest="bench_command", required=True)
    tokenize = _benchmark(
        benchmarks,
        "tokenize",
        "pairs/s of the fast tokenization path vs BertJapaneseTokenizer "
        "on JSTS + JNLI pairs at 128 (BandaiNamco vocab), and whether the ids are identical",
        run_tokenize,
    )
    tokenize.add_argument("--limit", type=int, default=None, help="only the first N pairs")
    padding = _benchmark(
        benchmarks,
        "padding",
        "padding efficiency per task: length-grouped batches vs padding to max_seq_length",
        run_padding,
    )
    padding.add_argument("--limit", type=int, default=None, help="only the first N examples of each split")
    padding.add_argument("--seed", type=int, default=42)
    train = _benchmark(
        benchmarks,
        "train",
        "end-to-end JSTS fine-tuning: jglue-bench train vs HF Trainer (padded "
        "to max, and dynamic padding + group_by_length)",
        run_train,
    )
    train.add_argument("--train-samples", type=int, default=3200)
    train.add_argument("--eval-samples", type=int, default=None, help="dev pairs to score (default: all 1,457)")
    train.add_argument("--epochs", type=int, default=1)
    train.add_argument("--learning-rate", type=float, default=5e-5)
    train.add_argument("--seed", type=int, default=42)
    train.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
    train.add_argument(
        "--sides",
        nargs="+",
        default=["hf_pad_to_max", "hf_dynamic", "ours"],
        choices=["hf_pad_to_max", "hf_dynamic", "ours"],
        help="which setups to run, in this order",
    )
    train.add_argument(
        "--model",
        default=None,
        metavar="FAMILY[=FOLDER]",
        help="another encoder family (tohoku_bert, xlm_roberta, deberta_v3, modernbert, ...) or a decoder "
        "family (llama, qwen2, gemma, mistral: over the llm-jp v3 or sarashina tokenizer in $JGLUE_MODELS_DIR): a random "
        "model of it at the benchmark's size, or FOLDER, one in the family's hub layout "
        "(default: random DistilBERT over BandaiNamco's vocabulary)",
    )
    train.add_argument(
        "--peft",
        choices=["none", "lora"],
        default="none",
        help="lora: the same LoRA adapters (model.peft's defaults: r 8, alpha 16, q/k/v/o) on every side; "
        "decoder families only (default: none, every weight trains)",
    )
    train.add_argument(
        "--repeats",
        type=int,
        default=1,
        help="rounds of all sides, one after another; each side's fastest round is reported",
    )
    cache = _benchmark(
        benchmarks, "cache", "preprocessing time per task: no feature cache vs a cold and a warm cache", run_cache
    )
    cache.add_argument("--limit", type=int, default=None, help="only the first N examples of each split")
    gpu = _benchmark(
        benchmarks,
        "gpu",
        "GPU training throughput, MFU and peak memory per task: padded to max vs "
        "length-grouped (exits 0 without a GPU)",
        run_gpu,
    )
    gpu.add_argument("--steps", type=int, default=30, help="timed optimizer steps per task and batching")
    gpu.add_argument("--precision", choices=("bf16", "fp32"), default=None, help="default: bf16 on a GPU")
    gpu.add_argument("--peak-tflops", type=float, default=None, help="the device's peak (default: from its name)")
    gpu.add_argument("--cpu", action="store_true", help="run on the CPU anyway (a smoke test, not a measurement)")
    gpu.add_argument("--limit", type=int, default=None, help="examples read per split (default: enough for the steps)")
    gpu.add_argument(
        "overrides",
        nargs="*",
        help="model config overrides on a random DistilBERT-base over "
        "BandaiNamco's vocabulary, e.g. model.architecture.n_layers=12",
    )
    fewshot = _benchmark(
        benchmarks,
        "fewshot",
        "few-shot throughput of lm-eval's backends on one model: transformers (HFLM) vs vLLM, each a "
        "`jglue-bench fewshot` run whose record holds its throughput",
        run_fewshot_backends,
    )
    fewshot.add_argument("--preset", default="ja_leaderboard")
    fewshot.add_argument("--task", default="jcommonsenseqa")
    fewshot.add_argument("--limit", type=int, default=200, help="scored documents (default 200)")
    fewshot.add_argument("--backends", nargs="+", choices=("hf", "vllm"), default=["hf", "vllm"])
    fewshot.add_argument("--model-dir", type=Path, default=None, help="a causal LM folder (default: a random Llama)")
    from jglue_bench.bench.fewshot_backends import REAL_SHAPE  # stdlib only: the CLI starts without torch

    fewshot.add_argument(
        "--layers", type=int, default=REAL_SHAPE["layers"], help="random Llama's shape (llm-jp-3 1.8B's)"
    )
    fewshot.add_argument("--hidden", type=int, default=REAL_SHAPE["hidden"])
    fewshot.add_argument("--heads", type=int, default=REAL_SHAPE["heads"])
    fewshot.add_argument("--intermediate", type=int, default=REAL_SHAPE["intermediate"])
    fewshot.add_argument("--dtype", default="bfloat16", choices=("float32", "bfloat16", "float16"))
    fewshot.add_argument("--batch-size", type=int, default=32)
    estimate = _benchmark(
        benchmarks,
        "estimate",
        "ESTIMATED time and memory per task and protocol for a "
        "DistilBERT-base on one GPU, from measured token counts (not a measurement)",
        run_estimate,
    )
    estimate.add_argument(
        "--model-dir",
        type=Path,
        default=None,
        help="a DistilBERT-base folder with config.json "
        "(default: $JGLUE_MODELS_DIR/bandainamco-mirai-distilbert-base-japanese)",
    )
    estimate.add_argument(
        "--all-models",
        action="store_true",
        help="every model config (configs/model), one row "
        "each: architecture from config.json where the files are here, else the config's shape:",
    )
    estimate.add_argument(
        "--model",
        action="append",
        metavar="NAME[=PATH]",
        help="a model config, optionally with a local folder of its files (repeatable)",
    )
    estimate.add_argument(
        "--jcola-dir",
        type=Path,
        default=None,
        help="folder holding jcola-v1.0/ (default: $JCOLA_DATA_DIR, else the bundled sample)",
    )
    estimate.add_argument(
        "--peak-tflops", type=float, default=989.0, help="the GPU's dense bf16 peak (default: H100 SXM, 989)"
    )
    estimate.add_argument("--mfu", type=float, default=0.2, help="assumed fraction of the peak reached (default 0.2)")
    add_decoder_estimate_arguments(estimate)
    return bench


def add_decoder_estimate_arguments(estimate: argparse.ArgumentParser) -> None:
    estimate.add_argument(
        "--decoder",
        metavar="CONFIG",
        default=None,
        help="estimate a decoder LLM's training memory per task instead: a config.json, a folder holding one, or a "
        "decoder model config (e.g. llm_jp_3_1_8b) whose config.json is in the local hub cache; no weights are read",
    )
    estimate.add_argument("--peft", choices=["none", "lora"], default="lora", help="with --decoder (default lora)")
    estimate.add_argument("--lora-r", type=int, default=8, help="LoRA rank with --decoder --peft lora (default 8)")
    estimate.add_argument(
        "--lora-targets",
        nargs="+",
        default=None,
        help="LoRA target modules (default: q_proj k_proj v_proj o_proj on Llama, Qwen2, Gemma; peft's otherwise)",
    )
    estimate.add_argument(
        "--weights-dtype",
        choices=["auto", "float32", "bfloat16", "float16"],
        default="float32",
        help="dtype the weights are trained in (default float32, as train loads them unless model.dtype says "
        "otherwise; auto: the checkpoint's own)",
    )
    estimate.add_argument(
        "--precision", choices=["fp32", "bf16", "fp16"], default="bf16", help="trainer.precision (default bf16)"
    )


def run_estimate(args) -> None:
    import os

    from jglue_bench.bench import common, estimate

    if args.decoder:
        from jglue_bench.bench.decoder_estimate import run_decoder

        peft = None
        if args.peft == "lora":
            peft = {"method": "lora", "r": args.lora_r, "alpha": 2 * args.lora_r, "dropout": 0.0}
            peft["target_modules"] = args.lora_targets
        run_decoder(args.decoder, peft, args.weights_dtype, args.precision, args.out_dir)
        return
    jcola = args.jcola_dir or (Path(os.environ["JCOLA_DATA_DIR"]) if os.environ.get("JCOLA_DATA_DIR") else None)
    files = (common.data_dir(args.data_dir), common.vocab_file(args.vocab))
    settings = (jcola, args.peak_tflops, args.mfu, args.out_dir)
    if args.all_models or args.model:
        from omegaconf import OmegaConf

        from jglue_bench.config import compose_model

        choices = args.model or all_model_names()
        models = [OmegaConf.to_container(compose_model(choice)[0], resolve=True) for choice in choices]
        estimate.run_models(*files, models, *settings)
        return
    estimate.run(*files, args.model_dir or common.local_vocab_file(args.vocab).parent, *settings)


def run_fewshot_backends(args) -> None:
    from jglue_bench.bench import fewshot_backends

    shape = {"layers": args.layers, "hidden": args.hidden, "heads": args.heads, "intermediate": args.intermediate}
    data = args.data_dir or os.environ.get("JGLUE_DATA_DIR")  # else the bundled sample (fewshot's data.dir=null)
    fewshot_backends.run(
        Path(data).expanduser() if data else None,
        args.preset,
        args.task,
        args.limit,
        args.backends,
        args.model_dir,
        shape,
        args.dtype,
        args.batch_size,
        args.out_dir,
    )


def all_model_names() -> list[str]:
    from jglue_bench.config import config_dir

    return sorted(path.stem for path in (config_dir() / "model").glob("*.yaml") if path.stem != "tiny")


def _benchmark(benchmarks, name: str, help_text: str, handler) -> argparse.ArgumentParser:
    parser = benchmarks.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=EXAMPLES[name],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data-dir", type=Path, default=None, help="JGLUE datasets/ folder (default: $JGLUE_DATA_DIR)")
    parser.add_argument(
        "--vocab",
        type=Path,
        default=None,
        help="BandaiNamco DistilBERT's vocab.txt (default: "
        "$JGLUE_MODELS_DIR/bandainamco-mirai-distilbert-base-japanese/vocab.txt, else the hub's)",
    )
    parser.add_argument("--version", default="1.3", help="JGLUE version of the files (default 1.3)")
    parser.add_argument(
        "--out-dir", type=Path, default=None, help="where the JSON result goes (default: results/bench)"
    )
    parser.set_defaults(handler=handler)
    return parser


def run_tokenize(args) -> None:
    from jglue_bench.bench import common, tokenize

    tokenize.run(common.data_dir(args.data_dir), common.vocab_file(args.vocab), args.version, args.limit, args.out_dir)


def run_padding(args) -> None:
    from jglue_bench.bench import common, padding

    files = (common.data_dir(args.data_dir), common.vocab_file(args.vocab))
    padding.run(*files, seed=args.seed, version=args.version, limit=args.limit, out_dir=args.out_dir)


def run_train(args) -> None:
    from jglue_bench.bench import common, train

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    vocab = common.local_vocab_file(args.vocab) if args.model is None else None
    train.run(
        common.data_dir(args.data_dir),
        vocab,
        args.version,
        args.train_samples,
        args.eval_samples,
        args.epochs,
        args.seed,
        args.out_dir,
        sides=tuple(args.sides),
        repeats=args.repeats,
        learning_rate=args.learning_rate,
        model=args.model,
        peft=args.peft,
    )


def run_cache(args) -> None:
    from jglue_bench.bench import cache, common

    cache.run(
        common.data_dir(args.data_dir),
        common.vocab_file(args.vocab),
        version=args.version,
        limit=args.limit,
        out_dir=args.out_dir,
    )


def run_gpu(args) -> None:
    from jglue_bench.bench import common, gpu

    if not args.cpu and not gpu.gpu_visible():  # said before any data or vocabulary is looked for
        print(gpu.NO_GPU)
        return
    gpu.run(
        common.data_dir(args.data_dir),
        common.local_vocab_file(args.vocab),
        args.version,
        args.overrides,
        args.steps,
        args.precision,
        args.peak_tflops,
        "cpu" if args.cpu else "cuda",
        args.out_dir,
        limit=args.limit,
    )
