"""A fast path for BertJapaneseTokenizer (MeCab words, then WordPiece or SentencePiece) with IDENTICAL ids.

The slow tokenizer spends its time in Python around the work: MeCab segments ~55k sentences/s, yet
`tokenizer(firsts, seconds)` gives ~4k pairs/s. This path does the same steps with less around them:

1. added tokens (the literal "[SEP]" of JSQuAD contexts) are split off by the tokenizer's own trie, as
   `PreTrainedTokenizer.tokenize` does, only when the text holds one;
2. each chunk is NFKC-normalized and segmented by MeCab with the same dictionary and options. Without
   whitespace in the text, MeCab's `-Owakati` output split on " " gives the surfaces (faster than building a
   node per word); with whitespace (a surface may then hold characters that `str.split` cuts), the slow
   tokenizer's own tagger gives them node by node;
3. each surface's ids come from a cache; a new surface is lower-cased as MecabTokenizer does, then cut into
   pieces by the Rust `tokenizers` WordPiece over the same vocabulary, or by the reference's own SentencePiece
   processor (its C++ encoder; words whose pieces the Python wrapper rewrites go through the wrapper itself);
4. [CLS] a [SEP] (b [SEP]) is assembled with transformers 5's longest_first truncation and token types.

It falls back to the reference where it cannot promise the same ids: `fast_encoder` returns None for other
tokenizers or settings, and when a self-check on hand-picked hard texts differs; each call also checks a few
of its own items against the reference and, on any difference, redoes the whole call the slow way.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import re
import unicodedata
from collections.abc import Sequence

from jglue_bench.support.gc_pause import collector_paused

logger = logging.getLogger(__name__)

PARALLEL_THRESHOLD = 50_000  # texts; below it, starting processes costs more than it saves
CACHE_LIMIT = 1_000_000  # distinct surfaces kept; the cache starts afresh past it
CHECKS_PER_CALL = 8  # items of each call compared with the reference tokenizer
WHITESPACE = re.compile(r"\s")
SELF_CHECK_TEXTS = (
    "ＪＧＬＵＥは日本語の評価ベンチマークです。ｶﾞｲﾄﾞで東京タワーへ行った!",
    "ﾊﾝｶｸｶﾀｶﾅとﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ",
    "Ｆｕｌｌ－ｗｉｄｔｈ Ｌａｔｉｎ ＡＢＣ １２３",
    "絵文字😀と未知の文字𠮷野家と☃",
    "東京 [SEP] 大阪[SEP]京都[CLS]",
    "ａ" * 120,
    "x" * 101 + "です",
    "1,000円と2,5,6です。``引用''と\"引用\"",
    "タブ\tと改行\nと全角　空白",
    "\u3000",
    " ",
    "",
    "Ⅻ㌔㍉ﬁ",
    "İstanbulΣΑΣ",
    "[UNK]と<unk>と<pad>と[MASK]と［ＳＥＰ］",
    "ｶ\u3099ｷﾞ",
    "\u200b\ufeff零幅",
)


def fast_encoder(tokenizer, num_proc: int | None = None) -> FastEncoder | None:
    """A FastEncoder for `tokenizer`, or None where it cannot give the reference's ids (then use the tokenizer)."""
    reason = unsupported_reason(tokenizer)
    if reason is not None:
        logger.debug("no fast tokenization for %s: %s", type(tokenizer).__name__, reason)
        return None
    encoder = FastEncoder(tokenizer, num_proc=num_proc)
    differing = encoder.mismatches(SELF_CHECK_TEXTS, SELF_CHECK_TEXTS[::-1], max_length=16, with_token_types=True)
    differing += encoder.mismatches(SELF_CHECK_TEXTS, None, max_length=512, with_token_types=False)
    if differing:
        logger.warning(
            "fast tokenization differs from %s on its self-check texts %s; using the tokenizer itself",
            type(tokenizer).__name__,
            sorted(set(differing)),
        )
        return None
    return encoder


