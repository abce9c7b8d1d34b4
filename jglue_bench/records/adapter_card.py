"""The model card's parts for a run with adapters (model.peft, LoRA or QLoRA): its folder holds the adapters and
the task head in PEFT's format, not a whole model, so the card names the base model they go on, the PEFT settings
and parameter counts, how to load base + adapter, and the overrides that reproduce the adapters."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

PEFT_SETTINGS = ("method", "r", "alpha", "dropout", "target_modules")


def adapter_of(record: Mapping[str, Any]) -> dict[str, Any] | None:
    """The run's PEFT settings as its record keeps them (target_modules: the modules wrapped); None: a full
    fine-tune."""
    return (record.get("model") or {}).get("peft") or None


def peft_tags(record: Mapping[str, Any]) -> list[str]:
    adapter = adapter_of(record)
    return ["peft", adapter["method"]] if adapter else []


def base_sentence(record: Mapping[str, Any], base: str) -> str | None:
    adapter = adapter_of(record)
    if adapter is None:
        return None
    return (
        f"This folder holds {adapter['method'].upper()} adapters and the task head in PEFT's format, not a whole "
        f"model: they go on the base model, {base}, which is not copied here."
    )


def peft_section(record: Mapping[str, Any]) -> str | None:
    adapter, model = adapter_of(record), record["model"]
    if adapter is None:
        return None
    modules = ", ".join(f"`{name}`" for name in adapter.get("target_modules") or []) or "peft's defaults"
    trainable, total = model.get("trainable_parameters"), model.get("num_parameters")
    share = f" ({100 * trainable / total:.2f}%)" if trainable and total else ""
    return "\n".join(
        [
            "## PEFT\n",
            f"- base model: `{model.get('pretrained')}`"
            + (f" (revision `{model['revision']}`)" if model.get("revision") else ""),
            f"- method: `{adapter['method']}` (peft), rank r = {adapter['r']}, alpha = {adapter['alpha']} (scale "
            f"alpha / r), dropout = {adapter['dropout']}",
            f"- adapted modules: {modules}; the task head trained in full and saved with the adapters",
            f"- trainable parameters: {trainable} of {total}{share}",
        ]
    )


def peft_overrides(config: Mapping[str, Any]) -> list[str]:
    """The model.peft overrides of the run's config (what was asked, so null target_modules stays the
    family's default)."""
    block = (config.get("model") or {}).get("peft") or {}
    if block.get("method") is None:
        return []
    overrides = [f"model.peft.{key}={block[key]}" for key in PEFT_SETTINGS[:4] if block.get(key) is not None]
    if block.get("target_modules"):
        overrides.append("model.peft.target_modules=[" + ",".join(block["target_modules"]) + "]")
    return overrides


def peft_use(record: Mapping[str, Any], auto_class: str, base: str) -> str | None:
    """How to load base + adapter with transformers and peft (jglue-bench evaluate and predict do it for you)."""
    if adapter_of(record) is None:
        return None
    task = record["task"]
    labels = (
        len(task["labels"]) if task.get("labels") else 1 if task["kind"] in ("regression", "multiple_choice") else 2
    )
    decoder = (record.get("config") or {}).get("model", {}).get("family") == "decoder"
    if decoder and task["kind"] == "multiple_choice":
        auto_class = "AutoModelForSequenceClassification"  # one score per (question, choice), softmax over choices
    return (
        "## Use\n\n```python\nfrom peft import PeftModel\n"
        f"from transformers import AutoTokenizer, {auto_class}\n"
        'tokenizer = AutoTokenizer.from_pretrained("<this folder or repo>")\n'
        f'base = {auto_class}.from_pretrained("{base}", num_labels={labels}'
        + (", pad_token_id=tokenizer.pad_token_id" if decoder else "")
        + ")\n"
        'model = PeftModel.from_pretrained(base, "<this folder or repo>")\n```\n\n'
        + (
            "Llama's, Qwen2's and Qwen3's question-answering classes name the body `transformer`, their causal LM "
            'checkpoints `model`: load the base with `key_mapping={r"^model\\.": "transformer."}`. '
            if decoder and task["kind"] == "extractive_qa"
            else ""
        )
        + "`jglue-bench evaluate` and `jglue-bench predict` on the run folder load base + adapter themselves."
    )
