"""Character offsets of tokens in the original text, for the three tokenizer families and a plain slow one."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
import yaml
from conftest import REPO, shared_models_dir, train_spm

from jglue_bench.tokenization import load_tokenizer
from jglue_bench.tokenization.alignment import NormalizedText, clusters, token_char_spans

LINE_SPECIALS = {"unk_token": "<unk>", "pad_token": "<pad>", "cls_token": "[CLS]", "sep_token": "[SEP]",
                 "mask_token": "[MASK]"}
# A hand-written WordPiece vocabulary over IPADIC words: small, so [UNK] and "##" pieces are predictable.
HAND_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "東京", "タワー", "へ", "行っ", "た", "。", "京都", "の",
              "寺", "を", "訪れ", "JGLUE", "は", "日本語", "評価", "ベンチ", "##マーク", "です", "ガイド", "##ブック",
              "読む", "キロ", "1", "番", "彼", "ペン", "Hello", "World", "本文", "タイトル", "質問", "答え"]
TOKENIZER_NAMES = ("tiny", "line_like", "hand_wordpiece", "bandainamco", "albert")


def model_config(name: str) -> dict:
    return yaml.safe_load((REPO / "configs" / "model" / f"{name}.yaml").read_text(encoding="utf-8"))


def build_tokenizer(name: str, folder: Path, cache_dir: Path):
    """tiny: MeCab(unidic-lite) + the bundled-sample SentencePiece (no "▁"); line_like: the same recipe over
    a SentencePiece model that emits "▁" like LINE's; hand_wordpiece / bandainamco: MeCab(IPADIC) + WordPiece;
    albert: Laboro's AlbertTokenizer recipe (tokenizers-backed, so it reports offsets itself)."""
    if name == "tiny":
        return load_tokenizer(model_config("tiny"), cache_dir)
    if name == "line_like":
        train_spm(folder)  # add_dummy_prefix is on by default: pieces come with "▁"
        return load_tokenizer({"name": name, "pretrained": str(folder), "tokenizer": {
            "recipe": "mecab_sentencepiece", "spm_file": "spiece.model", "mecab_dic": "unidic_lite",
            "do_lower_case": True, "special_tokens": LINE_SPECIALS}})
    if name == "hand_wordpiece":
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "vocab.txt").write_text("\n".join(HAND_VOCAB) + "\n", encoding="utf-8")
        return load_tokenizer({"name": name, "pretrained": str(folder),
                               "tokenizer": model_config("bandainamco_distilbert")["tokenizer"]})
    if name == "bandainamco":
        models = shared_models_dir() / "bandainamco-mirai-distilbert-base-japanese"
        if not (models / "vocab.txt").is_file():
            pytest.skip(f"BandaiNamco vocab.txt not found under {models} (set JGLUE_MODELS_DIR)")
        return load_tokenizer({**model_config("bandainamco_distilbert"), "pretrained": str(models)})
    if name == "albert":
        train_spm(folder)
        return load_tokenizer({"name": name, "pretrained": str(folder),
                               "tokenizer": model_config("laboro_distilbert")["tokenizer"]})
    raise ValueError(name)


def tokenizer_factory(tmp_path_factory, cache_dir):
    """`get(name)` builds each tokenizer once, on first use (test files share it through their fixture)."""
    built = {}

    def get(name: str):
        if name not in built:
            built[name] = build_tokenizer(name, tmp_path_factory.mktemp(name), cache_dir)
        return built[name]

    return get


@pytest.fixture(scope="session")
def tokenizers(tmp_path_factory, cache_dir):
    return tokenizer_factory(tmp_path_factory, cache_dir)


def piece_text(tokenizer, token_id: int) -> str:
    return tokenizer.convert_ids_to_tokens(token_id).removeprefix("##").replace("\u2581", "")


TRICKY = {"full_width": "ＪＧＬＵＥは日本語の評価ベンチマークです。", "half_width_kana": "ｶﾞｲﾄﾞﾌﾞｯｸを読む。",
          "nfkc_expands": "㌔ ①番 東京タワー", "sep": "タイトル [SEP] 本文です",
          "spaces": "Hello  World　東京\u3000タワー", "unknown": "彼は☃のペンを𠮷野家へ"}


@pytest.mark.parametrize("name", TOKENIZER_NAMES)
@pytest.mark.parametrize("text", list(TRICKY.values()), ids=list(TRICKY))
def test_every_known_token_spans_the_original_characters_it_stands_for(tokenizers, name, text):
    tokenizer = tokenizers(name)
    spans = token_char_spans(tokenizer, text)
    assert [token_id for token_id, _, _ in spans] == tokenizer(text, add_special_tokens=False)["input_ids"]
    previous_start = 0
    for token_id, start, end in spans:
        assert 0 <= start <= end <= len(text) and start >= previous_start  # in order, inside the text
        previous_start = start
        assert text[start:end] == text[start:end].strip()  # spaces never belong to a token
        piece = piece_text(tokenizer, token_id)
        if token_id == tokenizer.unk_token_id or not piece or start == end:
            continue
        original = unicodedata.normalize("NFKC", text[start:end]).lower()
        # a piece stands for its characters, or for part of one NFKC cluster (㌔ -> キロ)
        assert original == piece.lower() or (piece.lower() in original and len(clusters(text[start:end])) == 1)


