"""Character offsets of tokens in the original text, for the three tokenizer families and a plain slow one."""

from __future__ import annotations

import unicodedata

import pytest
from conftest import TOKENIZER_NAMES

from jglue_bench.tokenization.alignment import NormalizedText, clusters, token_char_spans


def piece_text(tokenizer, token_id: int) -> str:
    return tokenizer.convert_ids_to_tokens(token_id).removeprefix("##").replace("\u2581", "")


TRICKY = {
    "full_width": "ＪＧＬＵＥは日本語の評価ベンチマークです。",
    "half_width_kana": "ｶﾞｲﾄﾞﾌﾞｯｸを読む。",
    "nfkc_expands": "㌔ ①番 東京タワー",
    "sep": "タイトル [SEP] 本文です",
    "spaces": "Hello  World　東京\u3000タワー",
    "unknown": "彼は☃のペンを𠮷野家へ",
}


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
