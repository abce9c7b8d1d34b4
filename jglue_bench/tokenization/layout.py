"""How a tokenizer lays out its inputs: ids of texts and pairs (with pre-segmentation where the recipe has it),
and the special tokens around a pair, read from the tokenizer itself, never assumed.

BERT's `[CLS] A [SEP] B [SEP]` with token types 0/1, XLM-R's `<s> A </s></s> B </s>` with zeros, ModernBERT's
`<cls> A <sep> B <sep>`: extractive QA builds its windows by hand, so it asks `pair_template` where the special
tokens go instead of writing BERT's layout for every family.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


def encode_pairs(
    tokenizer, firsts: Sequence[str], seconds: Sequence[str] | None, max_length: int, with_token_types: bool | None
) -> dict[str, list[list[int]]]:
    """Token ids of single texts or pairs, truncated longest-first to `max_length`, unpadded (batches pad).
    The MeCab fast path gives the reference tokenizer's ids (checked on every text of JGLUE and JCoLA), several
    times faster; other tokenizers are called themselves, on Juman++ words where the recipe pre-segments."""
    from jglue_bench.tokenization.fast import encoder_for

    firsts = list(firsts)
    seconds = list(seconds) if seconds is not None else None
    splitter = getattr(tokenizer, "jglue_splitter", None)
    encoder = encoder_for(tokenizer) if splitter is None else None
    if encoder is not None:
        return encoder(firsts, seconds, max_length, with_token_types)
    extra = {}
    if splitter is not None:
        from jglue_bench.tokenization.presegment import split_texts

        firsts = split_texts(splitter, firsts)
        seconds = split_texts(splitter, seconds) if seconds is not None else None
        extra["is_split_into_words"] = True
    if not firsts:
        return {"input_ids": []}
    encoded = tokenizer(
        firsts,
        seconds,
        truncation=True,
        max_length=max_length,
        padding=False,
        return_token_type_ids=with_token_types,
        **extra,
    )
    return {key: list(value) for key, value in encoded.items()}


def text_ids(tokenizer, text: str) -> list[int]:
    """The ids of one text without special tokens (pre-segmented where the recipe says so)."""
    splitter = getattr(tokenizer, "jglue_splitter", None)
    if splitter is None:
        return tokenizer(text, add_special_tokens=False)["input_ids"]
    words = [word for word, _ in splitter.words(text)]
    return tokenizer(words, add_special_tokens=False, is_split_into_words=True)["input_ids"] if words else []


@dataclass(frozen=True)
class PairTemplate:
    """Special-token ids before A, between A and B, after B; and the token type of each part."""

    before: tuple[int, ...]
    between: tuple[int, ...]
    after: tuple[int, ...]
    first_type: int
    second_type: int

    def join(self, first: Sequence[int], second: Sequence[int]) -> tuple[list[int], list[int], int]:
        """Input ids, token types, and the position of the second text's first token."""
        ids = [*self.before, *first, *self.between, *second, *self.after]
        second_at = len(self.before) + len(first) + len(self.between)
        types = [self.first_type] * second_at + [self.second_type] * (len(ids) - second_at)
        return ids, types, second_at

    @property
    def special_count(self) -> int:
        return len(self.before) + len(self.between) + len(self.after)


def pair_template(tokenizer) -> PairTemplate:
    """The tokenizer's own pair layout, found by laying out two marker ids the way it lays out any pair."""
    cached = getattr(tokenizer, "jglue_pair_template", None)
    if cached is not None:
        return cached
    first, second = -11, -22  # never real ids, so they cannot be mistaken for special tokens
    if hasattr(tokenizer, "build_inputs_with_special_tokens"):  # the Python tokenizers (BertJapaneseTokenizer)
        ids = list(tokenizer.build_inputs_with_special_tokens([first], [second]))
        types = list(tokenizer.create_token_type_ids_from_sequences([first], [second]))
    else:
        ids, types = _backend_pair_layout(tokenizer, first, second)
    a, b = ids.index(first), ids.index(second)
    template = PairTemplate(tuple(ids[:a]), tuple(ids[a + 1 : b]), tuple(ids[b + 1 :]), types[a], types[b])
    tokenizer.jglue_pair_template = template
    return template


def _backend_pair_layout(tokenizer, first: int, second: int) -> tuple[list[int], list[int]]:
    """The layout of a short pair as the Rust post-processor makes it (special tokens and token types)."""
    encoded = tokenizer("x", "y", return_token_type_ids=True)
    sequence_ids = encoded.sequence_ids(0)
    ids = [
        first if seq == 0 else second if seq == 1 else token for token, seq in zip(encoded["input_ids"], sequence_ids)
    ]
    # "x" may be several tokens (a word-start piece, then x): keep one marker per text
    collapsed_ids, collapsed_types, previous = [], [], None
    for token, token_type, seq in zip(ids, encoded["token_type_ids"], sequence_ids):
        if seq is not None and seq == previous:
            continue
        collapsed_ids.append(token)
        collapsed_types.append(token_type)
        previous = seq
    return collapsed_ids, collapsed_types