@pytest.mark.parametrize("name", TOKENIZER_NAMES)
@pytest.mark.parametrize("written", ["ＪＧＬＵＥ", "ｶﾞｲﾄﾞﾌﾞｯｸ"], ids=["full_width", "half_width_kana"])
def test_normalized_words_map_back_to_exactly_what_was_written(tokenizers, name, written):
    tokenizer = tokenizers(name)
    text = f"これは{written}です。"
    start = text.index(written)
    spans = [(s, e) for _, s, e in token_char_spans(tokenizer, text) if s < start + len(written) and e > start]
    assert min(s for s, _ in spans) == start and max(e for _, e in spans) == start + len(written)
    # no token boundary falls between a kana and its voiced-sound mark
    boundaries = {s for s, _ in spans} | {e for _, e in spans}
    assert not any(text[position] in "\uff9e\uff9f" for position in boundaries if position < len(text))


@pytest.mark.parametrize("name", ["tiny", "line_like", "hand_wordpiece", "bandainamco"])
def test_characters_nfkc_expands_map_to_their_one_original_character(tokenizers, name):
    tokenizer = tokenizers(name)
    text = "㌔①番"
    spans = token_char_spans(tokenizer, text)
    covering = {index: [(s, e) for _, s, e in spans if s <= index < e] for index in range(len(text))}
    assert all(spans_here == [(index, index + 1)] * len(spans_here) for index, spans_here in covering.items())
    assert set().union(*({s for s, _ in found} for found in covering.values())) == {0, 1, 2}


@pytest.mark.parametrize("name", TOKENIZER_NAMES)
def test_the_literal_sep_of_jsquad_contexts_is_the_sep_token_with_its_own_span(tokenizers, name):
    tokenizer = tokenizers(name)
    text = "東京タワー [SEP] 東京タワーは港区にある。"
    sep = [(s, e) for token_id, s, e in token_char_spans(tokenizer, text) if token_id == tokenizer.sep_token_id]
    assert sep == [(text.index("[SEP]"), text.index("[SEP]") + len("[SEP]"))]


def test_wordpiece_unknown_word_gets_the_whole_word(tokenizers):
    tokenizer = tokenizers("hand_wordpiece")
    text = "彼は☃のペンを訪れた"
    spans = token_char_spans(tokenizer, text)
    unknown = [(text[s:e]) for token_id, s, e in spans if token_id == tokenizer.unk_token_id]
    assert "☃" in unknown and "".join(text[s:e] for _, s, e in spans) == text


def test_bandainamco_unknown_kanji_gets_its_own_character(tokenizers):
    tokenizer = tokenizers("bandainamco")
    text = "𠮷野家へ行った"
    spans = token_char_spans(tokenizer, text)
    assert [text[s:e] for token_id, s, e in spans if token_id == tokenizer.unk_token_id] == ["𠮷"]
    assert "".join(text[s:e] for _, s, e in spans) == text


def test_albert_tokenizer_is_fast_and_its_offsets_are_used(tokenizers):
    tokenizer = tokenizers("albert")
    assert tokenizer.is_fast
    text = "ＪＧＬＵＥ  東京"
    encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    spans = token_char_spans(tokenizer, text)
    assert [(s, e) for _, s, e in spans] == [tuple(offset) for offset in encoded["offset_mapping"]]


class PlainSlowTokenizer:
    """A slow tokenizer that is not BertJapaneseTokenizer: the alignment falls back to matching its tokens
    against the whole normalized text."""

    is_fast = False
    unk_token = "<unk>"

    def __init__(self, tokens):
        self.tokens = tokens

    def tokenize(self, text):
        return list(self.tokens)

    def convert_tokens_to_ids(self, tokens):
        return [0 if token == self.unk_token else len(token) for token in tokens]


def test_fallback_gives_unknown_tokens_the_gap_between_matched_neighbours():
    text = "ＡＢ ☃☃ ｶﾞｲﾄﾞ。"
    tokenizer = PlainSlowTokenizer(["▁ab", "<unk>", "##ガ", "イド", "。"])
    spans = [(s, e) for _, s, e in token_char_spans(tokenizer, text)]
    assert [text[s:e] for s, e in spans] == ["ＡＢ", "☃☃", "ｶﾞ", "ｲﾄﾞ", "。"]


def test_normalized_text_keeps_voiced_marks_with_their_kana():
    normalized = NormalizedText("ｶﾞＡか\u3099")
    assert normalized.text == "ガaが"
    assert [normalized.original_span(i, i + 1) for i in range(3)] == [(0, 2), (2, 3), (3, 5)]
    assert normalized.original_span(3, 3) == (5, 5)
