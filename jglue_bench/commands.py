"""What each CLI command does, as small functions of parsed arguments."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from jglue_bench.config import (
    check_overrides,
    compose_config,
    compose_model,
    config_dir,
    expand_task_overrides,
    register_resolvers,
)
from jglue_bench.errors import UserError
from jglue_bench.support.processes import error_line, is_launch_main_process


def run_train(hydra_args: Sequence[str]) -> None:
    """Hand the arguments to Hydra, which composes the config, handles -m sweeps and the run folder.
    `task=PATH.yaml` and users' task names become a generated config folder on Hydra's search path first."""
    import hydra
    from hydra.core.plugins import Plugins

    register_resolvers()
    check_overrides(hydra_args)
    expanded = expand_task_overrides(hydra_args)
    # Hydra finds plugins by scanning its namespace folders, which an editable install does not have, so the
    # sweeper is registered by hand; after the scan, which reloads Hydra's own plugin modules (BasicSweeper).
    plugins = Plugins.instance()
    from hydra_plugins.jglue_bench_sweeper import TaskGridSweeper

    plugins.register(TaskGridSweeper)
    from jglue_bench.experiments.sweep import SweepSummary

    SweepSummary.failed_cells = []  # this command's sweep only (tests run several commands in one process)
    sys.argv = ["jglue-bench train", *expanded]
    hydra.main(version_base="1.3", config_path=str(config_dir()), config_name="config")(_train_job)()
    if SweepSummary.failed_cells:
        sys.exit(2)


def _train_job(cfg) -> float | None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from jglue_bench.report.render import runs_markdown as markdown_table
    from jglue_bench.train.loop import train

    hydra = HydraConfig.get()
    # In a sweep each job writes into its own folder under the sweep folder (which output_dir, if set, names).
    single_run = hydra.mode == RunMode.RUN and cfg.output_dir
    output_dir = Path(cfg.output_dir if single_run else hydra.runtime.output_dir)
    sweep = None
    if hydra.mode == RunMode.MULTIRUN:
        cell = dict(override.split("=", 1) for override in hydra.overrides.task if "=" in override)
        excluded = set(hydra.job.config.override_dirname.exclude_keys)
        sweep = {
            "sweep": str(Path(hydra.sweep.dir).resolve()),
            "job": hydra.job.num,
            "cell": {key.lstrip("+~"): value for key, value in sorted(cell.items()) if key not in excluded},
        }
    if cfg.get("protocol") == "frozen_embedding":  # no training: the encoder's embeddings are scored as they are
        from jglue_bench.train.frozen import score_frozen as train
    try:
        result = train(cfg, output_dir, sweep)
    except UserError as error:
        _remove_if_empty(output_dir)  # Hydra made the run folder before the data was read
        print(error_line(error), file=sys.stderr)
        if sweep is None:
            sys.exit(2)
        # In a sweep the other cells go on; the summary names the failed ones and the command exits 2 at the end.
        from jglue_bench.experiments.sweep import FAILED_CELL_FILE
        from jglue_bench.records.store import write_json_atomic

        if is_launch_main_process():
            write_json_atomic(output_dir / FAILED_CELL_FILE, {"cell": sweep["cell"], "error": str(error)})
        return None
    except KeyboardInterrupt:
        _remove_if_empty(output_dir)
        kept = output_dir.is_dir()
        print(
            "jglue-bench: interrupted; "
            + (
                f"the last checkpoint is kept in {output_dir}/checkpoints: run the same "
                "command with resume=true to continue"
                if kept
                else "nothing was kept (no checkpoint yet)"
            ),
            file=sys.stderr,
        )
        sys.exit(130)
    if result.skipped or not result.main_process:  # only the main process writes: the others' folder stays empty
        _remove_if_empty(output_dir)
    elif result.main_process:
        print("\n" + markdown_table([result.record]))
        print(f"\nrun folder: {result.output_dir}  (record.json, predictions, model/)")
    return result.metrics[result.record["main_metric"]]  # the objective a Hydra sweeper optimizes


def run_fewshot(hydra_args: Sequence[str]) -> None:
    """`jglue-bench fewshot`: a preset, task and decoder model through lm-eval (jglue_bench/fewshot/)."""
    from jglue_bench.fewshot.command import run

    run(hydra_args)


def run_evaluate(args) -> None:
    from jglue_bench.report.render import runs_markdown as markdown_table
    from jglue_bench.train.saved_runs import evaluate_saved_run

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
            print(
                json.dumps(
                    {
                        "file": item.release.relative_path,
                        "present": item.present,
                        "records": item.records,
                        "official": item.release.official_count,
                        "sha256": item.sha256,
                        "checksum_ok": item.checksum_ok,
                        "status": item.status,
                    },
                    ensure_ascii=False,
                )
            )
    else:
        print(f"JGLUE files under {root}\n")
        print(format_verify(statuses))
    if any(item.present and item.status != "ok" for item in statuses):
        sys.exit(1)  # a present file that differs from the release is a problem; a missing one is reported only


def run_validate(args) -> None:
    from jglue_bench.prepare.validation import problem_lines, split_summary, validate_task

    total = 0
    for cfg in _task_configs(args.overrides, require_task=True):
        spec, checks = validate_task(_spec(cfg), cfg.data)
        print(_task_heading(spec))
        for check in checks:
            print("\n".join(split_summary(spec, check)))
        count, shown = problem_lines(checks)
        total += count
        if count:
            print(
                f"\n{count} problem{'s' * (count != 1)} in task '{spec.name}'"
                + (f" (the first {len(shown)})" if count > len(shown) else "")
                + ":"
            )
            print("\n".join(f"  {line}" for line in shown))
        else:
            print(f"  ok: every record of {len(checks)} split{'s' * (len(checks) != 1)} is valid")
    if total:
        raise UserError(
            f"{total} problem{'s' * (total != 1)} found (listed above); fix them and run "
            f"`jglue-bench data validate` again."
        )


def run_stats(args) -> None:
    from jglue_bench.prepare.validation import problem_lines, split_summary, validate_task

    tokenize = None
    for cfg in _task_configs(args.overrides, require_task=False):
        if tokenize is None and args.model:
            from jglue_bench.tokenization import load_tokenizer

            model_cfg = compose_config([f"model={args.model}"]).model
            tokenize = load_tokenizer(model_cfg, Path(cfg.data.cache_dir).expanduser()).tokenize
        splits = _present_splits(cfg, args.overrides)
        if splits == []:
            print(f"{cfg.task.name}: no files here (skipped)")
            continue
        spec, checks = validate_task(_spec(cfg), cfg.data, splits)
        print(_task_heading(spec))
        for check in checks:
            print("\n".join(split_summary(spec, check, tokenize)))
        count, shown = problem_lines(checks, limit=1)
        if count:
            raise UserError(
                f"{count} problem{'s' * (count != 1)} in task '{spec.name}'; the first: {shown[0]} "
                f"(`jglue-bench data validate task={spec.name}` lists them)"
            )


def run_predict(args) -> None:
    from jglue_bench.records.store import write_jsonl_atomic
    from jglue_bench.train.saved_runs import predict_file

    rows = predict_file(args.run_dir, args.input, args.format, args.overrides)
    if args.output:
        write_jsonl_atomic(args.output, rows)
        print(f"{len(rows):,} predictions written to {args.output}", file=sys.stderr)
    else:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))


def _task_configs(overrides: Sequence[str], require_task: bool):
    """One composed config per task named by `task=` (several: `task=a,b`); without one, every bundled task."""
    from jglue_bench.config import bundled_tasks

    tasks = [value for key, _, value in (item.partition("=") for item in overrides) if key == "task"]
    rest = [item for item in overrides if not item.startswith("task=")]
    if not tasks and require_task:
        raise UserError(
            "name the task to check: task=NAME (a bundled task, or one in $JGLUE_BENCH_TASKS) or task=PATH.yaml."
        )
    names = [name for value in tasks for name in value.split(",")] or list(bundled_tasks())
    for name in names:
        yield compose_config([f"task={name}", *rest])


def _present_splits(cfg, overrides: Sequence[str]) -> list[str] | None:
    """For `data stats` without task=: the splits whose files exist, perhaps none (a JGLUE folder lacks MARC-ja,
    and JNLI and JSQuAD train are large); with task=, None: every split, so a missing file is reported."""
    if any(item.startswith("task=") for item in overrides):
        return None
    from jglue_bench.data.sources import find_file

    spec, present = _spec(cfg), []
    for split in spec.split_names():
        try:
            find_file(spec.files[split], spec.source, {**cfg.data, "source": "local"})
            present.append(split)
        except (UserError, KeyError):
            continue
    return present


def _spec(cfg):
    from jglue_bench.prepare.stage import task_spec

    return task_spec(cfg)


def _task_heading(spec) -> str:
    return f"\n{spec.name} ({spec.kind}{', ' + spec.origin if spec.origin else ', bundled'})"


def run_download(args) -> None:
    from jglue_bench.data.sources import locate_file, pin_of

    overrides = [f"data.version={args.version}", "data.source=download", *args.overrides]
    if args.cache_dir:
        overrides.append(f"data.cache_dir={args.cache_dir}")
    if args.url:
        overrides.append(f"data.download_url={args.url}")
    for name in args.task or ["jsts", "jnli", "jsquad", "jcommonsenseqa"]:
        cfg = compose_config([f"task={name}", *overrides])
        spec = _spec(cfg)
        if not spec.source.url:
            raise UserError(
                f"task '{name}' names no source.url, so there is nothing to download"
                + (
                    " (MARC-ja is no longer distributed: `jglue-bench data build-marc-ja`)."
                    if name == "marc_ja"
                    else "."
                )
            )
        for split, entry in spec.files.items():
            try:
                pin_of(entry, spec.source)
            except UserError:
                continue  # not in this release (JGLUE's test files start at v1.3)
            split_file = locate_file(entry, spec.source, cfg.data)
            print(f"ok  {name:<15} {split:<22} {split_file.sha256}  -> {split_file.path}")


def run_build_marc_ja(args) -> None:
    from jglue_bench.data.marc_ja import build_marc_ja, fetch_review_id_lists

    if not Path(args.reviews_tsv).is_file():
        raise UserError(
            f"--reviews-tsv {args.reviews_tsv} does not exist; expected your copy of "
            f"amazon_reviews_multilingual_JP_v1_00.tsv or .tsv.gz."
        )
    cache = Path(compose_config([]).data.cache_dir).expanduser()
    lists_dir = args.lists_dir or fetch_review_id_lists(cache)
    counts = build_marc_ja(args.reviews_tsv, args.out, lists_dir, version=str(args.version))
    print("MARC-ja written under", Path(args.out) / f"marc_ja-v{args.version}", counts)


def run_tasks(args) -> None:
    """Bundled and users' tasks, and the models, read straight from their YAML files (no torch, no Hydra)."""
    import yaml

    from jglue_bench.config import bundled_tasks, user_tasks

    bundled, users = bundled_tasks(), user_tasks()
    print("tasks (task=NAME, or task=PATH.yaml):")
    for name, path in [*bundled.items(), *users.items()]:
        task = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        origin = "bundled" if path in bundled.values() else str(path)
        if name in bundled and path not in bundled.values():
            origin += f" (shadowed by the bundled '{name}': use task={path})"
        metrics = ", ".join(task.get("metrics") or []) or "default"
        print(
            f"  {name:<16} {str(task.get('kind')):<16} metrics {metrics:<20} max_seq_length "
            f"{str(task.get('max_seq_length')):<4} {origin}"
        )
    print("models (model=NAME):")
    for path in sorted((config_dir() / "model").glob("*.yaml")):
        model = yaml.safe_load(path.read_text(encoding="utf-8"))
        print(
            f"  {path.stem:<24} {str(model.get('pretrained') or 'random, built offline'):<48} tokenizer "
            f"{model['tokenizer']['recipe']}"
        )


