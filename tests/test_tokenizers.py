"""Tokenizer recipes: each model family gets its own word splitter, vocabulary and special tokens."""

from __future__ import annotations

import pytest
from conftest import train_spm

from jglue_bench.config import compose_config
from jglue_bench.errors import UserError
from jglue_bench.tokenization import load_tokenizer, tokenizer_fingerprint
from jglue_bench.tokenization.recipes import RECIPE_FILE, save_recipe


def model_cfg(name: str, pretrained=None):
    cfg = compose_config([f"model={name}"]).model
    if pretrained is not None:
        cfg.pretrained = str(pretrained)
    return cfg


def test_tiny_tokenizer_builds_offline_with_line_special_ids(cache_dir):
    tokenizer = load_tokenizer(model_cfg("tiny"), cache_dir)
    ids = [
        tokenizer.pad_token_id,
        tokenizer.unk_token_id,
        tokenizer.cls_token_id,
        tokenizer.sep_token_id,
        tokenizer.mask_token_id,
    ]
    assert ids == [0, 1, 2, 3, 4]
    encoded = tokenizer("質問", "答え")["input_ids"]
    assert encoded[0] == 2 and encoded[-1] == 3 and encoded.count(3) == 2
    # NFKC + lower-casing: full-width capitals come out as lower-case ASCII pieces
    assert "".join(tokenizer.tokenize("ＪＧＬＵＥ")).replace("▁", "") == "jglue"
    # every kana and kanji is in the vocabulary, so real JGLUE text has no <unk>
    assert tokenizer.unk_token not in tokenizer.tokenize("鬱蒼とした森でカモシカを見た")


def test_bandainamco_recipe_uses_ipadic_words_and_keeps_case(bandainamco_dir):
    tokenizer = load_tokenizer(model_cfg("bandainamco_distilbert", bandainamco_dir))
    assert len(tokenizer) == 32000
    # IPADIC keeps 日本語 as one word (UniDic splits it into 日本 + 語); the vocab has it as one piece.
    assert tokenizer.tokenize("日本語を話す") == ["日本語", "を", "話す"]
    assert tokenizer.tokenize("JGLUE")[0] == "J"  # no lower-casing for this model
    assert tokenizer("a", "b", return_token_type_ids=True)["token_type_ids"] == [0, 0, 0, 1, 1]


def test_line_recipe_reads_spiece_model_with_line_special_ids(tmp_path):
    train_spm(tmp_path / "line")
    tokenizer = load_tokenizer(model_cfg("line_distilbert", tmp_path / "line"))
    assert (tokenizer.pad_token_id, tokenizer.unk_token_id, tokenizer.cls_token_id, tokenizer.sep_token_id) == (
        0,
        1,
        2,
        3,
    )
    # MeCab with unidic-lite splits 日本語 into 日本 + 語
    words = [piece.replace("▁", "") for piece in tokenizer.tokenize("日本語") if piece != "▁"]
    assert "".join(words) == "日本語" and "日本語" not in words


@pytest.mark.parametrize("keep_accents, expected", [(True, "が"), (False, "か")])
def test_albert_recipe_keeps_dakuten_only_with_keep_accents(tmp_path, keep_accents, expected):
    train_spm(tmp_path / "laboro")
    cfg = model_cfg("laboro_distilbert", tmp_path / "laboro")
    cfg.tokenizer.keep_accents = keep_accents
    tokenizer = load_tokenizer(cfg)
    assert "".join(tokenizer.tokenize("が")).replace("▁", "") == expected


def test_fingerprint_is_stable_differs_by_recipe_and_survives_saving(tmp_path, cache_dir, bandainamco_dir):
    tiny = load_tokenizer(model_cfg("tiny"), cache_dir)
    assert tokenizer_fingerprint(tiny) == tokenizer_fingerprint(load_tokenizer(model_cfg("tiny"), cache_dir))
    assert tokenizer_fingerprint(tiny) != tokenizer_fingerprint(
        load_tokenizer(model_cfg("bandainamco_distilbert", bandainamco_dir))
    )
    save_recipe(tiny, tmp_path / "saved")
    import json

    recipe = json.loads((tmp_path / "saved" / RECIPE_FILE).read_text(encoding="utf-8"))
    assert "build_tiny_spm" not in recipe and (tmp_path / "saved" / recipe["spm_file"]).is_file()
    reloaded = load_tokenizer({"name": "saved", "pretrained": str(tmp_path / "saved"), "tokenizer": recipe})
    assert reloaded.tokenize("東京タワーへ行く") == tiny.tokenize("東京タワーへ行く")


def test_missing_files_are_clear_errors(tmp_path):
    with pytest.raises(UserError, match="vocab.txt is missing"):
        load_tokenizer(model_cfg("bandainamco_distilbert", tmp_path))
    with pytest.raises(UserError, match="from the Hugging Face hub"):
        load_tokenizer(model_cfg("line_distilbert", "no-such-org/no-such-model"))
    cfg = model_cfg("tiny")
    cfg.tokenizer.recipe = "wordpiece_magic"
    with pytest.raises(UserError, match="expected one of mecab_sentencepiece"):
        load_tokenizer(cfg)


def test_a_mecab_dictionary_transformers_cannot_load_is_one_line(tmp_path):
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n", encoding="utf-8")
    cfg = model_cfg("nict_bert_base", tmp_path)  # NICT BERT: MeCab with the JUMAN dictionary
    with pytest.raises(UserError, match="mecab_dic is 'jumandic'; the MeCab dictionaries jglue-bench can load"):
        load_tokenizer(cfg)
