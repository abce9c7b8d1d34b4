"""The model card of a fine-tuned model folder (`<output_dir>/model/README.md`), made from the run's record.

The front matter is Hugging Face card metadata, built with huggingface_hub's own classes (ModelCardData,
EvalResult): language, the base model's licence as its model config states it, the base model when it is a hub
id, the upstream dataset of a bundled task, the pipeline tag of the task kind, and a model-index with every score
of every eval split. The body says what a reader needs to trust or redo the run: protocol, hyperparameters, data
version and each file's sha256, software versions, and the command that reproduces it.
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from huggingface_hub import EvalResult, ModelCard, ModelCardData
from huggingface_hub.utils import HFValidationError, validate_repo_id

from jglue_bench.metrics import REGISTRY
from jglue_bench.records.adapter_card import (
    adapter_of,
    base_sentence,
    peft_overrides,
    peft_section,
    peft_tags,
    peft_use,
)
from jglue_bench.support.atomic import write_text_atomic

CARD_FILE = "README.md"
SCALE = "x100"  # records keep scores on the published JGLUE tables' scale
PIPELINE_TAGS = {
    "classification": "text-classification",
    "regression": "text-classification",
    "multiple_choice": "multiple-choice",
    "extractive_qa": "question-answering",
}
KIND_WORDS = {
    "classification": "classification",
    "regression": "regression (one output, MSE)",
    "multiple_choice": "multiple choice",
    "extractive_qa": "extractive question answering",
}
AUTO_CLASSES = {
    "classification": "AutoModelForSequenceClassification",
    "regression": "AutoModelForSequenceClassification",
    "multiple_choice": "AutoModelForMultipleChoice",
    "extractive_qa": "AutoModelForQuestionAnswering",
}
# Our metric names -> metric ids of hf.co/metrics; the card's metric name keeps ours (f1 and f1_official differ).
HUB_METRICS = {
    "accuracy": "accuracy",
    "macro_f1": "f1",
    "mcc": "matthews_correlation",
    "pearson": "pearsonr",
    "spearman": "spearmanr",
    "exact_match": "exact_match",
    "f1": "f1",
    "exact_match_official": "exact_match",
    "f1_official": "f1",
}
HUB_METRIC_ARGS = {"macro_f1": {"average": "macro"}}
HYPERPARAMETERS = ("learning_rate", "num_train_epochs", "batch_size", "max_seq_length", "seed")
TRAINER_SETTINGS = (
    "precision",
    "warmup_ratio",
    "lr_scheduler",
    "weight_decay",
    "adam_epsilon",
    "adam_betas",
    "max_grad_norm",
    "per_device_batch_size",
    "group_by_length",
    "first_token_last_layer",
)
TASK_SETTINGS = ("doc_stride", "max_query_length", "n_best_size", "max_answer_length")


@dataclass(frozen=True)
class Upstream:
    """Where a bundled task's data is published. The files are read from the upstream repository (GitHub), not
    from a copy on the Hub, so the card names that repository (the Hub links it only if it ever appears there)."""

    display: str  # the task's name upstream
    repo: str
    licence: str
    files: str  # how to have the files at hand

    @property
    def url(self) -> str:
        return f"https://github.com/{self.repo}"


JGLUE_REPO = "yahoojapan/JGLUE"
JGLUE_FILES = (
    "`export JGLUE_DATA_DIR=` JGLUE's `datasets/` folder, or add `data.source=download` (the pinned "
    "release, each file checked against its sha256)"
)
BUNDLED = {
    name: Upstream(display, JGLUE_REPO, "CC BY-SA 4.0", JGLUE_FILES)
    for name, display in (
        ("jnli", "JNLI"),
        ("jsts", "JSTS"),
        ("jsquad", "JSQuAD"),
        ("jcommonsenseqa", "JCommonsenseQA"),
    )
}
BUNDLED["marc_ja"] = Upstream(
    "MARC-ja",
    JGLUE_REPO,
    "built from Amazon's multilingual reviews corpus, whose licence is non-commercial",
    "MARC-ja built from your copy of Amazon's reviews "
    "TSV (`jglue-bench data build-marc-ja --reviews-tsv PATH --out $JGLUE_DATA_DIR`)",
)
BUNDLED["jcola"] = Upstream(
    "JCoLA",
    "osekilab/JCoLA",
    "CC BY-SA 4.0",
    "`export JCOLA_DATA_DIR=` a folder holding "
    "`jcola-v1.0/`, or add `data.source=download` (the pinned files, each checked against "
    "its sha256)",
)


def write_model_card(record: Mapping[str, Any], folder: str | Path) -> Path:
    """Write the card as folder/README.md: a temporary file in the same folder, then renamed over it."""
    path = Path(folder) / CARD_FILE
    write_text_atomic(path, str(model_card(record)))
    return path


def model_card(record: Mapping[str, Any]) -> ModelCard:
    return ModelCard(f"---\n{card_data(record).to_yaml()}\n---\n\n{card_body(record)}")


def card_data(record: Mapping[str, Any]) -> ModelCardData:
    task, config = record["task"], record["config"]
    upstream = bundled(record)
    results = eval_results(record)
    return ModelCardData(
        language="ja",
        license=config["model"].get("license") or None,
        library_name="peft" if adapter_of(record) else "transformers",
        base_model=hub_id(record["model"]["pretrained"]),
        datasets=[upstream.repo] if upstream else None,
        pipeline_tag=PIPELINE_TAGS[task["kind"]],
        metrics=list(dict.fromkeys(result.metric_type for result in results)) or None,
        tags=[
            "jglue-bench",
            *(["jglue"] if upstream and upstream.repo == JGLUE_REPO else []),
            task["name"],
            *peft_tags(record),
        ],
        model_name=f"{record['model']['name']}-{task['name']}" if results else None,
        eval_results=results or None,
    )


def eval_results(record: Mapping[str, Any]) -> list[EvalResult]:
    """One result per eval split (its dataset and split), each metric with the value the record holds (x100).
    A score the record could not compute (say, a correlation over constant predictions) is left out here and shown
    as undefined in the body."""
    task, upstream = record["task"], bundled(record)
    if upstream:
        version = f" v{task['data_version']}" if task.get("data_version") else ""
        dataset_type, config = upstream.repo, upstream.display
        name = f"{'JGLUE ' if upstream.repo == JGLUE_REPO else ''}{upstream.display}{version}"
    else:
        dataset_type, config, name = task["name"], None, f"{task['name']} (the user's own data)"
    if smoke_run(record):
        name += " (jglue-bench's bundled sample, not the release)"
    revision = pinned_revision(record) if upstream else None
    return [
        EvalResult(
            task_type=PIPELINE_TAGS[task["kind"]],
            task_name=display_name(record),
            dataset_type=dataset_type,
            dataset_name=name,
            dataset_config=config,
            dataset_split=split,
            dataset_revision=revision,
            metric_type=HUB_METRICS.get(metric, metric),
            metric_name=f"{metric} ({SCALE})",
            metric_args=HUB_METRIC_ARGS.get(metric),
            metric_value=value,
        )
        for split, metrics in scores(record).items()
        for metric, value in metrics.items()
        if defined(value)
    ]


def card_body(record: Mapping[str, Any]) -> str:
    sections = [
        title(record),
        results_section(record),
        protocol_section(record),
        hyperparameter_section(record),
        peft_section(record),
        data_section(record),
        software_section(record),
        reproduce_section(record),
        use_section(record),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"


def title(record: Mapping[str, Any]) -> str:
    model, task, display = record["model"], record["task"], display_name(record)
    pretrained, revision = model["pretrained"], model.get("revision")
    if hub_id(pretrained):
        base = f"[`{pretrained}`](https://huggingface.co/{pretrained})" + (
            f" (revision `{revision}`)" if revision else ""
        )
    elif pretrained:
        base = f"the local model folder `{pretrained}`"
    else:
        base = "random weights (a small model built by jglue-bench for smoke tests, not a model to use)"
    lines = [
        f"# {model['name']} fine-tuned on {display}",
        f"Fine-tuned from {base} on {display} ({KIND_WORDS[task['kind']]}) with jglue-bench "
        f"{version_of(record)}. This card was written from the run's record (`record.json`, run "
        f"`{record.get('run_id')}`).",
    ]
    if base_sentence(record, base):
        lines.append(base_sentence(record, base))
    if task.get("origin"):
        lines.append(f"{display} is the user's own task, defined in `{task['origin']}`.")
    if smoke_run(record):
        lines.append(
            "> **Smoke run**: trained and scored on the few examples bundled with jglue-bench, not on "
            "the released data; its scores mean nothing."
        )
    return "\n\n".join(lines)


def results_section(record: Mapping[str, Any]) -> str:
    main = record.get("main_metric")
    rows = [
        f"| {split} | {metric}{' (main)' if metric == main else ''} | "
        f"{f'{value:.2f}' if defined(value) else 'undefined'} | "
        f"{REGISTRY[metric].description if metric in REGISTRY else ''} |"
        for split, metrics in scores(record).items()
        for metric, value in metrics.items()
    ]
    return "\n".join(
        [
            f"## Results\n\nThe last epoch's scores, {SCALE} (the scale of the published JGLUE tables; "
            "the model-index above holds the same values). Every epoch's are in `record.json`.\n",
            "| split | metric | value | what it is |",
            "|---|---|---:|---|",
            *rows,
        ]
    )


def protocol_section(record: Mapping[str, Any]) -> str:
    protocol = record.get("protocol", "single")
    meaning = {
        "paper": "a cell of JGLUE's grid (learning rate x epochs) scored on dev; the reported number is "
        "the grid's best cell on dev",
        "robust": "the cell the paper protocol chose, one of several seeds, scored on test",
        "single": "one run with the settings below",
    }.get(protocol, "")
    experiment = record.get("experiment") or {}
    lines = [
        "## Protocol\n",
        f"- protocol: `{protocol}`" + (f": {meaning}" if meaning else ""),
        "- the last epoch is scored (JGLUE's protocol)",
        f"- experiment key: `{experiment.get('key')}`",
    ]
    if experiment.get("cell"):
        lines.append("- sweep cell: " + ", ".join(f"`{key}={value}`" for key, value in experiment["cell"].items()))
    if record["task"].get("labels"):
        lines.append("- labels (in id order): " + ", ".join(f"`{label}`" for label in record["task"]["labels"]))
    return "\n".join(lines)


def hyperparameter_section(record: Mapping[str, Any]) -> str:
    config = record["config"]
    trainer, task = config.get("trainer") or {}, config.get("task") or {}
    rows = [(key, config.get(key)) for key in HYPERPARAMETERS]
    rows += [(f"trainer.{key}", trainer[key]) for key in TRAINER_SETTINGS if key in trainer]
    rows += [(f"task.{key}", task[key]) for key in TASK_SETTINGS if key in task]
    return "\n".join(
        [
            "## Hyperparameters\n",
            "| setting | value |",
            "|---|---|",
            *(f"| `{key}` | `{value}` |" for key, value in rows),
        ]
    )


def data_section(record: Mapping[str, Any]) -> str:
    task = record["task"]
    upstream = bundled(record)
    lines = [
        "## Data\n",
        f"- task: `{task['name']}`, data version `{task.get('data_version')}`, read from `{task.get('data_source')}`",
    ]
    if upstream:
        lines.append(f"- upstream: [{upstream.repo}]({upstream.url}); data licence: {upstream.licence}")
    lines += [
        "",
        "| split | file | examples used / in file | sha256 | the pinned release file |",
        "|---|---|---:|---|---|",
    ]
    for file in task.get("files", []):
        carved = f" (carved: {file['carve']})" if file.get("carve") else ""
        lines.append(
            f"| {file.get('split')} | `{file.get('name')}`{carved} | {file.get('used')} / "
            f"{file.get('examples')} | `{file.get('sha256')}` | {yes_no(file.get('matches_pin'))} |"
        )
    return "\n".join(lines)


def software_section(record: Mapping[str, Any]) -> str:
    packages, git, device = record.get("packages") or {}, record.get("git") or {}, record.get("device") or {}
    sha = f", git `{git['sha']}`{' with uncommitted changes' if git.get('dirty') else ''}" if git.get("sha") else ""
    lines = [
        "## Software and hardware\n",
        f"- jglue-bench {version_of(record)}{sha}",
        "- "
        + ", ".join(
            f"{name} {packages[name]}"
            for name in ("transformers", "torch", "accelerate", "tokenizers")
            if packages.get(name)
        ),
        f"- tokenizer: recipe `{record['model']['tokenizer_recipe'].get('recipe')}`, fingerprint "
        f"`{record['model'].get('tokenizer_fingerprint')}` (its files and recipe are saved in this folder)",
        f"- device: {device.get('type')} ({device.get('name')}), {device.get('num_processes')} process(es), "
        f"{device.get('precision')}" + spread(device),
    ]
    if record.get("wall_time_s") is not None:
        lines.append(f"- wall time: {record['wall_time_s']} s")
    return "\n".join(lines)


def spread(device: Mapping[str, Any]) -> str:
    """How a training run was spread over its processes; records before it was kept say nothing."""
    if device.get("strategy") is None:
        return ""
    return (
        f", {device['strategy']}, {device['per_device_batch_size']} per device x "
        f"{device['gradient_accumulation_steps']} accumulation step(s) = global batch {device['global_batch_size']}"
    )


def reproduce_section(record: Mapping[str, Any]) -> str:
    upstream = bundled(record)
    where = upstream.files if upstream else "the task's files where its YAML names them"
    return (
        f"## Reproduce\n\nWith {where}:\n\n```bash\n{reproduce_command(record)}\n```\n\n"
        "A results store that already holds this experiment key skips the run; add `rerun=true` to run it again."
    )


def use_section(record: Mapping[str, Any]) -> str:
    auto = AUTO_CLASSES[record["task"]["kind"]]
    with_adapter = peft_use(record, auto, record["model"]["pretrained"])
    if with_adapter:
        return with_adapter
    return (
        f'## Use\n\n```python\nfrom transformers import {auto}\nmodel = {auto}.from_pretrained("<this folder '
        'or repo>")\n```\n\nThe tokenizer was saved here with `save_pretrained`, beside '
        "`jglue_bench_tokenizer.json`, the recipe jglue-bench rebuilds it from (`jglue-bench evaluate` and "
        "`jglue-bench predict` on the run folder use it)."
    )


def reproduce_command(record: Mapping[str, Any]) -> str:
    """`jglue-bench train ...` with the run's task, model, hyperparameters, seed and data version, read from the
    record's resolved config (what was run, not what was typed)."""
    config, protocol = record["config"], record.get("protocol", "single")
    task, data, trainer = config["task"], config.get("data") or {}, config.get("trainer") or {}
    parts = ["jglue-bench", "train"]
    if protocol in ("paper", "robust"):
        parts.append(f"experiment={protocol}")
    parts += [f"task={task.get('origin') or task['name']}", f"model={config['model']['name']}"]
    pretrained = config["model"].get("pretrained")
    if pretrained and not hub_id(pretrained):
        parts.append(f"model.pretrained={pretrained}")
    parts += peft_overrides(config)
    if trainer.get("precision") == "bf16":
        parts.append("trainer=gpu_bf16")
    elif trainer.get("precision") not in (None, "fp32"):
        parts.append(f"trainer.precision={trainer['precision']}")
    parts += [f"{key}={override_value(config[key])}" for key in HYPERPARAMETERS if config.get(key) is not None]
    if task.get("versions"):  # a task whose files follow data.version (JGLUE's)
        parts.append(f"data.version={data['version']}")
    if data.get("train_split", "train") != "train":
        parts.append(f"data.train_split={data['train_split']}")
    for key in ("eval_split", "max_train_samples", "max_eval_samples"):
        if data.get(key) is not None:
            parts.append(f"data.{key}={override_value(data[key])}")
    if protocol not in ("paper", "robust", "single"):
        parts.append(f"protocol={protocol}")
    return " ".join(shlex.quote(part) for part in parts)