def run_oracle(args) -> None:
    from jglue_bench.prepare.oracle import format_oracle_comparison, oracle_scores
    from jglue_bench.prepare.stage import featurize_split, read_split
    from jglue_bench.tasks.extractive_qa import qa_setting
    from jglue_bench.tokenization import load_tokenizer
    from jglue_bench.train.loop import eval_split_names

    cfg = compose_config(["task=jsquad", *args.overrides])
    spec = _spec(cfg)
    if spec.kind != "extractive_qa":
        raise UserError(f"the oracle measures extractive QA tasks; task '{spec.name}' is {spec.kind}.")
    split = eval_split_names(cfg.data, spec)[0]
    data = read_split(spec, cfg.data, split, cfg.data.max_eval_samples)
    print(
        f"{spec.name} oracle on {data.file.path} ({len(data.examples):,} questions), max_seq_length "
        f"{cfg.max_seq_length}, doc_stride {qa_setting(spec, 'doc_stride')}, max_answer_length "
        f"{qa_setting(spec, 'max_answer_length')}\n"
    )
    results = {}
    for choice in args.model or ["tiny"]:
        model_cfg, _ = compose_model(choice)
        name = choice.partition("=")[0]
        tokenizer = load_tokenizer(model_cfg, Path(cfg.data.cache_dir).expanduser())
        prepared = featurize_split(data, spec, tokenizer, cfg.max_seq_length, False, cfg.data)
        results[f"{name} ({model_cfg.tokenizer.recipe})"] = oracle_scores(
            prepared.examples, prepared.features, spec, tokenizer
        )
    print(format_oracle_comparison(results))


