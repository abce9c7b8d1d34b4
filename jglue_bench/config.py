"""Where the Hydra configs live, how users' own task YAMLs join them, and how code (tests, `evaluate`,
`oracle`) composes them without the CLI."""

from __future__ import annotations

import copy
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import yaml
from omegaconf import DictConfig, OmegaConf

from jglue_bench.errors import UserError, did_you_mean

CONFIG_NAME = "config"
DEVICES = ("auto", "cpu", "cuda")
TASKS_ENV = "JGLUE_BENCH_TASKS"  # folders of users' task YAMLs, separated like PATH
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
        OmegaConf.register_new_resolver(
            "first_set",
            lambda *values: next((value for value in values if value not in (None, "", "None", "null")), None),
        )
    if not OmegaConf.has_resolver("paper_choice"):
        from jglue_bench.records.choice import paper_choice

        OmegaConf.register_new_resolver("paper_choice", paper_choice)


def compose_config(overrides: Sequence[str] = ()) -> DictConfig:
    """The composed config, as `jglue-bench train` would compose it (users' task files included)."""
    from hydra import compose, initialize_config_dir
    from hydra.errors import ConfigCompositionException, MissingConfigException, OverrideParseException

    register_resolvers()
    overrides = expand_task_overrides(overrides)
    try:
        with initialize_config_dir(version_base="1.3", config_dir=str(config_dir()), job_name="jglue-bench"):
            cfg = compose(config_name=CONFIG_NAME, overrides=list(overrides))
    except (MissingConfigException, OverrideParseException, ConfigCompositionException) as error:
        raise UserError(explain_composition_error(error)) from None
    check_task_keys_of(cfg)
    return cfg


def check_task_keys_of(cfg: DictConfig) -> None:
    """The task's keys, by the one rule of tasks/spec.py, on the config as composed: nothing is resolved yet, so
    a typo in a key the root config interpolates (`max_seq_length`, `learning_rate`, ...) is named with a
    did-you-mean rather than as an interpolation that failed or a default silently used."""
    from jglue_bench.tasks.spec import check_task_keys

    if isinstance(cfg.get("task"), DictConfig):
        check_task_keys(OmegaConf.to_container(cfg.task, resolve=False))


def check_overrides(arguments: Sequence[str]) -> None:
    """Compose once with the first value of every sweep, so a typo in a key or an option is one line with a
    did-you-mean before Hydra starts (Hydra's own message is 7 to 14 lines). Hydra's own settings are left to it."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    candidates = [
        argument for argument in arguments if not argument.startswith(("-", "hydra.", "hydra/", "+hydra", "~hydra"))
    ]
    try:
        parsed = OverridesParser.create().parse_overrides(candidates)
    except Exception as error:  # the parser's own error types vary; all mean the argument is malformed
        raise UserError(
            f"{str(error).splitlines()[0]}; overrides look like key=value (e.g. learning_rate=3e-5), "
            f"a sweep like key=a,b with -m."
        ) from None
    first = [
        f"{override.get_key_element()}={next(iter(override.sweep_string_iterator()))}"
        if override.is_sweep_override()
        else override.input_line
        for override in parsed
    ]
    for overrides in _each_task(parsed, first):  # every task of a sweep, so each task file's keys are checked
        cfg = compose_config(overrides)
    if cfg.output_dir and Path(str(cfg.output_dir)).expanduser().is_file():  # Hydra would fail making the folder
        raise UserError(
            f"output_dir {cfg.output_dir} is a file; expected a folder (or a path that does not exist yet)."
        )


def _each_task(parsed, first: list[str]) -> list[list[str]]:
    """`first` once per task a `task=a,b` sweep names (the other sweeps at their first value)."""
    for index, override in enumerate(parsed):
        if override.get_key_element().lstrip("+") == "task" and override.is_sweep_override():
            return [
                [*first[:index], f"{override.get_key_element()}={task}", *first[index + 1 :]]
                for task in override.sweep_string_iterator()
            ]
    return [first]


def explain_composition_error(error: Exception) -> str:
    """Hydra's composition errors as one line: the key or option, a did-you-mean, and what there is."""
    import re

    text = str(error)
    missing_option = re.search(r"Could not find '([\w/]+)/([^']+)'", text)
    if missing_option:
        group, option = missing_option.groups()
        options = group_options(group)
        return (
            f"unknown {group} {option!r}{did_you_mean(option, options)}; the {group} options are {', '.join(options)}."
        )
    unknown_key = re.search(
        r"Could not (?:override|delete from config)\. ?'?([\w.]+)'?|Could not override '([\w.]+)'", text
    )
    if unknown_key:
        key = unknown_key.group(1) or unknown_key.group(2)
        known = _config_keys()
        return (
            f"unknown key {key!r}{did_you_mean(key, known)}; `jglue-bench train --cfg job` shows every key "
            f"(prefix a new key with +, as in +{key}=...)."
        )
    return f"{text.splitlines()[0]} (config folder {config_dir()}; `jglue-bench tasks` lists the tasks and models)."


