"""Presets: published few-shot settings, each a YAML file in `configs/fewshot/presets/` whose tasks are lm-eval
task configs (prompt text, shots, delimiters, choices, stop sequences, metrics) as the source wrote them, with
the source cited. This module reads them and makes the lm-eval task config of one preset and task over our
documents; lm-eval does the rest (rendering, few-shot sampling, requests, its metrics)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from jglue_bench.errors import UserError, did_you_mean


@dataclass(frozen=True)
class Preset:
    name: str
    prompt_version: str | None
    source: str
    fewshot_split: str  # our split name the shots come from (the source's training split)
    fewshot_seed: int
    tasks: Mapping[str, Mapping[str, Any]]
    path: Path
    # default: lm-eval's; jp_stable: samplers.py (its scored documents shuffled first); llm_jp_eval: llm_jp_eval.py
    sampler: str = "default"
    source_fewshot_split: str = "train"  # the split the source drew shots from (fewshot_split may be overridden)
    limit: int | None = None  # the source's cap on the scored documents of each dataset (limit=N overrides it)
    source_data_version: str | None = None  # the JGLUE version the source read (llm-jp-eval: 1.1), when stated
    layout: str | None = None  # llm-jp-eval's datasets: "alpaca" (its prompt) or "chat" (Nejumi's messages)

    @property
    def chat(self) -> bool:
        """Prompts are chat messages rendered by the model's chat template (Nejumi)."""
        return self.layout == "chat"

    def task_entry(self, task: str) -> Mapping[str, Any]:
        if task not in self.tasks:
            raise UserError(
                f"preset {self.name!r} has no task {task!r}{did_you_mean(task, list(self.tasks))}; it has "
                f"{', '.join(self.tasks)} ({self.path})."
            )
        return self.tasks[task]

    def shots(self, task: str) -> int:
        return int(self.task_entry(task)["config"].get("num_fewshot", 0))


def preset_dir(config_root: Path) -> Path:
    return config_root / "fewshot" / "presets"


def preset_names(config_root: Path) -> list[str]:
    return sorted(path.stem for path in preset_dir(config_root).glob("*.yaml"))


def load_preset(name: str, config_root: Path, prompt_version: str | None = None) -> Preset:
    """The preset `name`; one with several prompt versions takes `prompt_version` (null: its default)."""
    path = preset_dir(config_root) / f"{name}.yaml"
    if not path.is_file():
        names = preset_names(config_root)
        raise UserError(f"unknown preset {name!r}{did_you_mean(name, names)}; the presets are {', '.join(names)}.")
    document = _with_base(yaml.safe_load(path.read_text(encoding="utf-8")), config_root)
    versions = document.get("prompt_versions")
    if versions is None:
        if prompt_version is not None:
            raise UserError(
                f"preset {name!r} has one prompt; prompt_version={prompt_version} is for presets with several."
            )
        tasks, version = document["tasks"], None
    else:
        version = str(prompt_version if prompt_version is not None else document["default_prompt_version"])
        if version not in versions:
            raise UserError(
                f"preset {name!r} has no prompt version {version!r}; it has {', '.join(versions)} ({path})."
            )
        tasks = versions[version]
    if document.get("layout"):  # llm-jp-eval's datasets: their lm-eval configs are made in llm_jp_eval.py
        from jglue_bench.fewshot.llm_jp_eval import lm_eval_entry

        tasks = {task: lm_eval_entry(dataset, document) for task, dataset in tasks.items()}
    return Preset(
        name=document["name"],
        prompt_version=version,
        source=document["source"],
        fewshot_split=document.get("fewshot_split", "train"),
        fewshot_seed=int(document.get("fewshot_seed", 1234)),
        tasks=tasks,
        path=path,
        sampler=document.get("sampler", "default"),
        source_fewshot_split=document.get("fewshot_split", "train"),
        limit=document.get("limit"),
        source_data_version=document.get("source_data_version"),
        layout=document.get("layout"),
    )


