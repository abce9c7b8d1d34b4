"""Where the Hydra configs live and how code (tests, `evaluate`, `oracle`) composes them without the CLI."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import yaml
from hydra import compose, initialize_config_dir
from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException
from omegaconf import DictConfig, OmegaConf
from transformers import SchedulerType

from jglue_bench.errors import UserError

CONFIG_NAME = "config"
DEVICES = ("auto", "cpu", "cuda")
_MISSING = object()


def config_dir() -> Path:
    """$JGLUE_BENCH_CONFIG_DIR, else the configs a wheel install ships inside the package, else configs/ at the
    top of the checkout (an editable install)."""
    override = os.environ.get("JGLUE_BENCH_CONFIG_DIR")
    if override:
        return Path(override)
    packaged = Path(__file__).resolve().parent / "configs"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "configs"


def register_resolvers() -> None:
    # first_set: the first argument that is set, so `output_dir=PATH` also becomes Hydra's run folder.
    if not OmegaConf.has_resolver("first_set"):
        OmegaConf.register_new_resolver("first_set", lambda *values: next(
            (value for value in values if value not in (None, "", "None", "null")), None))


def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
    register_resolvers()
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(config_dir()), job_name="jglue-bench"):
            return compose(config_name=CONFIG_NAME, overrides=list(overrides))
    except (MissingConfigException, OverrideParseException, ConfigCompositionException) as error:
        raise UserError(f"{str(error).splitlines()[0]} (config folder {config_dir()}; "
                        f"`jglue-bench tasks` lists the tasks and models).") from error


def check_run_config(cfg: DictConfig) -> None:
    """Settings a user types on the command line, checked before any work, each with what was expected."""
    _check(cfg.learning_rate, "learning_rate", float, "a positive number", lambda v: v > 0)
    _check(cfg.num_train_epochs, "num_train_epochs", int, "a whole number of epochs, at least 1", lambda v: v >= 1)
    _check(cfg.batch_size, "batch_size", int, "a positive whole number", lambda v: v >= 1)
    _check(cfg.max_seq_length, "max_seq_length", int, "a whole number from 8 to 4096", lambda v: 8 <= v <= 4096)
    _check(cfg.seed, "seed", int, "a whole number", lambda v: True)
    _check(cfg.trainer.eval_batch_size, "trainer.eval_batch_size", int, "a positive whole number", lambda v: v >= 1)
    _check(cfg.trainer.warmup_ratio, "trainer.warmup_ratio", float, "a number in [0, 1)", lambda v: 0 <= v < 1)
    for key in ("data.max_train_samples", "data.max_eval_samples", "trainer.per_device_batch_size"):
        value = OmegaConf.select(cfg, key)
        if value is not None:
            _check(value, key, int, "null or a positive whole number", lambda v: v >= 1)
    if cfg.trainer.device not in DEVICES:
        raise UserError(f"trainer.device is {cfg.trainer.device!r}; expected one of {', '.join(DEVICES)}.")
    schedulers = [kind.value for kind in SchedulerType]
    if cfg.trainer.lr_scheduler not in schedulers:
        raise UserError(f"trainer.lr_scheduler is {cfg.trainer.lr_scheduler!r}; expected one of "
                        f"{', '.join(schedulers)}.")


def apply_overrides(cfg: DictConfig, overrides: Sequence[str]) -> DictConfig:
    """`key=value` overrides on a saved run's config; only existing settings, never a whole group."""
    for override in overrides:
        key, sep, value = override.partition("=")
        current = OmegaConf.select(cfg, key, default=_MISSING)
        if not sep or current is _MISSING:
            raise UserError(f"override {override!r}: expected key=value with a key of the run's config.yaml "
                            f"(for example data.eval_split=test).")
        if isinstance(current, DictConfig):
            raise UserError(f"override {override!r}: '{key}' is a whole group; a saved run's task and model "
                            f"are fixed (override single keys such as {key}.<name>=...).")
        OmegaConf.update(cfg, key, yaml.safe_load(value) if value else None, merge=False)
    return cfg


def _check(value, key: str, kind: type, expected: str, rule) -> None:
    number_ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    type_ok = number_ok if kind is float else isinstance(value, int) and not isinstance(value, bool)
    if not type_ok or not rule(value):
        raise UserError(f"{key} is {value!r}; expected {expected}.")


def group_options(group: str) -> list[str]:
    return sorted(path.stem for path in (config_dir() / group).glob("*.yaml"))
