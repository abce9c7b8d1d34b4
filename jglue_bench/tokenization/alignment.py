"""Character offsets of tokens in the ORIGINAL text, for tokenizers that give none.

Slow Japanese tokenizers (BertJapaneseTokenizer: MeCab, then WordPiece or SentencePiece) ignore
`return_offsets_mapping`, yet extractive QA must slice answers from the original context. They change the text
before splitting it: NFKC (`ＪＧＬＵＥ` -> `JGLUE`, `ｶﾞ` -> `ガ`, `㌔` -> `キロ`), lower-casing, dropped spaces,
and markers ("##", "▁") or unknown tokens ([UNK]) in the output. So we rebuild that normalized text ourselves,
remembering for each normalized character which original characters it came from, and find the tokens in it.

NFKC is applied per cluster (a base character plus the combining or voiced-sound marks after it), never per
character: NFKC of `ｶﾞ` is one character `ガ`, so normalizing `ｶ` and `ﾞ` apart would not match the tokens.
Every normalized character of a cluster maps back to the whole cluster, so `キ` of `㌔` spans `㌔`.

BertJapaneseTokenizer is aligned in two levels: the MeCab words first (they are exact slices of the normalized
text), then the subword pieces inside each word. An unknown piece gets the gap between its matched neighbours
in the same word; a WordPiece [UNK] stands for its whole word, so it gets exactly that word's span.
Fast tokenizers (AlbertTokenizer in transformers 5) report offsets themselves; we use those.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

TokenSpan = tuple[int, int, int]  # (token id, start, end): text[start:end] is what the token stands for
VOICED_SOUND_MARKS = frozenset("\uff9e\uff9f\u3099\u309a")  # half-width and combining (han)dakuten
LOOKAHEAD = 64  # how far past the expected place a token may be found (characters the tokenizer dropped)


class NormalizedText:
    """`text` NFKC-normalized and lower-cased cluster by cluster; `starts[i]`/`ends[i]` give the original span
    of normalized character i."""

    def __init__(self, text: str):
        pieces: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []
        for start, end in clusters(text):
            normalized = unicodedata.normalize("NFKC", text[start:end]).lower()
            pieces.append(normalized)
            self.starts.extend([start] * len(normalized))
            self.ends.extend([end] * len(normalized))
        self.text = "".join(pieces)
        self.original_length = len(text)

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The original characters behind normalized characters [start, end); empty spans stay empty."""
        if end <= start:
            position = self.starts[start] if start < len(self.starts) else self.original_length
            return position, position
        return self.starts[start], self.ends[end - 1]


def clusters(text: str) -> list[tuple[int, int]]:
    """(start, end) of each base character with the combining and voiced-sound marks that follow it."""
    bounds: list[tuple[int, int]] = []
    for index, char in enumerate(text):
        if bounds and (char in VOICED_SOUND_MARKS or unicodedata.combining(char)):
            bounds[-1] = (bounds[-1][0], index + 1)
        else:
            bounds.append((index, index + 1))
    return bounds


def token_char_spans(tokenizer, text: str) -> list[TokenSpan]:
    """(token id, start, end) in `text` for every token of `text` (no special tokens added)."""
    if getattr(tokenizer, "is_fast", False):
        return _fast_token_spans(tokenizer, text)
    tokens = tokenizer.tokenize(text)
    spans = _word_level_spans(tokenizer, text, tokens)
    if spans is None:  # not a BertJapaneseTokenizer, or it split differently than we replayed it
        normalized = NormalizedText(text)
        found = fill_gaps(
            match_pieces(_clean_pieces(tokens, tokenizer.unk_token), normalized.text, 0, len(normalized.text)),
            normalized.text,
            0,
            len(normalized.text),
        )
        spans = [normalized.original_span(start, end) for start, end in found]
    ids = tokenizer.convert_tokens_to_ids(tokens)
    return [(token_id, start, end) for token_id, (start, end) in zip(ids, spans)]