def _existing_dir(path: Path | None) -> Path:
    if path is None or not Path(path).is_dir():
        raise UserError(
            f"{path} is not a folder; expected JGLUE's datasets/ layout (<task>-v<version>/<split>-v<version>.json)."
        )
    return Path(path)


def _remove_if_empty(folder: Path) -> None:
    """Remove the run folder if nothing was written into it (Hydra makes it before the job starts), and, inside
    the working directory, the empty folders above it that Hydra made for it."""
    folder, stop = folder.resolve(), Path.cwd().resolve()
    try:
        folder.rmdir()
    except OSError:
        return
    folder = folder.parent
    while folder != stop and stop in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def run_tokenize(args) -> None:
    """`jglue-bench tokenize`: one JSON line per text or pair (tokenization/view.py says what is in it)."""
    from jglue_bench.tokenization import load_tokenizer
    from jglue_bench.tokenization.view import tokenize_row, uses_token_types

    inputs = _inputs(args)  # read and checked first: a bad line is reported before any model work
    model_cfg, cache_dir = compose_model(args.model)

    tokenizer = load_tokenizer(model_cfg, cache_dir)
    with_token_types = uses_token_types(model_cfg)
    for text, pair in inputs:
        print(json.dumps(tokenize_row(tokenizer, text, pair, with_token_types), ensure_ascii=False))


def _inputs(args) -> list[tuple[str, str | None]]:
    """(text, pair or None) from TEXT [--pair TEXT], or from each line of --input."""
    from jglue_bench.tokenization.view import read_input_file

    if args.input is not None:
        if args.text is not None or args.pair is not None:
            raise UserError("give either TEXT (with --pair) or --input FILE, not both.")
        return read_input_file(args.input)
    if args.text is None:
        raise UserError(
            "nothing to tokenize: give a TEXT (and --pair TEXT for a pair), or --input FILE with one "
            "text, or two tab-separated texts, per line."
        )
    return [(args.text, args.pair)]


def run_models(args) -> None:
    from jglue_bench.train.model_list import model_rows, models_markdown

    if args.decoders:
        from jglue_bench.fewshot.models import decoder_rows, decoders_markdown

        rows = decoder_rows(config_dir())
        print("\n".join(json.dumps(row, ensure_ascii=False) for row in rows) if args.json else decoders_markdown(rows))
        return
    rows = model_rows()
    if args.json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return
    print(models_markdown(rows))