def encoder_for(tokenizer) -> FastEncoder | None:
    """fast_encoder(tokenizer), built and self-checked once per tokenizer object (kept on it, like its
    fingerprint), so callers such as tasks.common.encode can ask on every call."""
    encoder = getattr(tokenizer, "jglue_fast_encoder", NotBuiltYet())
    if isinstance(encoder, NotBuiltYet):
        encoder = tokenizer.jglue_fast_encoder = fast_encoder(tokenizer)
    return encoder


class NotBuiltYet:
    """What a pickled FastEncoder becomes: encoder_for builds the real one again."""


def unsupported_reason(tokenizer) -> str | None:
    """Why the fast path cannot replay `tokenizer` exactly, or None when it can."""
    if type(tokenizer).__name__ != "BertJapaneseTokenizer" or getattr(tokenizer, "is_fast", False):
        return "not a (slow) BertJapaneseTokenizer"
    if not (tokenizer.do_word_tokenize and tokenizer.word_tokenizer_type == "mecab"):
        return "its word splitter is not MeCab"
    if not tokenizer.do_subword_tokenize or tokenizer.subword_tokenizer_type not in ("wordpiece", "sentencepiece"):
        return "its subword splitter is neither WordPiece nor SentencePiece"
    option = str((tokenizer.mecab_kwargs or {}).get("mecab_option") or "")
    if re.search(r"(^|\s)-[OFEBSU]|--(output|node|eos|bos|unk)", option):
        return "its MeCab options change the output format"
    if tokenizer.split_special_tokens or tokenizer.truncation_side != "right":
        return "split_special_tokens or left truncation"
    if any(token.lstrip or token.rstrip or token.single_word for token in tokenizer._added_tokens_decoder.values()):
        return "an added token strips spaces or is single-word"
    if tokenizer.subword_tokenizer_type == "wordpiece" and tokenizer.unk_token not in tokenizer.vocab:
        return "its unknown token is not in vocab.txt"
    return None


