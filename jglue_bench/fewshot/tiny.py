"""A small random decoder over a real SentencePiece model, for offline runs and tests: a 2-layer Llama whose
tokenizer gives SentencePiece's own ids.

Why not `LlamaTokenizer(vocab_file=...)`: in transformers 5 it builds a BPE model from a unigram `.model` and
splits こんにちは into pieces SentencePiece keeps whole; here the Rust Unigram model is built from the pieces
and scores themselves, with the model's normalisation (`tokenization/sentencepiece_recipes.py`), and `<s>` put
in front of every text as the llm-jp v3 tokenizer config asks (`add_bos_token: true`)."""

from __future__ import annotations

from pathlib import Path

from jglue_bench.tokenization.sentencepiece_recipes import sentencepiece_proto, unigram_from_proto


def sentencepiece_fast_tokenizer(model_file: Path, bos: str = "<s>", eos: str = "</s>", unk: str = "<unk>"):
    from tokenizers import decoders, processors
    from transformers import PreTrainedTokenizerFast

    proto = sentencepiece_proto(model_file)
    backend = unigram_from_proto(proto)
    if proto.trainer_spec.byte_fallback:
        # generations decode byte pieces (<0x0A>) to their characters, as transformers' converted SentencePiece
        # tokenizers do (LlamaConverter's decoder); without this a generated newline reads "<0x0A>" and no "\n\n"
        # stop sequence ever matches
        backend.decoder = decoders.Sequence(
            [decoders.Replace("▁", " "), decoders.ByteFallback(), decoders.Fuse(), decoders.Strip(" ", 1, 0)]
        )
    bos_id = backend.token_to_id(bos)
    backend.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A", pair=f"{bos} $A $B", special_tokens=[(bos, bos_id)]
    )
    return PreTrainedTokenizerFast(tokenizer_object=backend, bos_token=bos, eos_token=eos, unk_token=unk, pad_token=eos)


# The decoder families a tiny model can be built in (tests/test_decoders.py trains each): their config classes and
# the causal LM class saved, so a folder looks like the hub's (config.json's architectures, model_type).
ARCHITECTURES = {
    "llama": ("LlamaConfig", "LlamaForCausalLM"),
    "qwen2": ("Qwen2Config", "Qwen2ForCausalLM"),
    "gemma": ("GemmaConfig", "GemmaForCausalLM"),
    "mistral": ("MistralConfig", "MistralForCausalLM"),
}
LLM_JP_V3 = ("llm-jp-tokenizer-v3", "llm-jp-tokenizer-100k.ver3.0b1.model")
SARASHINA = ("sbintuitions-modernbert-ja-tokenizer", "tokenizer.model")
# The real SentencePiece model (its folder and file under $JGLUE_MODELS_DIR) a tiny decoder of each family is
# built over, and its pad token: eos pads Llama's; Qwen2's and Mistral's ship none (the framework makes eos pad);
# Gemma's has its own. `bench train --model FAMILY` and tests/test_decoders.py build from this table.
FAMILY_TOKENIZERS = {
    "llama": (LLM_JP_V3, "</s>"),
    "qwen2": (SARASHINA, None),
    "gemma": (SARASHINA, "<pad>"),
    "mistral": (LLM_JP_V3, None),
}


def build_tiny_decoder(
    model_file: Path,
    folder: Path,
    seed: int = 0,
    layers: int = 2,
    hidden: int = 64,
    architecture: str = "llama",
    pad_token: str | None = "</s>",
    heads: int = 4,
    intermediate: int | None = None,
    dtype: str = "float32",
) -> Path:
    """Save a random causal LM of `architecture` (vocabulary = the SentencePiece model's) and its tokenizer into
    `folder`; `pad_token=None` saves a tokenizer without one, as many decoders ship. `heads`, `intermediate`
    (default 2 x hidden) and `dtype` give a real model's shape and storage (bench fewshot)."""
    import torch
    import transformers

    config_class, model_class = (getattr(transformers, name) for name in ARCHITECTURES[architecture])
    tokenizer = sentencepiece_fast_tokenizer(model_file)
    if pad_token != tokenizer.pad_token:
        tokenizer.pad_token = pad_token
    torch.manual_seed(seed)
    config = config_class(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=intermediate or 2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=heads,
        num_key_value_heads=heads,
        head_dim=hidden // heads,
        max_position_embeddings=4096,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    model = model_class(config).to(getattr(torch, dtype))
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    portable_tokenizer_class(Path(folder) / "tokenizer_config.json")
    return Path(folder)


def portable_tokenizer_class(config_file: Path) -> None:
    """transformers 5 saves `tokenizer_class: TokenizersBackend`, a name transformers 4 (which vLLM's own
    environment may hold) cannot load; PreTrainedTokenizerFast, the class both read a tokenizer.json with, can."""
    import json

    config = json.loads(config_file.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"
    config_file.write_text(json.dumps(config, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
