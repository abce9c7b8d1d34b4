"""The `jglue-bench` command: parse, compose, call. No logic lives here."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from jglue_bench.errors import UserError

EPILOGS = {
    "evaluate": "example: jglue-bench evaluate outputs/jnli/tiny/2026-11-24_10-00-00 data.eval_split=test",
    "verify": "example: jglue-bench data verify --dir ~/JGLUE/datasets --version 1.3",
    "stats": "example: jglue-bench data stats task=jnli data.dir=~/JGLUE/datasets --model bandainamco_distilbert",
    "validate": "example: jglue-bench data validate task=~/my_tasks/topic.yaml",
    "download": "example: jglue-bench data download --version 1.3   (or: --task jcola)",
    "predict": "example: jglue-bench predict outputs/topic/tiny/2026-11-24_10-00-00 --input new.csv --output "
    "predictions.jsonl",
    "build-marc-ja": "example: jglue-bench data build-marc-ja --reviews-tsv amazon_reviews_multilingual_JP_v1_00.tsv.gz "
    "--out ~/jglue/datasets",
    "tasks": "example: JGLUE_BENCH_TASKS=~/my_tasks jglue-bench tasks",
    "oracle": "example: jglue-bench oracle --model bandainamco_distilbert=~/models/"
    "bandainamco-mirai-distilbert-base-japanese --model tiny data.dir=~/JGLUE/datasets",
    "report": "example: jglue-bench report --format csv > runs.csv",
    "tokenize": """output: one JSON line per text or pair, with the keys
  text, pair        the input (pair only for a pair)
  tokens            the tokens, special tokens included
  input_ids         the ids the model is fed (as training makes them: special tokens, pre-segmentation; not cut)
  token_type_ids    only for models that read token types (config.json type_vocab_size >= 2)
  offsets           per token, [start, end]: its characters in the ORIGINAL text (text[start:end]), or null for a
                    special token
  sequence          only for a pair, per token: 0 (offsets index text), 1 (offsets index pair) or null (special)

examples: jglue-bench tokenize --model tohoku_bert_base_v3 "ＡＩと東京"
          jglue-bench tokenize --model xlm_roberta_base=~/models/xlm-roberta-base "質問" --pair "文脈"
          jglue-bench tokenize --model tiny --input texts.txt   (one text, or two tab-separated texts, per line)""",
    "models": "example: jglue-bench models --json | jq -r 'select(.published_rows > 0) | .name'",
}
TOP_HELP = """usage: jglue-bench COMMAND [...]

Fine-tune and benchmark Japanese encoders on JGLUE.

commands:
  train      fine-tune on a task and score it (Hydra overrides; -m for sweeps); `train --help` for the config
  fewshot    few-shot evaluation of a decoder LLM through lm-eval under a published preset (Hydra overrides; -m)
  evaluate   score a saved fine-tuned model (a run folder) on a split
  predict    run a saved fine-tuned model on unlabelled rows (CSV, TSV, JSON Lines, JSON, Parquet)
  data       validate | stats | verify | download | build-marc-ja
  tasks      list the bundled and your own tasks, and the models
  models     the model configs: family, tokenizer recipe, parameters, licence, hub id, published rows
  tokenize   a model's tokens, ids and character offsets for texts or pairs (JSON Lines)
  oracle     best JSQuAD EM/F1 reachable with a model's tokenizer (what tokenization alone costs)
  report     tables of the run records: runs, the paper protocol's best cells, seed statistics, ours vs published
  bench      benchmarks against a baseline measured in the same run: tokenize | padding | train | cache | gpu

examples: jglue-bench train task=jnli model=tiny data.dir=~/JGLUE/datasets data.train_split=test
          jglue-bench train task=~/my_tasks/topic.yaml model=tiny