class FastEncoder:
    """`encoder(firsts, seconds, max_length, with_token_types)` gives what `tasks.common.encode` gives;
    `encoder.ids(text)` gives `tokenizer(text, add_special_tokens=False)["input_ids"]`."""

    def __init__(self, tokenizer, num_proc: int | None = None, parallel_threshold: int = PARALLEL_THRESHOLD):
        self.tokenizer = tokenizer
        self.num_proc = num_proc if num_proc is not None else min(os.cpu_count() or 1, 8)
        self.parallel_threshold = parallel_threshold
        self.surfaces = MecabSurfaces(tokenizer)
        self.pieces = (
            WordPieceIds(tokenizer) if tokenizer.subword_tokenizer_type == "wordpiece" else SentencePieceIds(tokenizer)
        )
        self.lower = bool(tokenizer.word_tokenizer.do_lower_case)
        self.never_split = set(tokenizer.word_tokenizer.never_split) | set(tokenizer.all_special_tokens)
        # chunks PreTrainedTokenizer.tokenize keeps whole: its added tokens and special tokens
        self.whole_chunks = set(tokenizer._added_tokens_encoder) | set(tokenizer.all_special_tokens)
        added = sorted(tokenizer._added_tokens_encoder, key=len, reverse=True)
        self.added_tokens = re.compile("|".join(map(re.escape, added))) if added else None
        self.cls_id, self.sep_id = tokenizer.cls_token_id, tokenizer.sep_token_id
        self.cache: dict[str, list[int]] = {}
        self.fallbacks = 0  # calls redone by the reference tokenizer after a per-call check differed

    def __reduce__(self):
        # MeCab taggers and the Rust model do not pickle, and a pickled tokenizer carrying its encoder is not
        # whole yet when the encoder is unpickled: the copy is marked for encoder_for to rebuild on first use
        return NotBuiltYet, ()

    def ids(self, text: str) -> list[int]:
        """Token ids of one text, without special tokens."""
        if self.added_tokens is not None and self.added_tokens.search(text):
            return self._ids_with_added_tokens(text)
        return self._chunk_ids(text)

    def _chunk_ids(self, chunk: str) -> list[int]:
        cache, ids = self.cache, []
        for surface in self.surfaces(chunk):
            word_ids = cache.get(surface)
            if word_ids is None:
                word_ids = self._word_ids(surface)
            ids += word_ids
        return ids

    def _word_ids(self, surface: str) -> list[int]:
        # MecabTokenizer lower-cases every surface except the special tokens (never_split)
        word = surface.lower() if self.lower and surface not in self.never_split else surface
        word_ids = self.pieces(word)
        if len(self.cache) >= CACHE_LIMIT:
            self.cache.clear()
        self.cache[surface] = word_ids
        return word_ids

    def _ids_with_added_tokens(self, text: str) -> list[int]:
        """As PreTrainedTokenizer.tokenize: split on added tokens with the tokenizer's own trie; an added token
        is one id, every other chunk is tokenized on its own (NFKC and MeCab see the chunk, not the text)."""
        ids = []
        for chunk in self.tokenizer.tokens_trie.split(text):
            if chunk in self.whole_chunks:
                ids.append(self.tokenizer.convert_tokens_to_ids(chunk))
            elif chunk:
                ids += self._chunk_ids(chunk)
        return ids

    def __call__(
        self, firsts: Sequence[str], seconds: Sequence[str] | None, max_length: int, with_token_types: bool | None
    ) -> dict[str, list[list[int]]]:
        firsts = list(firsts)
        seconds = list(seconds) if seconds is not None else None
        if not firsts:  # the reference's own answer for an empty batch
            return reference_encode(self.tokenizer, firsts, seconds, max_length, with_token_types)
        if self._parallel(len(firsts)):
            encoded = encode_in_processes(self, firsts, seconds, max_length, with_token_types)
        else:
            encoded = self.encode_serial(firsts, seconds, max_length, with_token_types)
        sample = evenly_spaced(len(firsts), CHECKS_PER_CALL)
        if self._sample_differs(encoded, sample, firsts, seconds, max_length, with_token_types):
            self.fallbacks += 1
            logger.warning(
                "fast tokenization differed from the reference on a checked item; this batch of %d is "
                "tokenized by the reference tokenizer",
                len(firsts),
            )
            return reference_encode(self.tokenizer, firsts, seconds, max_length, with_token_types)
        return encoded

    def encode_serial(
        self, firsts: Sequence[str], seconds: Sequence[str] | None, max_length: int, with_token_types: bool | None
    ) -> dict[str, list[list[int]]]:
        if with_token_types is None:  # what the reference does when not told: its model_input_names decide
            with_token_types = "token_type_ids" in self.tokenizer.model_input_names
        input_ids, token_types = [], []
        with collector_paused():
            for index, first in enumerate(firsts):
                second = self.ids(seconds[index]) if seconds is not None else None
                ids, types = assemble(self.ids(first), second, max_length, self.cls_id, self.sep_id)
                input_ids.append(ids)
                token_types.append(types)
        encoded = {"input_ids": input_ids}
        if with_token_types:
            encoded["token_type_ids"] = token_types
        encoded["attention_mask"] = [[1] * len(ids) for ids in input_ids]
        return encoded

    def mismatches(
        self, firsts: Sequence[str], seconds: Sequence[str] | None, max_length: int, with_token_types: bool | None
    ) -> list[int]:
        """Indices of the items whose fast encoding differs from the reference tokenizer's."""
        fast = self.encode_serial(firsts, seconds, max_length, with_token_types)
        slow = reference_encode(self.tokenizer, firsts, seconds, max_length, with_token_types)
        if list(fast) != list(slow):
            return list(range(len(firsts)))
        return [i for i in range(len(firsts)) if any(fast[key][i] != slow[key][i] for key in fast)]

    def _sample_differs(self, encoded, sample, firsts, seconds, max_length, with_token_types) -> bool:
        picked_seconds = [seconds[i] for i in sample] if seconds is not None else None
        slow = reference_encode(
            self.tokenizer, [firsts[i] for i in sample], picked_seconds, max_length, with_token_types
        )
        return list(slow) != list(encoded) or any(
            slow[key][row] != encoded[key][i] for key in slow for row, i in enumerate(sample)
        )

    def _parallel(self, size: int) -> bool:
        return (
            self.num_proc > 1 and size >= self.parallel_threshold and "fork" in multiprocessing.get_all_start_methods()
        )


