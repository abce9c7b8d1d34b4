"""The `tiny` model's SentencePiece vocabulary, built offline from the bundled sample data.

The tiny model exists so the whole pipeline runs on any machine without downloads. Its vocabulary is trained
on the bundled sample texts, plus every kana and CJK ideograph as a required character, so real JGLUE text
tokenizes with few <unk>s. Special-token ids follow LINE DistilBERT's spiece.model: <pad>=0, <unk>=1,
[CLS]=2, [SEP]=3, [MASK]=4.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from importlib import resources
from pathlib import Path

import sentencepiece

from jglue_bench.support.atomic import write_bytes_atomic

EXTRA_PIECES = 2000
REQUIRED_RANGES = ((0x3041, 0x3096), (0x30A1, 0x30FA), (0x30FC, 0x30FC), (0x4E00, 0x9FFF))


def build_tiny_spm(cache_dir: Path) -> Path:
    """Return the cached spiece.model, training it first when the sample data or settings changed."""
    lines = sample_texts()
    required = required_characters()
    settings = dict(
        model_type="unigram",
        vocab_size=len(required) + EXTRA_PIECES,
        character_coverage=1.0,
        hard_vocab_limit=False,
        pad_id=0,
        unk_id=1,
        bos_id=-1,
        eos_id=-1,
        user_defined_symbols=["[CLS]", "[SEP]", "[MASK]"],
        add_dummy_prefix=False,
        num_threads=1,
        minloglevel=2,
    )
    key = hashlib.sha256(json.dumps([lines, settings]).encode()).hexdigest()[:16]
    target = cache_dir / "tiny-spm" / key / "spiece.model"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    model = tempfile.SpooledTemporaryFile()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_writer=model, required_chars=required, **settings
    )
    model.seek(0)
    write_bytes_atomic(target, model.read())
    return target


def required_characters() -> str:
    """Every kana and CJK ideograph: pieces a vocabulary trained on the small sample must still have."""
    return "".join(chr(code) for start, end in REQUIRED_RANGES for code in range(start, end + 1))


def sample_texts() -> list[str]:
    """Every string in the bundled sample files, in a stable order."""
    root = resources.files("jglue_bench") / "sample_data"
    texts: list[str] = []
    for path in sorted(Path(str(root)).glob("*/*.json")):
        raw = path.read_text(encoding="utf-8")
        documents = [json.loads(line) for line in raw.splitlines() if line.strip()]
        for document in documents:
            texts.extend(_strings(document))
    return [text for text in texts if text.strip()]


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []
