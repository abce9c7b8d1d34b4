"""Small random models of each encoder family, written in the family's real hub layout, offline.

Tests and `bench train --model FAMILY-FOLDER` need every family without the hub: a folder with the family's
`config.json`, random safetensors weights of the real architecture (small sizes), and tokenizer files under the
names and id layouts the hub repos use (vocab.txt; spm.model / spiece.model; sentencepiece.bpe.model with the
fairseq offset; tokenizer.json), trained on the bundled sample texts. The model config that points at such a
folder is the family's own config from configs/model/, with `pretrained` set to the folder.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

from jglue_bench.support.atomic import write_bytes_atomic
from jglue_bench.tokenization.tiny import required_characters, sample_texts

# family -> (a model config in configs/model whose recipe it shares, the architecture of its config.json)
FAMILIES = {
    "tohoku_bert": ("tohoku_bert_base_v3", "bert"),
    "tohoku_bert_char": ("tohoku_bert_base_char_v2", "bert"),
    "waseda_roberta": ("waseda_roberta_base", "roberta"),
    "xlm_roberta": ("xlm_roberta_base", "xlm-roberta"),
    "luke": ("luke_japanese_base_lite", "luke"),
    "deberta_v2": ("ku_deberta_v2_base", "deberta-v2"),
    "deberta_v3": ("mdeberta_v3_base", "deberta-v2"),
    "modernbert": ("modernbert_ja_30m", "modernbert"),
}
SIZES = {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64}
BENCH_SIZES = {"hidden_size": 256, "num_hidden_layers": 4, "num_attention_heads": 4, "intermediate_size": 1024}
EXTRA_TEXTS = ["ＡＩと２０２３年のｶﾞｲﾄﾞブック", "ﾊﾝｶｸｶﾀｶﾅとﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ", "Ｆｕｌｌ－ｗｉｄｔｈ Ｌａｔｉｎ １２３", "①㌔㍉"]
BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def build_family(family: str, folder: Path, seed: int = 0, sizes: dict[str, int] = SIZES) -> Path:
    """Write a random `family` model with its tokenizer files into `folder` (made if missing); returns it.
    `sizes`: hidden size, layers, heads and feed-forward width (small for tests; BENCH_SIZES for `bench train`)."""
    if family not in FAMILIES:
        raise ValueError(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab_size, specials = TOKENIZER_WRITERS[family](folder)
    config = architecture_config(family, vocab_size, specials, sizes)
    _save_random_weights(config, folder, seed)
    return folder


def architecture_config(family: str, vocab_size: int, specials: dict[str, int], sizes: dict[str, int] = SIZES):
    from transformers import AutoConfig

    model_type = FAMILIES[family][1]
    settings = dict(sizes, vocab_size=vocab_size, max_position_embeddings=128, **specials)
    if model_type in ("roberta", "xlm-roberta", "luke"):
        settings.update(max_position_embeddings=130, type_vocab_size=2 if family == "waseda_roberta" else 1)
    if model_type == "luke":
        settings.update(entity_vocab_size=4, entity_emb_size=16)
    if model_type == "deberta-v2":
        settings.update(
            relative_attention=True,
            position_buckets=16,
            pos_att_type=["p2c", "c2p"],
            position_biased_input=False,
            norm_rel_ebd="layer_norm",
            share_att_key=True,
            type_vocab_size=0 if family == "deberta_v3" else 2,
        )
    if model_type == "modernbert":
        settings = dict(
            sizes,
            vocab_size=vocab_size,
            max_position_embeddings=8192,
            classifier_pooling="cls",
            global_attn_every_n_layers=2,
            local_attention=16,
            **specials,
        )
    return AutoConfig.for_model(model_type, **settings)


def _save_random_weights(config, folder: Path, seed: int) -> None:
    import torch
    from transformers import AutoModel

    torch.manual_seed(seed)
    AutoModel.from_config(config).save_pretrained(str(folder), safe_serialization=True)


def corpus() -> list[str]:
    return sample_texts() + EXTRA_TEXTS


def _train_spm(**settings) -> bytes:
    """A SentencePiece unigram model over the bundled sample (NFKC rules: SentencePiece's default)."""
    import sentencepiece

    required = required_characters()
    model = io.BytesIO()
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(corpus()),
        model_writer=model,
        model_type="unigram",
        vocab_size=len(required) + 600,
        hard_vocab_limit=False,
        character_coverage=1.0,
        required_chars=required,
        num_threads=1,
        minloglevel=2,
        **settings,
    )
    return model.getvalue()


def _write(path: Path, data: bytes | str) -> None:
    write_bytes_atomic(path, data.encode("utf-8") if isinstance(data, str) else data)


def _spm_piece_count(data: bytes) -> int:
    from sentencepiece import SentencePieceProcessor

    return SentencePieceProcessor(model_proto=data).get_piece_size()


def _wordpiece_vocab(folder: Path) -> tuple[int, dict]:
    """Tohoku BERT's layout: vocab.txt of MeCab (unidic-lite) words and ## continuations."""
    import fugashi
    import unidic_lite

    tagger = fugashi.GenericTagger(f'-d "{unidic_lite.DICDIR}" -r "{os.path.join(unidic_lite.DICDIR, "mecabrc")}"')
    words = sorted({node.surface for text in corpus() for node in tagger(text)} - {""})
    chars = sorted({char for text in corpus() for char in text if not char.isspace()})
    vocab = BERT_SPECIALS + [word for word in words if len(word) > 1] + chars + [f"##{char}" for char in chars]
    vocab = list(dict.fromkeys(vocab))
    _write(folder / "vocab.txt", "\n".join(vocab) + "\n")
    return len(vocab), {"pad_token_id": 0}


