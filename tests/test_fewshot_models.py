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
    # jp-stable's accuracy on JCommonsenseQA, JNLI and MARC-ja, and JSQuAD's exact match and jasquad F1
    assert rows["open_calm_7b"]["published_rows"] == 5 and rows["causal_lm"]["pretrained"] is None
    assert rows["rinna_japanese_gpt_neox_3_6b"]["use_fast_tokenizer"] is False


COMMIT = "0123456789abcdef0123456789abcdef01234567"


def as_hub_cache(folder: Path, tmp_path: Path, monkeypatch) -> None:
    """`folder` laid out as the hub cache holds a download of jglue-bench/tiny-decoder (snapshots/COMMIT,
    refs/main), and the hub offline."""
    repo = tmp_path / "hub" / "models--jglue-bench--tiny-decoder"
    shutil.copytree(folder, repo / "snapshots" / COMMIT)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(COMMIT, encoding="utf-8")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", True)


def test_hub_commit_reads_the_snapshot_a_load_used(tmp_path, monkeypatch):
    from jglue_bench.fewshot.backends import hub_commit

    weights = tmp_path / "weights"
    weights.mkdir()
    (weights / "config.json").write_text("{}", encoding="utf-8")
    as_hub_cache(weights, tmp_path, monkeypatch)
    assert hub_commit("jglue-bench/tiny-decoder", None) == COMMIT
    assert hub_commit("jglue-bench/tiny-decoder", "main") == COMMIT
    assert hub_commit("jglue-bench/not-downloaded", None) is None
    assert hub_commit(str(weights), None) is None  # a local folder has no hub commit


@pytest.mark.slow
def test_a_hub_id_records_the_commit_its_weights_were_read_at(jglue_bench_cli, tiny_decoder, tmp_path, monkeypatch):
    # read offline by hub id from the cache: the record names the commit, the pin for an unpinned config
    as_hub_cache(tiny_decoder, tmp_path, monkeypatch)
    out = tmp_path / "out"
    code, _, stderr = jglue_bench_cli(
        "fewshot", "preset=ja_leaderboard", "task=jcommonsenseqa", "model.pretrained=jglue-bench/tiny-decoder",
        "model.dtype=float32", "data.dir=null", "limit=2", f"output_dir={out}", f"results.path={tmp_path / 'r.jsonl'}",
    )  # fmt: skip
    assert code == 0, stderr
    model = json.loads((out / "record.json").read_text(encoding="utf-8"))["model"]
    assert model["pretrained"] == "jglue-bench/tiny-decoder" and model["revision"] is None
    assert model["commit"] == COMMIT