def assemble(
    first: list[int], second: list[int] | None, max_length: int, cls_id: int, sep_id: int
) -> tuple[list[int], list[int]]:
    """[CLS] first [SEP] (second [SEP]) and its token types, truncated as transformers 5's slow tokenizers do
    (`PreTrainedTokenizer.truncate_sequences`, longest_first, right side): a pair first loses the difference
    in length from the longer text, then the rest is split with the odd token taken from the second text."""
    if second is None:
        excess = len(first) + 2 - max_length
        if excess > 0:
            first = first[:-excess]
        return [cls_id, *first, sep_id], [0] * (len(first) + 2)
    excess = len(first) + len(second) + 3 - max_length
    if excess > 0:
        first_remove = min(abs(len(second) - len(first)), excess)
        rest = excess - first_remove
        if len(first) > len(second):
            from_first, from_second = first_remove + rest // 2, rest - rest // 2
        else:
            from_first, from_second = rest // 2, first_remove + rest - rest // 2
        first = first[:-from_first] if from_first > 0 else first
        second = second[:-from_second] if second and from_second > 0 else second
    return [cls_id, *first, sep_id, *second, sep_id], [0] * (len(first) + 2) + [1] * (len(second) + 1)


def reference_encode(tokenizer, firsts, seconds, max_length: int, with_token_types: bool | None) -> dict:
    """The slow tokenizer's own encoding, as tasks.common.encode asks for it. Its warning for every truncated
    pair ("Be aware, overflowing tokens are not returned ...") is silenced: the checks would repeat it."""
    python_tokenizers = logging.getLogger("transformers.tokenization_python")
    level = python_tokenizers.level
    python_tokenizers.setLevel(logging.ERROR)
    try:
        encoded = tokenizer(
            list(firsts),
            list(seconds) if seconds is not None else None,
            truncation=True,
            max_length=max_length,
            padding=False,
            return_token_type_ids=with_token_types,
        )
    finally:
        python_tokenizers.setLevel(level)
    return {key: list(value) for key, value in encoded.items()}


def evenly_spaced(size: int, count: int) -> list[int]:
    """Up to `count` indices spread over range(size), the first and last included."""
    if size <= count:
        return list(range(size))
    return sorted({round(i * (size - 1) / (count - 1)) for i in range(count)})


class MecabSurfaces:
    """MecabTokenizer.tokenize without lower-casing: NFKC, then MeCab's surfaces (the cache lower-cases)."""

    def __init__(self, tokenizer):
        import fugashi

        word_tokenizer = tokenizer.word_tokenizer
        self.normalize = bool(word_tokenizer.normalize_text)
        self.node_tagger = word_tokenizer.mecab  # the reference's own tagger, for texts with whitespace
        self.wakati_tagger = fugashi.GenericTagger(mecab_options(tokenizer.mecab_kwargs or {}) + " -Owakati")

    def __call__(self, text: str) -> list[str]:
        if self.normalize:
            text = unicodedata.normalize("NFKC", text)
        if not text:
            return []
        if WHITESPACE.search(text):
            # MeCab skips spaces between words, yet a surface may hold other characters str.split() cuts at;
            # the node list gives the surfaces exactly as the reference sees them.
            return [node.surface for node in self.node_tagger(text)]
        return self.wakati_tagger.parse(text).split(" ")