def _config_keys() -> list[str]:
    """Every dotted key of the default config."""

    def walk(node, prefix: str) -> list[str]:
        keys = []
        for key, value in node.items():
            keys.append(prefix + key)
            if isinstance(value, dict):
                keys += walk(value, prefix + key + ".")
        return keys

    return walk(OmegaConf.to_container(compose_config([])), "")


def bundled_tasks() -> dict[str, Path]:
    return {path.stem: path for path in sorted((config_dir() / "task").glob("*.yaml"))}


def user_tasks() -> dict[str, Path]:
    """Task YAMLs in the folders of $JGLUE_BENCH_TASKS, by file name; the first folder listing a name wins."""
    found: dict[str, Path] = {}
    for folder in filter(None, os.environ.get(TASKS_ENV, "").split(os.pathsep)):
        root = Path(folder).expanduser()
        if not root.is_dir():
            raise UserError(
                f"{TASKS_ENV} names {root}, which is not a folder (expected folders of task YAML files, "
                f"separated by '{os.pathsep}')."
            )
        for path in sorted([*root.glob("*.yaml"), *root.glob("*.yml")]):
            found.setdefault(path.stem, path.resolve())
    return found


def expand_task_overrides(overrides: Sequence[str]) -> list[str]:
    """`task=PATH.yaml` (absolute or relative) and `task=NAME` of a task in $JGLUE_BENCH_TASKS become options of
    a generated config folder added to Hydra's search path. Each generated option is the user's YAML plus its
    `origin`, so relative file paths in it stay relative to the YAML file. Sweeps (`task=a.yaml,b.yaml`) work."""
    bundled, users = bundled_tasks(), None
    expanded, generated = [], {}
    for override in overrides:
        key, sep, value = override.partition("=")
        if key.lstrip("+") != "task" or not sep:
            expanded.append(override)
            continue
        choices = []
        for choice in value.split(","):
            if choice in bundled:
                choices.append(choice)
                continue
            users = user_tasks() if users is None else users
            path = _task_file(choice, users, bundled)
            option = path.stem if path.stem not in bundled else f"user_{path.stem}"
            generated[option] = path
            choices.append(option)
        expanded.append(f"{key}={','.join(choices)}")
    if generated:
        expanded.append(f"hydra.searchpath=[file://{_generated_task_root(generated, overrides)}]")
    return expanded


def _task_file(choice: str, users: dict[str, Path], bundled: dict[str, Path]) -> Path:
    looks_like_path = choice.endswith((".yaml", ".yml")) or "/" in choice or os.sep in choice
    if looks_like_path:
        path = Path(choice).expanduser()
        if not path.is_file():
            raise UserError(f"task file {path} does not exist (task=PATH takes a task YAML file).")
        return path.resolve()
    if choice in users:
        return users[choice]
    names = [*bundled, *users]
    raise UserError(
        f"unknown task {choice!r}{did_you_mean(choice, names)}; the tasks are {', '.join(names)} "
        f"(`jglue-bench tasks` lists them; task=PATH.yaml takes your own file, and ${TASKS_ENV} adds "
        f"folders of them)."
    )


def _generated_task_root(generated: dict[str, Path], overrides: Sequence[str]) -> Path:
    """Write the generated options into a folder named by their content, under the cache (a shared file system on
    a cluster, so SLURM jobs see it too)."""
    documents = {}
    for option, path in generated.items():
        try:
            document = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            raise UserError(f"{path} is not a readable YAML file: {str(error).splitlines()[0]}") from error
        if not isinstance(document, dict):
            raise UserError(
                f"{path}: expected a task YAML mapping (name:, kind:, files:, ...), found {type(document).__name__}."
            )
        if "origin" in document:
            raise UserError(f"{path}: key 'origin' is reserved (jglue-bench sets it to the file's own path).")
        documents[option] = {**document, "origin": str(path)}
        from jglue_bench.tasks.spec import check_task_keys

        check_task_keys(documents[option])  # the user's file as written, before Hydra composes anything from it
    text = yaml.safe_dump(documents, allow_unicode=True, sort_keys=True)
    root = _cache_root(overrides) / "task-configs" / hashlib.sha256(text.encode()).hexdigest()[:16]
    for option, document in documents.items():
        target = root / "task" / f"{option}.yaml"
        if not target.is_file():
            from jglue_bench.records.store import write_yaml_atomic

            write_yaml_atomic(target, document)
    return root


def _cache_root(overrides: Sequence[str]) -> Path:
    for override in overrides:
        if override.startswith("data.cache_dir="):
            return Path(override.partition("=")[2]).expanduser()
    return Path(os.environ.get("JGLUE_BENCH_CACHE") or "~/.cache/jglue-bench").expanduser()


