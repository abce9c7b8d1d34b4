"""Decoder model configs, and the tokenizer trap of a SentencePiece unigram model read as LlamaTokenizer."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import shared_models_dir

from jglue_bench.config import config_dir
from jglue_bench.fewshot.tiny import sentencepiece_fast_tokenizer
from jglue_bench.fewshot.tokenizers import tokenizer_trap
from jglue_bench.records.published import load_published, packaged_dir

DECODERS = sorted((config_dir() / "fewshot" / "model").glob("*.yaml"))


@pytest.fixture
def sarashina_folder(tmp_path) -> Path:
    source = shared_models_dir() / "sbintuitions-modernbert-ja-tokenizer"
    if not (source / "tokenizer.model").is_file():
        pytest.skip(f"sarashina / ModernBERT-ja tokenizer.model not found under {source} (set JGLUE_MODELS_DIR)")
    for name in ("tokenizer.model", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(source / name, tmp_path / name)
    return tmp_path


def test_llama_tokenizer_over_a_unigram_model_splits_what_sentencepiece_keeps_whole(sarashina_folder):
    import sentencepiece
    from transformers import AutoTokenizer

    processor = sentencepiece.SentencePieceProcessor(model_file=str(sarashina_folder / "tokenizer.model"))
    assert processor.encode("こんにちは", out_type=str) == ["こんにちは"]
    assert AutoTokenizer.from_pretrained(str(sarashina_folder)).tokenize("こんにちは") == ["こん", "にち", "は"]
    # the unigram pipeline of tiny.py gives SentencePiece's own ids (after <s>)
    ours = sentencepiece_fast_tokenizer(sarashina_folder / "tokenizer.model")
    for text in ("こんにちは", "吾輩は猫である。名前はまだ無い。", "ＡＩと２０２３年"):
        assert ours(text)["input_ids"] == [ours.bos_token_id, *processor.encode(text)]


def test_the_trap_is_refused_in_one_line_and_a_tokenizer_json_lifts_it(sarashina_folder):
    message = tokenizer_trap(sarashina_folder)
    assert message is not None and "tokenizer.json" in message and "\n" not in message
    sentencepiece_fast_tokenizer(sarashina_folder / "tokenizer.model").save_pretrained(str(sarashina_folder))
    assert tokenizer_trap(sarashina_folder) is None


@pytest.mark.parametrize("path", DECODERS, ids=[path.stem for path in DECODERS])
def test_decoder_configs_are_complete(path):
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert config["name"] == path.stem and config["kind"] == "decoder"
    assert {"pretrained", "revision", "license", "dtype", "trust_remote_code", "published"} <= set(config)
    if config["published"]:
        rows = [row for row in load_published(packaged_dir()) if row.model == config["published"]]
        assert rows and all(row.hub_id == config["pretrained"] for row in rows)


def test_models_lists_the_decoders_with_their_published_rows(jglue_bench_cli):
    code, stdout, _ = jglue_bench_cli("models", "--decoders", "--json")
    assert code == 0
    rows = {row["name"]: row for row in map(json.loads, stdout.splitlines())}
    assert set(rows) == {path.stem for path in DECODERS}
    assert rows["open_calm_7b"]["published_rows"] == 3 and rows["causal_lm"]["pretrained"] is None
    assert rows["rinna_japanese_gpt_neox_3_6b"]["use_fast_tokenizer"] is False
