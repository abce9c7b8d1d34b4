"""The Hydra entry of `jglue-bench fewshot`: compose configs/fewshot/config.yaml (with configs/ on the search
path for the task YAMLs and Hydra settings), then one job per cell."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from jglue_bench.config import config_dir, expand_task_overrides, register_resolvers
from jglue_bench.errors import UserError


def fewshot_config_dir() -> Path:
    return config_dir() / "fewshot"


def hydra_arguments(arguments: Sequence[str]) -> list[str]:
    """Users' task files become a generated search path entry (as for `train`); configs/ joins it, so the task
    group and Hydra's settings come from the shared configs."""
    expanded = expand_task_overrides(arguments)
    paths = [f"file://{config_dir()}"]
    kept = []
    for argument in expanded:
        if argument.startswith("hydra.searchpath="):
            paths += [path.strip() for path in argument.partition("=")[2].strip("[]").split(",") if path.strip()]
        else:
            kept.append(argument)
    return [*kept, f"hydra.searchpath=[{','.join(paths)}]"]


def run(arguments: Sequence[str]) -> None:
    import hydra

    register_resolvers()
    sys.argv = ["jglue-bench fewshot", *hydra_arguments(arguments)]
    hydra.main(version_base="1.3", config_path=str(fewshot_config_dir()), config_name="config")(_job)()


def _job(cfg) -> float | None:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from jglue_bench.fewshot.run import rendered_prompts, run_fewshot

    hydra = HydraConfig.get()
    single = hydra.mode == RunMode.RUN and cfg.output_dir
    output_dir = Path(cfg.output_dir if single else hydra.runtime.output_dir)
    try:
        if cfg.show_prompts:
            for shown in rendered_prompts(cfg, int(cfg.show_prompts)):
                print(json.dumps(shown, ensure_ascii=False))
            _remove_if_empty(output_dir)
            return None
        result = run_fewshot(cfg, output_dir)
    except UserError as error:
        if not cfg.show_prompts:
            _remove_if_empty(output_dir)  # Hydra made the run folder before the data was read
        print(f"jglue-bench: error: {error}", file=sys.stderr)
        if hydra.mode == RunMode.RUN:
            sys.exit(2)
        return None
    record = result.record
    if not result.skipped:
        scores = ", ".join(f"{name} {value:.2f}" for name, value in record["metrics"].items())
        chance = ", ".join(f"{name} {value:.2f}" for name, value in record["chance"][record["split"]].items())
        print(f"{record['task']['name']} {record['split']} [{record['protocol']}] {record['model']['name']}: {scores}")
        print(f"chance level: {chance}")
        print(f"run folder: {result.output_dir}  (record.json, predictions-<split>.jsonl)")
    return record["metrics"].get(record["main_metric"])


def _remove_if_empty(folder: Path) -> None:
    if folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()


def compose_fewshot_config(overrides: Sequence[str] = ()):
    """The composed few-shot config, as `jglue-bench fewshot` would compose it (for tests and code)."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException

    from jglue_bench.config import explain_composition_error

    register_resolvers()
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(fewshot_config_dir()), job_name="fewshot"):
            return compose(config_name="config", overrides=hydra_arguments(overrides))
    except (MissingConfigException, OverrideParseException, ConfigCompositionException) as error:
        raise UserError(explain_composition_error(error)) from None
