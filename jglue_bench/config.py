"""Where the Hydra configs live and how code (tests, `evaluate`, `oracle`) composes them without the CLI."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig, OmegaConf

CONFIG_NAME = "config"


def config_dir() -> Path:
    """configs/ beside the package (a checkout or an editable install), or $JGLUE_BENCH_CONFIG_DIR."""
    override = os.environ.get("JGLUE_BENCH_CONFIG_DIR")
    return Path(override) if override else Path(__file__).resolve().parent.parent / "configs"


def register_resolvers() -> None:
    # first_set: the first argument that is set, so `output_dir=PATH` also becomes Hydra's run folder.
    if not OmegaConf.has_resolver("first_set"):
        OmegaConf.register_new_resolver("first_set", lambda *values: next(
            (value for value in values if value not in (None, "", "None", "null")), None))


def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
    register_resolvers()
    with initialize_config_dir(version_base="1.3", config_dir=str(config_dir()), job_name="jglue-bench"):
        return compose(config_name=CONFIG_NAME, overrides=list(overrides))


def group_options(group: str) -> list[str]:
    return sorted(path.stem for path in (config_dir() / group).glob("*.yaml"))