def override_value(value: Any) -> str:
    """A value as Hydra's override grammar reads it back (lists in brackets)."""
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(override_value(item) for item in value) + "]"
    return str(value)


def hub_id(pretrained: Any) -> str | None:
    """`pretrained` when it names a hub repo; None for random weights and local folders."""
    if not pretrained or Path(str(pretrained)).expanduser().exists():
        return None
    try:
        validate_repo_id(str(pretrained))
    except HFValidationError:
        return None
    return str(pretrained)


def pinned_revision(record: Mapping[str, Any]) -> str | None:
    """The upstream git revision (tag or commit) the task's files are pinned to, when every file matched its pin."""
    files = record["task"].get("files") or []
    if not files or not all(file.get("matches_pin") for file in files):
        return None
    url = str((record["config"]["task"].get("source") or {}).get("url") or "")
    found = re.search(r"/(v\d+(?:\.\d+)*|[0-9a-f]{40})/", url)
    return found.group(1) if found else None


def bundled(record: Mapping[str, Any]) -> Upstream | None:
    """A bundled task's upstream; None for a user's own task (it has an origin file)."""
    task = record["task"]
    return None if task.get("origin") else BUNDLED.get(task["name"])


def display_name(record: Mapping[str, Any]) -> str:
    upstream = bundled(record)
    return upstream.display if upstream else record["task"]["name"]


def smoke_run(record: Mapping[str, Any]) -> bool:
    return "bundled-sample" in (record["task"].get("data_source") or "")


def scores(record: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return record.get("eval_metrics") or {record.get("split") or "eval": record.get("metrics") or {}}


def defined(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def version_of(record: Mapping[str, Any]) -> str:
    return str((record.get("packages") or {}).get("jglue-bench"))


def yes_no(value: Any) -> str:
    return {True: "yes", False: "no"}.get(value, "-")
