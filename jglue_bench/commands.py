"""What each CLI command does, as small functions of parsed arguments."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Sequence

from jglue_bench.config import compose_config, config_dir, group_options, register_resolvers
from jglue_bench.errors import UserError


def run_train(hydra_args: Sequence[str]) -> None:
    """Hand the arguments to Hydra, which composes the config, handles -m sweeps and the run folder."""
    import hydra

    register_resolvers()
    sys.argv = ["jglue-bench train", *hydra_args]
    hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="config")(_train_job)()


def _train_job(cfg) -> float:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from jglue_bench.report import markdown_table
    from jglue_bench.training import train

    hydra = HydraConfig.get()
    # In a sweep each job writes into its own folder under the sweep folder (which output_dir, if set, names).
    single_run = hydra.mode == RunMode.RUN and cfg.output_dir
    output_dir = Path(cfg.output_dir if single_run else hydra.runtime.output_dir)
    try:
        result = train(cfg, output_dir)
    except UserError as error:
        _remove_if_empty(output_dir)  # Hydra made the run folder before the data was read
        print(f"jglue-bench: error: {error}", file=sys.stderr)
        sys.exit(2)
    if result.main_process:
        print("\n" + markdown_table([result.record]))
        print(f"\nrun folder: {result.output_dir}  (record.json, predictions, model/)")
    return result.metrics[result.record["main_metric"]]  # the objective a Hydra sweeper optimizes


def run_evaluate(args) -> None:
    from jglue_bench.saved_runs import evaluate_saved_run
    from jglue_bench.report import markdown_table

    result = evaluate_saved_run(args.run_dir, args.overrides)
    if result.main_process:
        print(markdown_table([result.record]))
        print(f"\nwritten: {result.output_dir}")


def run_verify(args) -> None:
    from jglue_bench.data.releases import VERSIONS, normalize_version
    from jglue_bench.data.verify import format_verify, verify_folder

    root = _existing_dir(args.dir)
    versions = list(VERSIONS) if args.version == "all" else [normalize_version(args.version)]
    statuses = verify_folder(root, versions)
    if args.json:
        for item in statuses:
            print(json.dumps({"file": item.release.relative_path, "present": item.present, "records": item.records,
                              "official": item.release.official_count, "sha256": item.sha256,
                              "checksum_ok": item.checksum_ok, "status": item.status}, ensure_ascii=False))
    else:
        print(f"JGLUE files under {root}\n")
        print(format_verify(statuses))
    if any(item.present and item.status != "ok" for item in statuses):
        sys.exit(1)  # a present file that differs from the release is a problem; a missing one is reported only


def run_stats(args) -> None:
    from jglue_bench.data.files import sample_dir
    from jglue_bench.data.releases import TASK_DIRS, normalize_version, relative_path
    from jglue_bench.data.verify import FORMATS, split_stats

    root = _existing_dir(args.dir) if args.dir else sample_dir()
    version = normalize_version(args.version)
    tokenize = None
    if args.model:
        from jglue_bench.tokenization import load_tokenizer

        cfg = compose_config([f"model={args.model}"])
        tokenize = load_tokenizer(cfg.model, Path(cfg.data.cache_dir).expanduser()).tokenize
    for dir_name in args.task or TASK_DIRS:
        present = {split: root / relative_path(dir_name, version, split) for split in ("train", "valid", "test")}
        present = {split: path for split, path in present.items() if path.is_file()}
        if not present:
            raise UserError(f"no {dir_name}-v{version}/ files under {root}; expected JGLUE's datasets/ layout.")
        for split, path in present.items():
            stats = split_stats(path, FORMATS.get(dir_name, "jsonl"), tokenize)
            unit = "tokens" if tokenize else "chars"
            fields = ", ".join(f"{name} mean {value['mean']} max {value['max']}"
                               for name, value in stats["fields"].items())
            print(f"{dir_name:<15} {split:<6} {stats['records']:>7} records  {unit}: {fields}")


def run_download(args) -> None:
    from jglue_bench.data.files import locate_split
    from jglue_bench.data.releases import NOT_DISTRIBUTED, normalize_version, release_files

    cfg = compose_config([])
    data = {"source": "download", "version": normalize_version(args.version),
            "cache_dir": str(args.cache_dir or Path(cfg.data.cache_dir).expanduser()),
            "download_url": args.url or cfg.data.download_url}
    for release in release_files(data["version"]):
        if release.dir_name not in NOT_DISTRIBUTED:
            split_file = locate_split(data, release.dir_name, release.split)
            print(f"ok  {release.relative_path}  {split_file.sha256}  -> {split_file.path}")


def run_build_marc_ja(args) -> None:
    from jglue_bench.data.marc_ja import build_marc_ja, fetch_review_id_lists

    if not Path(args.reviews_tsv).is_file():
        raise UserError(f"--reviews-tsv {args.reviews_tsv} does not exist; expected your copy of "
                        f"amazon_reviews_multilingual_JP_v1_00.tsv or .tsv.gz.")
    cache = Path(compose_config([]).data.cache_dir).expanduser()
    lists_dir = args.lists_dir or fetch_review_id_lists(cache)
    counts = build_marc_ja(args.reviews_tsv, args.out, lists_dir, version=str(args.version))
    print("MARC-ja written under", Path(args.out) / f"marc_ja-v{args.version}", counts)


def run_tasks(args) -> None:
    print("tasks (task=NAME):")
    for name in group_options("task"):
        task = compose_config([f"task={name}"]).task
        print(f"  {name:<16} {task.kind:<16} metrics {', '.join(task.metrics):<20} max_seq_length "
              f"{task.max_seq_length:<4} batch {task.batch_size}")
    print("models (model=NAME):")
    for name in group_options("model"):
        model = compose_config([f"model={name}"]).model
        print(f"  {name:<24} {str(model.pretrained or 'random, built offline'):<48} tokenizer "
              f"{model.tokenizer.recipe}")


def run_oracle(args) -> None:
    from omegaconf import OmegaConf

    from jglue_bench.data.examples import load_split
    from jglue_bench.oracle import format_oracle_comparison, oracle_scores
    from jglue_bench.tasks import TaskSpec
    from jglue_bench.tasks.extractive_qa import qa_setting
    from jglue_bench.tokenization import load_tokenizer

    cfg = compose_config(["task=jsquad", *args.overrides])
    spec = TaskSpec.from_config(OmegaConf.to_container(cfg.task, resolve=True))
    examples, split_file = load_split(cfg.data, spec, cfg.data.eval_split, cfg.data.max_eval_samples)
    print(f"JSQuAD oracle on {split_file.path} ({len(examples):,} questions), max_seq_length {cfg.max_seq_length}, "
          f"doc_stride {qa_setting(spec, 'doc_stride')}, max_answer_length {qa_setting(spec, 'max_answer_length')}\n")
    results = {}
    for choice in args.model or ["tiny"]:
        name, _, path = choice.partition("=")
        model_cfg = compose_config([f"model={name}", *([f"model.pretrained={path}"] if path else [])]).model
        tokenizer = load_tokenizer(model_cfg, Path(cfg.data.cache_dir).expanduser())
        results[f"{name} ({model_cfg.tokenizer.recipe})"] = oracle_scores(examples, tokenizer, spec, cfg.max_seq_length)
    print(format_oracle_comparison(results))


def run_report(args) -> None:
    from jglue_bench.report import csv_table, markdown_table
    from jglue_bench.results import read_records

    records = read_records(args.results)
    if not records:
        raise UserError(f"{args.results} holds no run records yet; run `jglue-bench train` first.")
    records = records[-args.last:] if args.last else records
    if args.format == "json":
        print("\n".join(json.dumps(record, ensure_ascii=False) for record in records))
    else:
        print(markdown_table(records) if args.format == "markdown" else csv_table(records), end="\n")


def _existing_dir(path: Path | None) -> Path:
    if path is None or not Path(path).is_dir():
        raise UserError(f"{path} is not a folder; expected JGLUE's datasets/ layout "
                        f"(<task>-v<version>/<split>-v<version>.json).")
    return Path(path)


def _remove_if_empty(folder: Path) -> None:
    """Remove the run folder and the empty folders above it that Hydra made, up to the working directory."""
    folder, stop = folder.resolve(), Path.cwd().resolve()
    while folder != stop and stop in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
