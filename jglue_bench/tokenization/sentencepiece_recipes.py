"""Tokenizers over a model's own SentencePiece file, with the ids SentencePiece itself gives.

transformers 5 builds these tokenizers from the `.model` file into a Rust `tokenizers` pipeline, and gets three
things subtly wrong for Japanese (measured on transformers 5.24; tests/test_model_zoo.py checks them):

- DeBERTa-v2 (`spm.model`) rebuilds the normaliser as Replace/NFC/Strip and drops the model's own NFKC rules,
  so full-width letters and digits and half-width katakana become `[UNK]`;
- the `Precompiled` normaliser that XLM-R keeps maps character by character and never composes: half-width
  `ｶﾞ` comes out as `カ` + a combining mark, where SentencePiece (NFKC over the whole text) gives `ガ`;
- built with `vocab_file=` instead of `from_pretrained(folder)` the vocabulary is silently near-empty.

So every recipe here loads the family's class from a private folder holding only the SentencePiece file (no
tokenizer.json or config beside it can change the result), then puts back the model's own normalisation:
its precompiled NFKC map, NFC to compose what the map leaves apart, and SentencePiece's whitespace rules.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers
from tokenizers.models import Unigram

from jglue_bench.errors import UserError
from jglue_bench.support.atomic import write_bytes_atomic

SPACE = "\u2581"  # SentencePiece's word-start marker


def sentencepiece_proto(model_file: Path):
    """The parsed SentencePiece ModelProto, or a one-line error naming the file."""
    from sentencepiece import sentencepiece_model_pb2

    proto = sentencepiece_model_pb2.ModelProto()
    try:
        proto.ParseFromString(Path(model_file).read_bytes())
    except Exception as error:  # protobuf raises DecodeError, and others for truncated files
        raise UserError(f"{model_file} is not a SentencePiece model ({error}).") from error
    if not proto.pieces:
        raise UserError(f"{model_file} is not a SentencePiece model (it holds no pieces).")
    return proto


def restore_normalization(tokenizer, proto) -> None:
    """Make the Rust pipeline (a transformers tokenizer, or a `tokenizers.Tokenizer` itself) normalise and split
    as SentencePiece does with this model's own rules."""
    spec = proto.normalizer_spec
    steps = []
    if spec.precompiled_charsmap:
        # the map works character by character; NFC composes what it leaves apart (ｶﾞ -> カ + U+3099 -> ガ)
        steps += [normalizers.Precompiled(spec.precompiled_charsmap), normalizers.NFC()]
    if spec.remove_extra_whitespaces:
        steps += [normalizers.Replace(Regex(" {2,}"), " "), normalizers.Strip()]
    if spec.add_dummy_prefix:
        # SentencePiece adds its ▁ even before a leading space it kept (" 衣服" -> "▁▁衣服"); Metaspace's own
        # prepend skips a text that already starts with one
        steps.append(normalizers.Prepend(SPACE))
    backend = getattr(tokenizer, "backend_tokenizer", tokenizer)
    backend.normalizer = normalizers.Sequence(steps)
    backend.pre_tokenizer = _word_splitter(proto.trainer_spec)
    prepend = "always" if spec.add_dummy_prefix else "never"
    backend.decoder = decoders.Metaspace(replacement=SPACE, prepend_scheme=prepend, split=True)


def _word_splitter(trainer_spec):
    """Where SentencePiece starts a new word (a piece never crosses one): at each ▁; at the first ▁ of a run only,
    where whitespace-only pieces are allowed ("▁▁衣服" is one word, which may become ▁▁ + 衣服); nowhere, where the
    model was trained without splitting by whitespace (llm-jp's)."""
    spaces = pre_tokenizers.Metaspace(replacement=SPACE, prepend_scheme="never", split=False)
    if not trainer_spec.split_by_whitespace:
        return spaces
    if trainer_spec.allow_whitespace_only_pieces:
        words = pre_tokenizers.Split(Regex(f"{SPACE}*[^{SPACE}]+|{SPACE}+"), behavior="isolated")
        return pre_tokenizers.Sequence([spaces, words])
    return pre_tokenizers.Metaspace(replacement=SPACE, prepend_scheme="never", split=True)


def load_family_class(tokenizer_class, model_file: Path, expected_name: str, cache_dir: Path, **kwargs):
    """`tokenizer_class.from_pretrained` on a private folder that holds the SentencePiece file alone, under the
    name the class looks for, with the model's normalisation put back."""
    proto = sentencepiece_proto(model_file)
    if proto.trainer_spec.model_type != 1:  # 1: unigram; the families here were all trained as unigram models
        raise UserError(
            f"{model_file} is a SentencePiece model of type {proto.trainer_spec.model_type}; this recipe "
            f"expects a unigram model (type 1), as the pre-trained tokenizers of these families are."
        )
    folder = private_copy(model_file, expected_name, cache_dir)
    tokenizer = tokenizer_class.from_pretrained(str(folder), **kwargs)
    restore_normalization(tokenizer, proto)
    return tokenizer


def private_copy(model_file: Path, name: str, cache_dir: Path) -> Path:
    """A folder holding only `model_file` as `name`, keyed by its content (written once, atomically)."""
    data = Path(model_file).read_bytes()
    folder = Path(cache_dir).expanduser() / "tokenizers" / hashlib.sha256(data).hexdigest()[:16]
    target = folder / name
    if not target.is_file():
        write_bytes_atomic(target, data)
    return folder


def unigram_from_proto(proto) -> Tokenizer:
    """A Rust Unigram pipeline over a SentencePiece unigram model's pieces and scores, ids as SentencePiece's."""
    vocab = [(piece.piece, piece.score) for piece in proto.pieces]
    unk_id = next((i for i, piece in enumerate(proto.pieces) if piece.type == 2), 0)  # type 2: UNKNOWN
    backend = Tokenizer(Unigram(vocab, unk_id=unk_id, byte_fallback=bool(proto.trainer_spec.byte_fallback)))
    restore_normalization(backend, proto)
    return backend


def compose_after_precompiled(backend: Tokenizer) -> None:
    """A tokenizer.json converted from SentencePiece keeps the same non-composing Precompiled map: add NFC after
    it so half-width voiced katakana come out as SentencePiece gives them."""
    normalizer = backend.normalizer
    if normalizer is None:
        return
    state = normalizer.__getstate__()
    if b"Precompiled" in (state if isinstance(state, bytes) else str(state).encode()):
        backend.normalizer = normalizers.Sequence([normalizer, normalizers.NFC()])