def mecab_options(mecab_kwargs: dict) -> str:
    """The option string MecabTokenizer builds from its mecab_dic and mecab_option arguments."""
    dic, option = mecab_kwargs.get("mecab_dic", "unidic_lite"), mecab_kwargs.get("mecab_option") or ""
    if dic is None:
        return option
    import importlib

    dic_dir = importlib.import_module(dic).DICDIR  # the ipadic, unidic_lite or unidic package
    return f'-d "{dic_dir}" -r "{os.path.join(dic_dir, "mecabrc")}" ' + option


class WordPieceIds:
    """WordpieceTokenizer.tokenize + convert_tokens_to_ids of one word, by the Rust WordPiece over the same
    vocabulary (greedy longest match first, "##" continuations, [UNK] for a word it cannot cover or one longer
    than max_input_chars_per_word characters)."""

    def __init__(self, tokenizer):
        from tokenizers.models import WordPiece

        subword = tokenizer.subword_tokenizer
        self.model = WordPiece(
            dict(tokenizer.vocab),
            unk_token=subword.unk_token,
            max_input_chars_per_word=subword.max_input_chars_per_word,
        )
        # ids go through the added tokens first, as convert_tokens_to_ids does (the same ids unless an added
        # token shadows a vocabulary entry)
        self.remap = {
            tokenizer.vocab[token]: index
            for token, index in tokenizer._added_tokens_encoder.items()
            if token in tokenizer.vocab and tokenizer.vocab[token] != index
        }

    def __call__(self, word: str) -> list[int]:
        ids = []
        for part in word.split():  # whitespace_tokenize: a surface may hold characters str.split() cuts at
            ids += [token.id for token in self.model.tokenize(part)]
        return [self.remap.get(i, i) for i in ids] if self.remap else ids


class SentencePieceIds:
    """SentencepieceTokenizer.tokenize + convert_tokens_to_ids of one word. The pieces come from the
    reference's own SentencePiece processor (normalization rules, dummy prefix and all); the Python wrapper is
    only needed for words it rewrites: spaces (remove_space), `` and '' (quotes), and a digit before "," (it
    splits "1," into "1" ","); those go through the wrapper itself."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer
        self.subword = tokenizer.subword_tokenizer
        self.processor = self.subword.sp_model
        self.plain = self.subword.remove_space and self.subword.keep_accents and not self.subword.do_lower_case
        # convert_tokens_to_ids looks at the added tokens first; an added token that is also a piece keeps
        # the added token's id
        piece_ids = {token: self.processor.PieceToId(token) for token in tokenizer._added_tokens_encoder}
        self.remap = {
            piece_ids[token]: index
            for token, index in tokenizer._added_tokens_encoder.items()
            if piece_ids[token] != self.processor.unk_id() and piece_ids[token] != index
        }

    def __call__(self, word: str) -> list[int]:
        if self.plain and not (WHITESPACE.search(word) or "," in word or "``" in word or "''" in word):
            ids = self.processor.encode(word, out_type=int)
            return [self.remap.get(i, i) for i in ids] if self.remap else ids
        return self.tokenizer.convert_tokens_to_ids(self.subword.tokenize(word))


def encode_in_processes(
    encoder: FastEncoder, firsts: list[str], seconds: list[str] | None, max_length: int, with_token_types: bool | None
) -> dict[str, list[list[int]]]:
    """encode_serial over chunks in forked processes (each inherits the encoder, its tagger and its cache)."""
    global _FORKED_ENCODER
    chunks = max(encoder.num_proc * 4, 1)
    size = -(-len(firsts) // chunks)
    jobs = [
        (firsts[i : i + size], seconds[i : i + size] if seconds is not None else None, max_length, with_token_types)
        for i in range(0, len(firsts), size)
    ]
    _FORKED_ENCODER = encoder
    try:
        with multiprocessing.get_context("fork").Pool(encoder.num_proc) as pool:
            parts = pool.map(_encode_job, jobs)
    finally:
        _FORKED_ENCODER = None
    return {key: [row for part in parts for row in part[key]] for key in parts[0]}


_FORKED_ENCODER: FastEncoder | None = None


def _encode_job(job) -> dict[str, list[list[int]]]:
    return _FORKED_ENCODER.encode_serial(*job)
