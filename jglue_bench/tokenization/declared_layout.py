"""The special tokens and the single/pair layout a tokenizer's own files declare, for tokenizers the recipes build
from a bare vocabulary (the unigram recipe), where nothing else says where [CLS]-like tokens go.

The layout comes from, in this order:
1. `model.tokenizer.layout` ({single, pair} in `tokenizers` TemplateProcessing notation), when the config sets it;
2. tokenizer.json's own post-processor, where the model ships one;
3. tokenizer_config.json's `add_bos_token` / `add_eos_token` with its bos/eos tokens, as transformers' Llama
   tokenizers lay them out (`<s> A </s>`, and pairs repeat the template: `<s> A </s><s> B </s>`);
4. the recipe's default, `<cls> A <sep>` and `<cls> A <sep> B <sep>`.
Guessing matters: a model fine-tuned on a first token it never saw in pre-training starts from the wrong place
(ModernBERT-ja's files declare `<s> A </s>`, not the `<cls> A <sep>` its vocabulary also holds).

The special tokens: the recipe's `special_tokens` over tokenizer_config.json over special_tokens_map.json over the
recipe's defaults; a declared token the vocabulary lacks is left out (it would become a new, untrained row).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tokenizers import Tokenizer, processors

from jglue_bench.errors import UserError

DEFAULT_SPECIALS = {
    "cls_token": "<cls>",
    "sep_token": "<sep>",
    "pad_token": "<pad>",
    "unk_token": "<unk>",
    "mask_token": "<mask>",
}
SPECIAL_KEYS = ("bos_token", "eos_token", "cls_token", "sep_token", "pad_token", "unk_token", "mask_token")
DEFAULT_LAYOUT = {"single": "{cls} $A {sep}", "pair": "{cls} $A {sep} $B:1 {sep}:1"}


def declared_special_tokens(
    backend: Tokenizer, recipe_tokens: Mapping[str, str], *declarations: Mapping[str, Any] | None
) -> dict[str, str]:
    """The special tokens by role (cls_token, ...): the recipe's, else the first file that declares one (most
    specific first), else the recipe defaults; only tokens that are in the vocabulary."""
    chosen: dict[str, str] = {}
    for source in (*[d for d in declarations if d], DEFAULT_SPECIALS):
        for key in SPECIAL_KEYS:
            token = _token_text(source.get(key))
            if key not in chosen and token is not None and backend.token_to_id(token) is not None:
                chosen[key] = token
    for key, token in recipe_tokens.items():  # the config's choice wins, and must exist
        if backend.token_to_id(token) is None:
            raise UserError(
                f"model.tokenizer.special_tokens.{key} is {token!r}, which the tokenizer's vocabulary does not "
                f"hold; the special tokens must be pieces of the model's vocabulary."
            )
        chosen[key] = token
    return chosen


def apply_declared_layout(
    backend: Tokenizer,
    specials: Mapping[str, str],
    layout: Mapping[str, str] | None,
    tokenizer_config: Mapping[str, Any] | None,
) -> tuple[dict[str, str] | None, str]:
    """Give `backend` its post-processor by the order above. Returns the template it set ({single, pair}; None
    where tokenizer.json's own post-processor stays) and where the layout came from, for notes and records."""
    if layout is not None:
        template, source = _checked_layout(layout), "model.tokenizer.layout"
    elif backend.post_processor is not None:
        return None, "tokenizer.json's post-processor"
    elif tokenizer_config and ("add_bos_token" in tokenizer_config or "add_eos_token" in tokenizer_config):
        template, source = _bos_eos_layout(tokenizer_config, specials), "tokenizer_config.json add_bos/eos_token"
    else:
        missing = [key for key in ("cls_token", "sep_token") if key not in specials]
        if missing:
            raise UserError(
                f"the tokenizer's files declare no layout and its vocabulary has no {' or '.join(missing)} for the "
                f"default <cls> A <sep>; set model.tokenizer.layout (single, pair) and model.tokenizer.special_tokens."
            )
        template = {
            key: value.format(cls=specials["cls_token"], sep=specials["sep_token"])
            for key, value in DEFAULT_LAYOUT.items()
        }
        source = "the unigram recipe's default"
    set_template(backend, template)
    return template, source


def set_template(backend: Tokenizer, template: Mapping[str, str]) -> None:
    """A TemplateProcessing post-processor from {single, pair}, every special token looked up in the vocabulary."""
    pieces = {
        piece.split(":")[0]
        for text in (template["single"], template["pair"])
        for piece in text.split()
        if not piece.startswith("$")
    }
    ids = {piece: backend.token_to_id(piece) for piece in sorted(pieces)}
    missing = [piece for piece, index in ids.items() if index is None]
    if missing:
        raise UserError(
            f"the layout {dict(template)} names {', '.join(missing)}, which the tokenizer's vocabulary does not "
            f"hold (model.tokenizer.layout and special_tokens name pieces of the model's vocabulary)."
        )
    try:
        backend.post_processor = processors.TemplateProcessing(
            single=template["single"], pair=template["pair"], special_tokens=list(ids.items())
        )
    except Exception as error:  # tokenizers raises a bare Exception for a template it cannot parse
        raise UserError(f"model.tokenizer.layout {dict(template)} is not a valid template: {error}") from error


def _bos_eos_layout(tokenizer_config: Mapping[str, Any], specials: Mapping[str, str]) -> dict[str, str]:
    """transformers' Llama layout: bos and eos around each text where the config turns them on."""
    wanted = {
        key: bool(tokenizer_config.get(flag))
        for flag, key in (("add_bos_token", "bos_token"), ("add_eos_token", "eos_token"))
    }
    missing = [key for key, on in wanted.items() if on and key not in specials]
    if missing:
        raise UserError(f"tokenizer_config.json adds {' and '.join(missing)} but the vocabulary holds no such token.")
    bos = specials["bos_token"] if wanted["bos_token"] else None
    eos = specials["eos_token"] if wanted["eos_token"] else None

    def around(sequence: str, type_id: int) -> list[str]:
        suffix = f":{type_id}" if type_id else ""
        return [*([bos + suffix] if bos else []), sequence + suffix, *([eos + suffix] if eos else [])]

    return {"single": " ".join(around("$A", 0)), "pair": " ".join(around("$A", 0) + around("$B", 1))}


def _checked_layout(layout: Mapping[str, Any]) -> dict[str, str]:
    if not isinstance(layout, Mapping) or set(layout) != {"single", "pair"}:
        raise UserError(
            f"model.tokenizer.layout is {layout!r}; expected {{single: ..., pair: ...}} in TemplateProcessing "
            f"notation, e.g. single: '<s> $A </s>', pair: '<s> $A </s> <s>:1 $B:1 </s>:1'."
        )
    return {"single": str(layout["single"]), "pair": str(layout["pair"])}


def _token_text(value: Any) -> str | None:
    """A token as tokenizer_config.json and special_tokens_map.json write it: a string or {content: ...}."""
    if isinstance(value, Mapping):
        value = value.get("content")
    return value if isinstance(value, str) and value else None
