"""Tokenizers built from explicit recipes, so no model needs remote code to be tokenized correctly."""

from jglue_bench.tokenization.recipes import load_tokenizer, tokenizer_fingerprint

__all__ = ["load_tokenizer", "tokenizer_fingerprint"]