def _fast_token_spans(tokenizer, text: str) -> list[TokenSpan]:
    splitter = getattr(tokenizer, "jglue_splitter", None)
    if splitter is not None:
        spans = _presegmented_spans(tokenizer, text, splitter.words(text))
    else:
        encoded = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        spans = [
            (token_id, _skip_spaces(text, start, end), end)  # some tokenizers count the space before a word
            for token_id, (start, end) in zip(encoded["input_ids"], encoded["offset_mapping"])
        ]
    return _whole_clusters(text, spans)


def _whole_clusters(text: str, spans: list[TokenSpan]) -> list[TokenSpan]:
    """Widen spans to whole characters: NFKC makes ｶﾞ one character (ガ), but the Rust tokenizers give its token
    the offsets of ｶ alone, and an answer ending there would be sliced without its voiced mark. A mark that is a
    token of its own (a model without NFKC: ｶ, then ﾞ) keeps its own span."""
    end_of_cluster = {}
    for start, end in clusters(text):
        for position in range(start + 1, end):
            end_of_cluster[position] = end
    starts = {start for _, start, _ in spans}
    return [(token_id, start, end if end in starts else end_of_cluster.get(end, end)) for token_id, start, end in spans]


def _presegmented_spans(tokenizer, text: str, words: Sequence[tuple[str, int]]) -> list[TokenSpan]:
    """Spans of a text given to the tokenizer as words: each token's offsets are inside its word, and the
    splitter knows where each word starts in the text."""
    if not words:
        return []
    encoded = tokenizer(
        [word for word, _ in words], add_special_tokens=False, is_split_into_words=True, return_offsets_mapping=True
    )
    spans = []
    for token_id, word_index, (start, end) in zip(encoded["input_ids"], encoded.word_ids(), encoded["offset_mapping"]):
        word_start = words[word_index][1]
        spans.append((token_id, _skip_spaces(text, word_start + start, word_start + end), word_start + end))
    return spans


def match_pieces(pieces: Sequence[str | None], normalized: str, low: int, high: int) -> list[tuple[int, int] | None]:
    """Spans of `pieces` found in order in normalized[low:high]; None for a piece that is not there.

    A piece of None (an unknown token) is never matched. Whitespace before a piece is skipped; characters the
    tokenizer dropped are skipped by searching a little further ahead.
    """
    spans: list[tuple[int, int] | None] = []
    cursor = low
    for piece in pieces:
        if piece is None:
            spans.append(None)
            continue
        cursor = _skip_spaces(normalized, cursor, high)
        if not piece:  # a bare "▁": it marks the start of the next word, so it takes that position
            spans.append((cursor, cursor))
            continue
        found = normalized.find(piece, cursor, min(high, cursor + LOOKAHEAD + len(piece)))
        if found < 0:
            spans.append(None)
            continue
        spans.append((found, found + len(piece)))
        cursor = found + len(piece)
    return spans


def fill_gaps(spans: Sequence[tuple[int, int] | None], normalized: str, low: int, high: int) -> list[tuple[int, int]]:
    """Give every unmatched piece the text between its matched neighbours (whitespace trimmed)."""
    filled: list[tuple[int, int]] = []
    index = 0
    while index < len(spans):
        if spans[index] is not None:
            filled.append(spans[index])
            index += 1
            continue
        run_end = index
        while run_end < len(spans) and spans[run_end] is None:
            run_end += 1
        gap_start = filled[-1][1] if filled else low
        gap_end = spans[run_end][0] if run_end < len(spans) else high
        gap_start = _skip_spaces(normalized, gap_start, gap_end)
        while gap_end > gap_start and normalized[gap_end - 1].isspace():
            gap_end -= 1
        filled.extend([(gap_start, gap_end)] * (run_end - index))
        index = run_end
    return filled


def _skip_spaces(text: str, position: int, limit: int) -> int:
    while position < limit and text[position].isspace():
        position += 1
    return position


