"""Tokenizer traps of decoder checkpoints, found before a model is loaded.

transformers 5 loads a folder holding a SentencePiece unigram `tokenizer.model` and a `tokenizer_config.json` that
says `LlamaTokenizer`, but no `tokenizer.json`, as a BPE model rebuilt from the pieces: こんにちは comes out as
こん / にち / は where SentencePiece (and the model's pre-training) has one piece (tests/test_fewshot_models.py
shows it on the real sarashina / ModernBERT-ja tokenizer). The log-likelihoods of such a run would be of text the
model never saw split that way, so the folder is refused with what to do instead."""

from __future__ import annotations

import json
from pathlib import Path

LLAMA_CLASSES = ("LlamaTokenizer", "LlamaTokenizerFast")


def tokenizer_trap(folder: Path) -> str | None:
    """A sentence naming the trap in a local model folder, or None."""
    folder = Path(folder)
    config_file, model_file = folder / "tokenizer_config.json", folder / "tokenizer.model"
    if (folder / "tokenizer.json").is_file() or not model_file.is_file() or not config_file.is_file():
        return None
    try:
        tokenizer_class = json.loads(config_file.read_text(encoding="utf-8")).get("tokenizer_class")
    except (ValueError, UnicodeDecodeError):
        return None
    if tokenizer_class not in LLAMA_CLASSES or not _is_unigram(model_file):
        return None
    return (
        f"{folder} has a SentencePiece unigram tokenizer.model and tokenizer_class {tokenizer_class} but no "
        f"tokenizer.json: transformers 5 would rebuild it as BPE and split words SentencePiece keeps whole "
        f"(こんにちは -> こん/にち/は); add the checkpoint's own tokenizer.json to the folder."
    )


def _is_unigram(model_file: Path) -> bool:
    from jglue_bench.errors import UserError
    from jglue_bench.tokenization.sentencepiece_recipes import sentencepiece_proto

    try:
        return sentencepiece_proto(model_file).trainer_spec.model_type == 1  # 1: unigram
    except UserError:
        return False