def _character_vocab(folder: Path) -> tuple[int, dict]:
    chars = sorted({char for text in corpus() for char in text if not char.isspace()})
    vocab = list(dict.fromkeys(BERT_SPECIALS + chars))
    _write(folder / "vocab.txt", "\n".join(vocab) + "\n")
    return len(vocab), {"pad_token_id": 0}


def _bert_style_spm(name: str):
    """ku-nlp DeBERTa / Waseda RoBERTa layout: SentencePiece ids as they are, [PAD]=0 [UNK]=1, then [CLS] [SEP]
    [MASK] as user-defined pieces."""

    def write(folder: Path) -> tuple[int, dict]:
        data = _train_spm(
            pad_id=0,
            pad_piece="[PAD]",
            unk_id=1,
            unk_piece="[UNK]",
            bos_id=-1,
            eos_id=-1,
            user_defined_symbols=["[CLS]", "[SEP]", "[MASK]"],
        )
        _write(folder / name, data)
        return _spm_piece_count(data), {"pad_token_id": 0, "bos_token_id": 2, "eos_token_id": 3}

    return write


def _fairseq_spm(folder: Path) -> tuple[int, dict]:
    """XLM-R / LUKE layout: sentencepiece.bpe.model with <unk>=0 <s>=1 </s>=2; the tokenizer adds 1 to each id
    and puts <pad> at 1 and <mask> last."""
    data = _train_spm(unk_id=0, bos_id=1, eos_id=2, pad_id=-1)
    _write(folder / "sentencepiece.bpe.model", data)
    return _spm_piece_count(data) + 2, {"pad_token_id": 1, "bos_token_id": 0, "eos_token_id": 2}


def _luke_files(folder: Path) -> tuple[int, dict]:
    size, specials = _fairseq_spm(folder)
    _write(folder / "entity_vocab.json", json.dumps({"[PAD]": 0, "[UNK]": 1, "[MASK]": 2, "[MASK2]": 3}))
    return size, specials


def _unigram_json(folder: Path) -> tuple[int, dict]:
    """ModernBERT-ja layout: tokenizer.json (a unigram model converted from SentencePiece by `tokenizers`
    itself) beside tokenizer.model, <cls>/<sep> special pieces, and a tokenizer_config.json that declares, as the
    real one does, LlamaTokenizer's <s> A </s>."""
    from jglue_bench.tokenization.sentencepiece_recipes import sentencepiece_proto

    data = _train_spm(unk_id=0, bos_id=1, eos_id=2, pad_id=3, user_defined_symbols=["<sep>", "<mask>", "<cls>"])
    _write(folder / "tokenizer.model", data)
    _write(folder / "tokenizer.json", stock_conversion(sentencepiece_proto(folder / "tokenizer.model")).to_str())
    specials = {"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>"}
    specials.update(cls_token="<cls>", sep_token="<sep>", mask_token="<mask>")
    declared = {"tokenizer_class": "LlamaTokenizer", "add_bos_token": True, "add_eos_token": True, **specials}
    _write(folder / "tokenizer_config.json", json.dumps(declared, indent=2))
    return _spm_piece_count(data), {
        "pad_token_id": 3,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "sep_token_id": 4,
        "cls_token_id": 6,
    }


def stock_conversion(proto):
    """tokenizer.json as the usual SentencePiece conversion writes it: the pieces as a Unigram model, the
    precompiled map as the normaliser (which leaves ｶﾞ uncomposed: the recipe adds NFC), Metaspace words."""
    from tokenizers import Regex, Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import Unigram

    from jglue_bench.tokenization.sentencepiece_recipes import SPACE

    backend = Tokenizer(Unigram([(piece.piece, piece.score) for piece in proto.pieces], unk_id=0))
    backend.normalizer = normalizers.Sequence(
        [normalizers.Precompiled(proto.normalizer_spec.precompiled_charsmap), normalizers.Replace(Regex(" {2,}"), " ")]
    )
    backend.pre_tokenizer = pre_tokenizers.Metaspace(replacement=SPACE, prepend_scheme="always")
    return backend


TOKENIZER_WRITERS = {
    "tohoku_bert": _wordpiece_vocab,
    "tohoku_bert_char": _character_vocab,
    "waseda_roberta": _bert_style_spm("spiece.model"),
    "xlm_roberta": _fairseq_spm,
    "luke": _luke_files,
    "deberta_v2": _bert_style_spm("spm.model"),
    "deberta_v3": _bert_style_spm("spm.model"),
    "modernbert": _unigram_json,
}


def family_model_config(family: str, folder: Path) -> dict:
    """The family's model config (its YAML in configs/model/) pointed at `folder`."""
    import yaml

    from jglue_bench.config import config_dir

    name = FAMILIES[family][0]
    cfg = yaml.safe_load((Path(config_dir()) / "model" / f"{name}.yaml").read_text(encoding="utf-8"))
    cfg.update(name=f"random_{family}", pretrained=str(folder), revision=None, allow_pickle=False)
    return cfg


def cached_family(family: str, cache_dir: Path, sizes: dict[str, int] = SIZES) -> Path:
    """build_family once per family, size and sample data, kept under cache_dir/random-families."""
    key = hashlib.sha256(json.dumps([family, corpus(), sizes]).encode()).hexdigest()[:12]
    folder = Path(cache_dir) / "random-families" / f"{family}-{key}"
    if not (folder / "config.json").is_file():
        partial = folder.with_name(folder.name + f".part{os.getpid()}")
        build_family(family, partial, sizes=sizes)
        try:
            os.replace(partial, folder)
        except OSError:  # another process finished first: theirs is the same
            pass
    return folder