def _with_base(document: dict[str, Any], config_root: Path) -> dict[str, Any]:
    """A preset that `extends` another takes its tasks (prompts, metrics) and changes only the shots of each task
    (`num_fewshot`), keeps only `tasks_kept` if given, and states the rest itself (name, source, limit, layout...):
    Nejumi is llm-jp-eval's datasets at 0 and 2 shots as chat messages, not a second copy of them."""
    base_name = document.get("extends")
    if base_name is None:
        return document
    base_path = preset_dir(config_root) / f"{base_name}.yaml"
    base = yaml.safe_load(base_path.read_text(encoding="utf-8"))
    shots = document.get("num_fewshot")
    kept = document.get("tasks_kept") or list(base["tasks"])
    tasks = {name: copy.deepcopy(entry) for name, entry in base["tasks"].items() if name in kept}
    for entry in tasks.values():
        if shots is not None:  # an lm-eval config's, or an llm-jp-eval dataset's (layout presets)
            (entry["config"] if "config" in entry else entry)["num_fewshot"] = int(shots)
    own = {key: value for key, value in document.items() if key not in ("extends", "tasks_kept")}
    return {**base, **own, "tasks": tasks}


def protocol_label(preset: Preset, shots: int) -> str:
    """How records name the setting: `fewshot/<preset>[/v<prompt version>]/<shots>shot`, with `/shots-from-<split>`
    when the shots come from another split than the source's; report pairs published rows by this label."""
    parts = ["fewshot", preset.name, *([f"v{preset.prompt_version}"] if preset.prompt_version else []), f"{shots}shot"]
    if shots and preset.fewshot_split != preset.source_fewshot_split:
        parts.append(f"shots-from-{preset.fewshot_split}")  # not the source's setting: never paired with its numbers
    return "/".join(parts)


def task_config(
    preset: Preset,
    task: str,
    dataset: Callable[..., Any],
    eval_split: str,
    num_fewshot: int | None = None,
    scored_documents: int = 0,
) -> dict[str, Any]:
    """The lm-eval task config (a TaskConfig dict) of `task` under `preset`: the preset's own keys, the data from
    `dataset` (a callable returning a DatasetDict with `eval_split` and the few-shot split), the eval split as
    the one scored, and `num_fewshot` if given."""
    entry = preset.task_entry(task)
    config = copy.deepcopy(dict(entry["config"]))
    # with no shots the few-shot split is never read (lm-eval still builds its sampler over some split)
    fewshot_split = preset.fewshot_split if num_fewshot != 0 else eval_split
    config.update(
        task=f"jglue_{preset.name}_{task}",
        custom_dataset=dataset,
        dataset_path="json",  # unused with custom_dataset; lm-eval's TaskConfig wants a value
        training_split=fewshot_split,
        fewshot_split=fewshot_split,
        validation_split=None,
        test_split=eval_split,
    )
    if num_fewshot is not None:
        config["num_fewshot"] = num_fewshot
    if entry.get("fewshot_target") == "label_digits":
        # the shots' answer is the gold index as digits while the scored continuations stay the choice texts (a
        # template would not do: lm-eval reads a rendered "4" as an index into the choices)
        config["fewshot_config"] = {**config.get("fewshot_config", {}), "doc_to_target": _label_digits}
    if entry.get("scoring") == "jasquad":
        from jglue_bench.fewshot import jasquad

        config.update(jasquad.scoring_config())
    elif entry.get("scoring"):
        from jglue_bench.fewshot.llm_jp_eval import scoring_config

        config.update(scoring_config(entry["scoring"], entry.get("answer", "llm_jp_eval"), task))
    if entry.get("chat_lead") and config.get("num_fewshot", 0) == 0:
        from jglue_bench.fewshot.llm_jp_eval import lead_first_message

        lead_first_message(config, entry["chat_lead"])
    if preset.sampler == "llm_jp_eval":
        from jglue_bench.fewshot.llm_jp_eval import llm_jp_eval_sampler

        config["fewshot_config"] = {
            **config.get("fewshot_config", {}),
            "sampler": llm_jp_eval_sampler(preset.fewshot_seed, entry.get("chat_lead")),
        }
    if preset.sampler == "jp_stable":
        from jglue_bench.fewshot.samplers import jp_stable_sampler

        sampler = jp_stable_sampler(scored_documents, bool(entry.get("stratified")), preset.fewshot_seed)
        config["fewshot_config"] = {**config.get("fewshot_config", {}), "sampler": sampler}
    return config


def _label_digits(doc: Mapping[str, Any]) -> str:
    return str(doc["label"])