def compose_model(choice: str) -> tuple[DictConfig, Path]:
    """`NAME[=PATH]` (`oracle`, `tokenize`, `bench estimate --model`) -> the composed model config and the cache
    folder. PATH is set after composing rather than as a Hydra override, so any folder name works (spaces, `=`,
    commas)."""
    from omegaconf import open_dict

    name, _, path = choice.partition("=")
    cfg = compose_config([f"model={name}"])  # an unknown NAME is one line with a did-you-mean
    if path:
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise UserError(
                f"--model {choice}: {path} is not a folder; expected a local folder holding the "
                f"model's files (config.json and its tokenizer files)."
            )
        with open_dict(cfg):
            cfg.model.pretrained = str(folder)
            cfg.model.revision = None  # a local folder has no revision
    return cfg.model, Path(str(cfg.data.cache_dir)).expanduser()


def check_run_config(cfg: DictConfig) -> None:
    """Settings a user types on the command line, checked before any work, each with what was expected."""
    resolved_config(cfg)  # a resolver's error first, as one line
    _check(cfg.learning_rate, "learning_rate", float, "a positive number", lambda v: v > 0)
    _check(cfg.num_train_epochs, "num_train_epochs", int, "a whole number of epochs, at least 1", lambda v: v >= 1)
    _check(cfg.batch_size, "batch_size", int, "a positive whole number", lambda v: v >= 1)
    _check(cfg.max_seq_length, "max_seq_length", int, "a whole number from 8 to 4096", lambda v: 8 <= v <= 4096)
    _check(cfg.seed, "seed", int, "a whole number", lambda v: True)
    _check(cfg.trainer.eval_batch_size, "trainer.eval_batch_size", int, "a positive whole number", lambda v: v >= 1)
    _check(cfg.trainer.warmup_ratio, "trainer.warmup_ratio", float, "a number in [0, 1)", lambda v: 0 <= v < 1)
    if OmegaConf.select(cfg, "trainer.choice_groups") is not None:  # a saved run's config may predate it
        _check(
            cfg.trainer.choice_groups,
            "trainer.choice_groups",
            int,
            "a positive whole number (1: no groups)",
            lambda v: v >= 1,
        )
    for key in ("data.max_train_samples", "data.max_eval_samples", "trainer.per_device_batch_size"):
        value = OmegaConf.select(cfg, key)
        if value is not None:
            _check(value, key, int, "null or a positive whole number", lambda v: v >= 1)
    from transformers import SchedulerType

    if cfg.trainer.device not in DEVICES:
        raise UserError(f"trainer.device is {cfg.trainer.device!r}; expected one of {', '.join(DEVICES)}.")
    schedulers = [kind.value for kind in SchedulerType]
    if cfg.trainer.lr_scheduler not in schedulers:
        raise UserError(
            f"trainer.lr_scheduler is {cfg.trainer.lr_scheduler!r}; expected one of {', '.join(schedulers)}."
        )


def resolved_config(cfg: DictConfig) -> DictConfig:
    """A copy of `cfg` with every interpolation replaced by its value. OmegaConf runs a resolver at every access,
    and `${paper_choice:...}` reads the whole results store: resolved once, a run reads it once per key. A
    resolver's user error (say, robust before paper) is one line."""
    from omegaconf.errors import InterpolationResolutionError

    check_task_keys_of(cfg)  # a key the root config interpolates from the task may be misspelled or missing
    resolved = copy.deepcopy(cfg)
    try:
        OmegaConf.resolve(resolved)
    except InterpolationResolutionError as error:
        cause = error.__cause__
        if isinstance(cause, UserError):
            raise cause from None
        raise UserError(f"the config could not be resolved: {str(error).splitlines()[0]}") from None
    return resolved


def apply_overrides(cfg: DictConfig, overrides: Sequence[str]) -> DictConfig:
    """`key=value` overrides on a saved run's config; only existing settings, never a whole group."""
    for override in overrides:
        key, sep, value = override.partition("=")
        current = OmegaConf.select(cfg, key, default=_MISSING)
        if not sep or current is _MISSING:
            raise UserError(
                f"override {override!r}: expected key=value with a key of the run's config.yaml "
                f"(for example data.eval_split=test)."
            )
        if isinstance(current, DictConfig):
            raise UserError(
                f"override {override!r}: '{key}' is a whole group; a saved run's task and model "
                f"are fixed (override single keys such as {key}.<name>=...)."
            )
        OmegaConf.update(cfg, key, yaml.safe_load(value) if value else None, merge=False)
    return cfg


def _check(value, key: str, kind: type, expected: str, rule) -> None:
    number_ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    type_ok = number_ok if kind is float else isinstance(value, int) and not isinstance(value, bool)
    if not type_ok or not rule(value):
        raise UserError(f"{key} is {value!r}; expected {expected}.")


def group_options(group: str) -> list[str]:
    return sorted(path.stem for path in (config_dir() / group).glob("*.yaml"))