"""


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(TOP_HELP)
        return
    try:
        if argv[0] == "train":
            from jglue_bench.commands import run_train

            run_train(argv[1:])
            return
        if argv[0] == "fewshot":
            from jglue_bench.commands import run_fewshot

            run_fewshot(argv[1:])
            return
        args = build_parser().parse_args(argv)
        args.handler(args)
    except UserError as error:
        fail(error)
    except BrokenPipeError:
        # `jglue-bench report | head`: the reader left; that is not an error. Python's own advice: point stdout
        # at devnull so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def fail(error: UserError) -> None:
    from jglue_bench.support.processes import error_line

    print(error_line(error), file=sys.stderr)
    sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    from jglue_bench import commands

    parser = argparse.ArgumentParser(prog="jglue-bench", description="Fine-tune and benchmark Japanese encoders.")
    sub = parser.add_subparsers(dest="command", required=True)
    evaluate = _command(
        sub, "evaluate", "score a saved fine-tuned model (its run folder) on a split", commands.run_evaluate
    )
    evaluate.add_argument("run_dir", type=Path, help="a run's output_dir (holds config.yaml and model/)")
    evaluate.add_argument("overrides", nargs="*", help="config overrides, e.g. data.eval_split=test data.dir=PATH")

    predict = _command(
        sub, "predict", "run a saved fine-tuned model on unlabelled rows; writes JSON Lines", commands.run_predict
    )
    predict.add_argument("run_dir", type=Path, help="a run's output_dir (holds config.yaml and model/)")
    predict.add_argument(
        "--input",
        type=Path,
        required=True,
        help="rows to predict: .csv, .tsv, .jsonl, .json or "
        ".parquet with the task's text columns (labels not needed; without the id column each row's "
        "number is its id), or .txt with one text per line for a task that reads one text",
    )
    predict.add_argument("--output", type=Path, default=None, help="JSON Lines file to write (default: stdout)")
    predict.add_argument("--format", default=None, help="the input's format when its extension does not say it")
    predict.add_argument("overrides", nargs="*", help="config overrides, e.g. trainer.eval_batch_size=128")

    data = sub.add_parser("data", help="validate | stats | verify | download | build-marc-ja").add_subparsers(
        dest="data_command", required=True
    )
    validate = _command(
        data,
        "validate",
        "read and check every record of every split of a task, as training does; list up to 20 problems",
        commands.run_validate,
    )
    validate.add_argument(
        "overrides",
        nargs="*",
        help="task=NAME or task=PATH.yaml, then config overrides (data.dir=PATH, data.version=1.1, ...)",
    )
    stats = _command(
        data,
        "stats",
        "per split rows, labels and text lengths (records are validated as in training)",
        commands.run_stats,
    )
    stats.add_argument("--model", help="count tokens with this model's tokenizer recipe (default: characters)")
    stats.add_argument(
        "overrides",
        nargs="*",
        help="task=NAME (default: every bundled task with files here) and config overrides such as data.dir=PATH",
    )
    default_dir = os.environ.get("JGLUE_DATA_DIR")
    verify = _command(
        data, "verify", "list every expected JGLUE file with its count, sha256 and status", commands.run_verify
    )
    verify.add_argument(
        "--dir",
        type=Path,
        default=default_dir,
        required=default_dir is None,
        help="JGLUE datasets/ folder (default: $JGLUE_DATA_DIR)",
    )
    verify.add_argument("--version", default="all", help="1.1, 1.2, 1.3 or all (default)")
    verify.add_argument("--json", action="store_true", help="print JSON Lines instead of a table")
    download = _command(
        data, "download", "download a task's pinned files into the cache, each checksum-checked", commands.run_download
    )
    download.add_argument("--version", default="1.3", help="JGLUE version (default 1.3)")
    download.add_argument(
        "--task",
        action="append",
        help="a task with a pinned source.url (repeatable; default: the four distributed JGLUE tasks)",
    )
    download.add_argument("--cache-dir", type=Path, default=None)
    download.add_argument("--url", default=None, help="base URL (default: JGLUE's GitHub raw files)")
    download.add_argument("overrides", nargs="*", help="config overrides")
    marc = _command(
        data,
        "build-marc-ja",
        "build MARC-ja from your copy of the Amazon reviews TSV (JGLUE's recipe)",
        commands.run_build_marc_ja,
    )
    marc.add_argument("--reviews-tsv", type=Path, required=True, help="amazon_reviews_multilingual_JP_v1_00.tsv(.gz)")
    marc.add_argument("--out", type=Path, required=True, help="datasets/ folder to write marc_ja-v<version>/ into")
    marc.add_argument(
        "--lists-dir",
        type=Path,
        default=None,
        help="JGLUE's preprocess/marc-ja/data folder (default: downloaded at the pinned tag and sha256-checked)",
    )
    marc.add_argument("--version", default="1.3")

    _command(
        sub, "tasks", "list the bundled and your own tasks ($JGLUE_BENCH_TASKS), and the models", commands.run_tasks
    )
    models = _command(
        sub,
        "models",
        "list the model configs: family, tokenizer recipe, pre-segmentation, parameters "
        "(local folders), licence, hub id or path, published rows",
        commands.run_models,
    )
    models.add_argument("--json", action="store_true", help="print one JSON object per model instead of a table")
    models.add_argument(
        "--decoders", action="store_true", help="list the decoder configs of `jglue-bench fewshot` instead"
    )
    tokenize = _command(
        sub, "tokenize", "show a model's tokens, ids and character offsets for a text or a pair", commands.run_tokenize
    )
    tokenize.add_argument(
        "--model",
        required=True,
        metavar="NAME[=PATH]",
        help="a model config, optionally with a local folder holding its files",
    )
    tokenize.add_argument("text", nargs="?", default=None, help="the text to tokenize")
    tokenize.add_argument("--pair", default=None, metavar="TEXT", help="a second text: tokenize TEXT and it as a pair")
    tokenize.add_argument(
        "--input",
        type=Path,
        default=None,
        metavar="FILE",
        help="UTF-8 file: one text, or two tab-separated texts (a pair), per line; blank lines are skipped",
    )
    oracle = _command(
        sub, "oracle", "JSQuAD oracle: best EM/F1 when every answer is the best token-aligned span", commands.run_oracle
    )
    oracle.add_argument(
        "--model",
        action="append",
        metavar="NAME[=PATH]",
        help="a model config whose tokenizer to measure, optionally with a local folder for its files "
        "(repeatable; default: tiny)",
    )
    oracle.add_argument("overrides", nargs="*", help="config overrides, e.g. data.dir=PATH data.eval_split=test")
    from jglue_bench.bench.cli import add_bench_parser
    from jglue_bench.report.cli import add_report_parser

    add_report_parser(sub)
    add_bench_parser(sub)
    return parser


def _command(sub, name: str, help_text: str, handler) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=EPILOGS.get(name),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=handler)
    return parser


if __name__ == "__main__":
    main()