def _clean_pieces(pieces: Sequence[str], unk_token: str | None) -> list[str | None]:
    """The text each subword piece stands for, normalized like the context; None for unknown tokens."""
    return [None if piece == unk_token else _normalize(_strip_markers(piece)) for piece in pieces]


def _strip_markers(piece: str) -> str:
    if len(piece) > 2 and piece.startswith("##"):  # WordPiece continuation
        piece = piece[2:]
    return piece.replace("\u2581", "")  # SentencePiece word-start marker "▁"


def _normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _word_level_spans(tokenizer, text: str, tokens: Sequence[str]) -> list[tuple[int, int]] | None:
    """Original spans of `tokens` for a BertJapaneseTokenizer, aligned word by word; None for other
    tokenizers or when replaying its steps does not give the same tokens."""
    words = _replay_words(tokenizer, text)
    if words is None or [piece for _, _, _, pieces in words for piece in pieces] != list(tokens):
        return None
    spans: list[tuple[int, int]] = []
    for chunk_start, chunk_text, surfaces, pieces_per_word in _group_chunks(words):
        if surfaces is None:  # a special token such as the literal "[SEP]" of JSQuAD contexts
            spans.append((chunk_start, chunk_start + len(chunk_text)))
            continue
        normalized = NormalizedText(chunk_text)
        spans.extend(
            (chunk_start + start, chunk_start + end)
            for start, end in _align_words(normalized, surfaces, pieces_per_word, tokenizer.unk_token)
        )
    return spans


def _replay_words(tokenizer, text: str) -> list[tuple[int, str, str | None, list[str]]] | None:
    """(chunk start, chunk text, word or None for a special token, its pieces), replaying `tokenize`:
    split on added tokens, then MeCab words, then subword pieces of each word."""
    word_tokenizer = getattr(tokenizer, "word_tokenizer", None)
    if word_tokenizer is None or not hasattr(tokenizer, "tokens_trie"):
        return None
    specials = set(tokenizer.all_special_tokens) | set(tokenizer.added_tokens_encoder)
    subword = tokenizer.subword_tokenizer if getattr(tokenizer, "do_subword_tokenize", False) else None
    words: list[tuple[int, str, str | None, list[str]]] = []
    chunk_start = 0
    for chunk in tokenizer.tokens_trie.split(text):
        if chunk in specials:
            words.append((chunk_start, chunk, None, [chunk]))
        elif chunk:
            for word in word_tokenizer.tokenize(chunk, never_split=tokenizer.all_special_tokens):
                words.append((chunk_start, chunk, word, subword.tokenize(word) if subword else [word]))
        chunk_start += len(chunk)
    return words


def _group_chunks(words):
    """Regroup replayed words by chunk: (chunk start, chunk text, surfaces or None, pieces per word)."""
    groups: list[tuple[int, str, list[str] | None, list[list[str]]]] = []
    for chunk_start, chunk, word, pieces in words:
        if word is None:
            groups.append((chunk_start, chunk, None, [pieces]))
        elif groups and groups[-1][0] == chunk_start and groups[-1][2] is not None:
            groups[-1][2].append(word)
            groups[-1][3].append(pieces)
        else:
            groups.append((chunk_start, chunk, [word], [pieces]))
    return groups


def _align_words(
    normalized: NormalizedText, surfaces: Sequence[str], pieces_per_word: Sequence[Sequence[str]], unk_token: str | None
) -> list[tuple[int, int]]:
    """Original spans (relative to the chunk) of every piece: words first, then pieces within each word."""
    text = normalized.text
    word_spans = fill_gaps(
        match_pieces([_normalize(surface) for surface in surfaces], text, 0, len(text)), text, 0, len(text)
    )
    spans: list[tuple[int, int]] = []
    for (low, high), pieces in zip(word_spans, pieces_per_word):
        found = fill_gaps(match_pieces(_clean_pieces(pieces, unk_token), text, low, high), text, low, high)
        spans.extend(normalized.original_span(start, end) for start, end in found)
    return spans
