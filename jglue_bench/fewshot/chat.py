"""The chat template a chat preset (Nejumi) renders its messages with: the tokenizer's own, or `model.chat_template`
(a Jinja file; Nejumi keeps its own in wandb/llm-leaderboard's chat_templates/ and serves one before a model's own).

Nejumi refuses a model with no chat template (scripts/vllm_server.py: "chat_template is None"); so does this."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from jglue_bench.errors import UserError, first_line


def use_chat_template(model, model_cfg: DictConfig) -> dict[str, Any]:
    """Sets `model.chat_template`'s file on `model` (an lm-eval backend, or a tokenizer) when given, refuses a
    tokenizer left without a template, and returns what records keep of it: where it came from and its sha256."""
    tokenizer = getattr(model, "tokenizer", model)
    override = model_cfg.get("chat_template")
    if override:
        path = Path(str(override)).expanduser()
        if not path.is_file():
            raise UserError(f"model.chat_template={override}: no such file (expected a Jinja chat template file).")
        template = path.read_bytes().decode("utf-8")
        tokenizer.chat_template = template
        if hasattr(model, "hf_chat_template"):  # lm-eval's vLLM backend resolved the model's own when it loaded
            model.hf_chat_template = template
        source = str(path)
    else:
        source = "the tokenizer's own (tokenizer_config.json / chat_template.jinja)"
    template = getattr(tokenizer, "chat_template", None)
    if not template:
        raise UserError(
            f"this preset sends chat messages, and the tokenizer of {model_cfg.pretrained} has no chat template "
            f"(as Nejumi, which refuses such a model): set model.chat_template=FILE, a Jinja chat template "
            f"(Nejumi's own are in wandb/llm-leaderboard chat_templates/)."
        )
    # a tokenizer may hold several named templates (a dict); "default" is the one rendered
    text = template if isinstance(template, str) else json.dumps(template, sort_keys=True, ensure_ascii=False)
    return {"source": source, "sha256": hashlib.sha256(text.encode("utf-8")).hexdigest()}


def chat_renderer(model_cfg: DictConfig):
    """A `chat_template` callable for lm-eval's fewshot_context (messages -> text), from the model's tokenizer alone
    (no weights are read): how `show_prompts` renders a chat preset's prompts exactly as a run does."""
    from transformers import AutoTokenizer

    pretrained = str(model_cfg.pretrained)
    local = Path(pretrained).expanduser()
    try:
        tokenizer = AutoTokenizer.from_pretrained(
            str(local) if local.is_dir() else pretrained,
            revision=model_cfg.get("revision") or "main",
            trust_remote_code=bool(model_cfg.get("trust_remote_code", False)),
            use_fast=bool(model_cfg.get("use_fast_tokenizer", True)),
        )
    except OSError as error:
        raise UserError(f"cannot load the tokenizer of {pretrained}: {first_line(error)}") from None
    use_chat_template(tokenizer, model_cfg)

    def render(messages: list[dict[str, str]], add_generation_prompt: bool = True) -> str:
        # as lm-eval's HFLM.apply_chat_template renders them
        return tokenizer.apply_chat_template(
            messages,
            tokenize=False,
            add_generation_prompt=add_generation_prompt,
            continue_final_message=not add_generation_prompt,
        )

    return render
