"""Tokenizer recipes per model family.

A recipe names the tokenizer class and its settings; the files (vocab.txt, spiece.model, spm.model,
sentencepiece.bpe.model, tokenizer.json) come from the model's folder or hub repo. Building from a recipe matters
because plain `AutoTokenizer.from_pretrained` gets many Japanese models wrong without a word of warning (the
traps, measured on transformers 5.24, are tested in tests/test_model_zoo.py; `auto` refuses a model where one applies):

- mecab_wordpiece / mecab_character: Tohoku BERT (word / character) and BandaiNamco DistilBERT: MeCab words,
  then WordPiece or characters over vocab.txt; hub repos without a tokenizer config load English WordPiece.
- basic_character: ku-nlp DeBERTa-v2 char-wwm: BertJapaneseTokenizer's basic words, then characters of vocab.txt.
- mecab_sentencepiece: LINE DistilBERT (its hub code breaks on transformers 5) and the tiny model.
- albert_sentencepiece: Laboro DistilBERT (needs keep_accents, or が becomes か).
- fairseq_sentencepiece: XLM-R and LUKE Japanese: SentencePiece ids + 1, `<s> A </s></s> B </s>` (MLukeTokenizer
  is one id off and drops NFKC).
- sentencepiece: ku-nlp DeBERTa v2/v3, mDeBERTa: SentencePiece ids as they are, with the model's NFKC kept (from
  tokenizer.json, through the unigram recipe, where a folder has no spm.model).
- unigram: ModernBERT-ja and llm-jp-modernbert: the unigram tokenizer.json (or tokenizer.model), never the BPE
  LlamaTokenizer that their tokenizer_config names; special tokens and layout as the files declare them
  (declared_layout.py).
- auto: AutoTokenizer, for models not listed here.
Any recipe may add `pre_segment: jumanpp` (presegment.py). The special tokens and pair layout are the tokenizer's
own (tasks ask it through `tokenization.layout`).
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from transformers import PreTrainedTokenizerBase

from jglue_bench.errors import UserError
from jglue_bench.support.atomic import write_bytes_atomic, write_text_atomic
from jglue_bench.tokenization.presegment import word_splitter
from jglue_bench.tokenization.tiny import build_tiny_spm

RECIPE_FILE = "jglue_bench_tokenizer.json"
FINGERPRINT_PROBE = "ＪＧＬＵＥは日本語の評価ベンチマークです。ｶﾞｲﾄﾞで東京タワーへ行った!"
# the files a recipe reads, by key, with the name each has in a hub repo
FILE_KEYS = {
    "spm_file": "spiece.model",
    "vocab_file": "vocab.txt",
    "tokenizer_file": "tokenizer.json",
    "normalizer_file": "tokenizer.model",
}
LOCATION_KEYS = ("build_tiny_spm", *FILE_KEYS)
RECIPE_KEYS = {
    "mecab_sentencepiece": ("spm_file", "build_tiny_spm", "mecab_dic", "do_lower_case"),
    "mecab_wordpiece": ("vocab_file", "mecab_dic", "do_lower_case"),
    "mecab_character": ("vocab_file", "mecab_dic", "do_lower_case"),
    "basic_character": ("vocab_file", "do_lower_case"),
    "albert_sentencepiece": ("spm_file", "keep_accents", "do_lower_case"),
    "fairseq_sentencepiece": ("spm_file",),
    "sentencepiece": ("spm_file", "tokenizer_file", "do_lower_case"),
    "unigram": ("tokenizer_file", "spm_file", "normalizer_file", "layout"),
    "auto": (),
}
COMMON_KEYS = ("recipe", "special_tokens", "pre_segment", "jumanpp_command")
RECIPES = tuple(RECIPE_KEYS)


def load_tokenizer(model_cfg: Mapping[str, Any], cache_dir: str | Path | None = None) -> PreTrainedTokenizerBase:
    """Build the tokenizer the model was pre-trained with, from its recipe (`model.tokenizer`)."""
    recipe = _plain(model_cfg["tokenizer"])
    kind = recipe.get("recipe")
    if kind not in RECIPES:
        raise UserError(f"model.tokenizer.recipe is {kind!r}; expected one of {', '.join(RECIPES)}.")
    unknown = sorted(set(recipe) - set(COMMON_KEYS) - set(RECIPE_KEYS[kind]))
    if unknown:
        raise UserError(
            f"model.tokenizer has {', '.join(unknown)}, which the {kind} recipe does not read; it reads "
            f"{', '.join(COMMON_KEYS + RECIPE_KEYS[kind])}."
        )
    splitter = word_splitter(recipe, str(model_cfg.get("name")))  # a missing Juman++ says so before any work
    cache = Path(cache_dir or Path.home() / ".cache" / "jglue-bench").expanduser()
    files: dict[str, Path] = {}
    tokenizer = BUILDERS[kind](model_cfg, recipe, files, cache)
    tokenizer.jglue_recipe = recipe
    tokenizer.jglue_files = files  # what save_recipe copies beside a fine-tuned model
    tokenizer.jglue_splitter = splitter
    return tokenizer


def _file(model_cfg, recipe, files: dict, key: str, default: str | None = None) -> Path:
    files[key] = model_file(model_cfg, recipe.get(key, default or FILE_KEYS[key]))
    return files[key]


def _optional_file(model_cfg, recipe, files, key: str) -> Path | None:
    """A file the recipe uses when the model has it (null in the recipe: never)."""
    if key in recipe and recipe[key] is None:
        return None
    try:
        return _file(model_cfg, recipe, files, key)
    except UserError:
        return None


def _mecab_sentencepiece(model_cfg, recipe, files, cache):
    from transformers import BertJapaneseTokenizer

    if recipe.get("build_tiny_spm"):
        files["spm_file"] = build_tiny_spm(cache)
    spm_file = files.get("spm_file") or _file(model_cfg, recipe, files, "spm_file")
    return BertJapaneseTokenizer(
        vocab_file=None,
        spm_file=str(spm_file),
        word_tokenizer_type="mecab",
        mecab_kwargs={"mecab_dic": _mecab_dictionary(model_cfg, recipe, "unidic_lite")},
        subword_tokenizer_type="sentencepiece",
        do_lower_case=bool(recipe.get("do_lower_case", True)),
        **_special_tokens(recipe),
    )


MECAB_DICTIONARIES = ("ipadic", "unidic_lite", "unidic")  # the ones transformers' MecabTokenizer loads


def _mecab_dictionary(model_cfg, recipe, default: str) -> str:
    dictionary = recipe.get("mecab_dic", default)
    if dictionary not in MECAB_DICTIONARIES:
        raise UserError(
            f"model '{model_cfg.get('name')}': model.tokenizer.mecab_dic is {dictionary!r}; the MeCab dictionaries "
            f"jglue-bench can load are {', '.join(MECAB_DICTIONARIES)} (pip packages of the same names)."
        )
    return dictionary


def _bert_japanese_vocab(word_type: str, subword_type: str):
    def build(model_cfg, recipe, files, cache):
        from transformers import BertJapaneseTokenizer

        words = (
            {"mecab_kwargs": {"mecab_dic": _mecab_dictionary(model_cfg, recipe, "ipadic")}}
            if word_type == "mecab"
            else {}
        )
        return BertJapaneseTokenizer(
            vocab_file=str(_file(model_cfg, recipe, files, "vocab_file")),
            word_tokenizer_type=word_type,
            subword_tokenizer_type=subword_type,
            do_lower_case=bool(recipe.get("do_lower_case", False)),
            **words,
            **_special_tokens(recipe),
        )

    return build


def _albert_sentencepiece(model_cfg, recipe, files, cache):
    from transformers import AlbertTokenizer

    spm_file = _file(model_cfg, recipe, files, "spm_file")
    # keep_accents matters: without it NFKD strips dakuten and が becomes か.
    return AlbertTokenizer.from_pretrained(
        str(Path(spm_file).parent),
        keep_accents=bool(recipe.get("keep_accents", True)),
        do_lower_case=bool(recipe.get("do_lower_case", False)),
        **_special_tokens(recipe),
    )


def _fairseq_sentencepiece(model_cfg, recipe, files, cache):
    from transformers import XLMRobertaTokenizer

    from jglue_bench.tokenization.sentencepiece_recipes import load_family_class

    # XLMRobertaTokenizer's layout is fairseq's: <s>=0 <pad>=1 </s>=2 <unk>=3, then SentencePiece's ids + 1
    spm_file = _file(model_cfg, recipe, files, "spm_file", "sentencepiece.bpe.model")
    return load_family_class(XLMRobertaTokenizer, spm_file, "sentencepiece.bpe.model", cache, **_special_tokens(recipe))


def _sentencepiece(model_cfg, recipe, files, cache):
    from transformers import DebertaV2Tokenizer

    from jglue_bench.tokenization.sentencepiece_recipes import load_family_class

    if "tokenizer_file" in recipe or (
        "spm_file" not in recipe and not _has_file(model_cfg, "spm.model") and _has_file(model_cfg, "tokenizer.json")
    ):
        return _sentencepiece_from_json(model_cfg, recipe, files, cache)
    spm_file = _file(model_cfg, recipe, files, "spm_file", "spm.model")
    return load_family_class(
        DebertaV2Tokenizer,
        spm_file,
        "spm.model",
        cache,
        do_lower_case=bool(recipe.get("do_lower_case", False)),
        **_special_tokens(recipe),
    )


def _sentencepiece_from_json(model_cfg, recipe, files, cache):
    """A folder with the SentencePiece model's tokenizer.json but no spm.model (ku-nlp DeBERTa-v2 as some copies
    ship it): the unigram recipe over that file, its precompiled NFKC map kept and NFC added, its own layout."""
    if recipe.get("do_lower_case"):
        raise UserError(
            f"model '{model_cfg.get('name')}' has no spm.model, and its tokenizer.json cannot lower-case as "
            f"do_lower_case: true asks; give the folder its spm.model."
        )
    _note_once(
        f"model '{model_cfg.get('name')}' has no spm.model; the sentencepiece recipe reads its tokenizer.json "
        f"(the same unigram pieces; the precompiled NFKC map kept, NFC added)."
    )
    kept = {key: value for key, value in recipe.items() if key in COMMON_KEYS}
    as_unigram = {**kept, "recipe": "unigram", "tokenizer_file": recipe.get("tokenizer_file", "tokenizer.json")}
    return _unigram(model_cfg, as_unigram, files, cache)


def _unigram(model_cfg, recipe, files, cache):
    from transformers import PreTrainedTokenizerFast

    from jglue_bench.tokenization.declared_layout import apply_declared_layout, declared_special_tokens

    backend = _unigram_backend(model_cfg, recipe, files)
    tokenizer_config = _optional_json(model_cfg, "tokenizer_config.json")
    specials = declared_special_tokens(
        backend, _special_tokens(recipe), tokenizer_config, _optional_json(model_cfg, "special_tokens_map.json")
    )
    template, source = apply_declared_layout(backend, specials, recipe.get("layout"), tokenizer_config)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, **specials)
    tokenizer.jglue_layout, tokenizer.jglue_layout_source = template, source
    return tokenizer


def _unigram_backend(model_cfg, recipe, files):
    """The Rust Unigram pipeline: from the SentencePiece model where the recipe names one, or where the model has
    no tokenizer.json (noted); else tokenizer.json, normalised as tokenizer.model says when the model has it."""
    from tokenizers import Tokenizer

    import jglue_bench.tokenization.sentencepiece_recipes as spm

    if "spm_file" not in recipe and "tokenizer_file" not in recipe and not _has_file(model_cfg, "tokenizer.json"):
        if _has_file(model_cfg, "tokenizer.model"):
            _note_once(
                f"model '{model_cfg.get('name')}' has no tokenizer.json; the unigram recipe reads its "
                f"SentencePiece model, tokenizer.model (the same pieces, ids and normalisation)."
            )
            recipe = {**recipe, "spm_file": "tokenizer.model"}
    if "spm_file" in recipe:
        return spm.unigram_from_proto(spm.sentencepiece_proto(_file(model_cfg, recipe, files, "spm_file")))
    path = _file(model_cfg, recipe, files, "tokenizer_file")
    try:
        backend = Tokenizer.from_file(str(path))
    except Exception as error:
        raise UserError(f"{path} is not a tokenizers JSON file ({str(error).splitlines()[0]}).") from error
    if type(backend.model).__name__ != "Unigram":
        raise UserError(
            f"{path} holds a {type(backend.model).__name__} model; the unigram recipe expects the "
            f"SentencePiece unigram tokenizer these models were pre-trained with."
        )
    normalizer = _optional_file(model_cfg, recipe, files, "normalizer_file")
    if normalizer is not None:  # the SentencePiece model it was converted from: its rules, exactly
        spm.restore_normalization(backend, spm.sentencepiece_proto(normalizer))
    else:
        spm.compose_after_precompiled(backend)
    return backend


def _has_file(model_cfg, filename: str) -> bool:
    try:
        model_file(model_cfg, filename)
    except UserError:
        return False
    return True


_NOTED: set[str] = set()


def _note_once(note: str) -> None:
    """A note on stderr, once per process (tokenizers are loaded several times in a run)."""
    if note not in _NOTED:
        _NOTED.add(note)
        print(f"jglue-bench: note: {note}", file=sys.stderr)


def _auto(model_cfg, recipe, files, cache):
    from transformers import AutoTokenizer

    source = model_cfg.get("pretrained")
    if source is None:
        raise UserError(
            f"model '{model_cfg.get('name')}' uses the auto recipe but names no `pretrained` folder or hub id."
        )
    trap = auto_trap(_optional_json(model_cfg, "config.json"), _optional_json(model_cfg, "tokenizer_config.json"))
    if trap is not None:
        raise UserError(f"model '{model_cfg.get('name')}': AutoTokenizer would tokenize it wrongly: {trap}")
    return AutoTokenizer.from_pretrained(
        str(source), revision=model_cfg.get("revision"), trust_remote_code=False, **_special_tokens(recipe)
    )


def auto_trap(config: dict | None, tokenizer_config: dict | None) -> str | None:
    """Why AutoTokenizer in transformers 5 gets this model's ids wrong, with the recipe that gets them right; None
    when no known trap applies."""
    model_type = (config or {}).get("model_type")
    tokenizer_class = (tokenizer_config or {}).get("tokenizer_class") or ""
    if tokenizer_class.startswith("MLuke") or model_type == "luke":
        return (
            "MLukeTokenizer gives every id one below the pre-trained row and drops NFKC; use recipe "
            "fairseq_sentencepiece."
        )
    if model_type == "deberta-v2" or tokenizer_class.startswith("DebertaV2"):
        return (
            "DebertaV2Tokenizer drops the model's NFKC map (full-width letters and half-width katakana become "
            "[UNK]); use recipe sentencepiece."
        )
    if model_type in ("xlm-roberta",) or tokenizer_class.startswith("XLMRoberta"):
        return (
            "XLMRobertaTokenizer does not compose half-width voiced katakana as SentencePiece does; use recipe "
            "fairseq_sentencepiece."
        )
    if config is None and tokenizer_class.startswith("Llama"):
        return (
            "without config.json, tokenizer_class LlamaTokenizer loads a BPE model that splits Japanese into "
            "characters or bytes; use recipe unigram."
        )
    if model_type == "modernbert" and tokenizer_class.startswith("Llama"):
        return "tokenizer_class LlamaTokenizer is a BPE model in transformers 5; use recipe unigram."
    if model_type in ("bert", "distilbert", "electra") and (
        not tokenizer_class or tokenizer_class.startswith("BertJapanese")
    ):
        return (
            "with no tokenizer config AutoTokenizer loads the English WordPiece BertTokenizer; use recipe "
            "mecab_wordpiece (or mecab_character, mecab_sentencepiece) with the model's MeCab dictionary."
            if not tokenizer_class
            else "BertJapaneseTokenizer is built from the recipe: use mecab_wordpiece, "
            "mecab_character or mecab_sentencepiece with the model's MeCab dictionary."
        )
    return None


def _optional_json(model_cfg: Mapping[str, Any], filename: str) -> dict | None:
    """A JSON file of the model (config.json, tokenizer_config.json), or None when the model has none."""
    try:
        return json.loads(model_file(model_cfg, filename).read_text(encoding="utf-8"))
    except UserError:
        return None
    except ValueError as error:
        raise UserError(f"{filename} of model '{model_cfg.get('name')}' is not valid JSON: {error}") from error


BUILDERS = {
    "mecab_sentencepiece": _mecab_sentencepiece,
    "mecab_wordpiece": _bert_japanese_vocab("mecab", "wordpiece"),
    "mecab_character": _bert_japanese_vocab("mecab", "character"),
    "basic_character": _bert_japanese_vocab("basic", "character"),
    "albert_sentencepiece": _albert_sentencepiece,
    "fairseq_sentencepiece": _fairseq_sentencepiece,
    "sentencepiece": _sentencepiece,
    "unigram": _unigram,
    "auto": _auto,
}


def model_file(model_cfg: Mapping[str, Any], filename: str) -> Path:
    """A file of the model: an absolute path as it is; else from the model's local folder, else from the hub
    (cached; offline when HF_HUB_OFFLINE=1)."""
    if Path(str(filename)).expanduser().is_absolute():
        path = Path(str(filename)).expanduser()
        if not path.is_file():
            raise UserError(
                f"{path} does not exist (model '{model_cfg.get('name')}' names it in its tokenizer recipe)."
            )
        return path
    source = model_cfg.get("pretrained")
    if source is None:
        raise UserError(
            f"model '{model_cfg.get('name')}' has no `pretrained` folder or hub id to read {filename} from."
        )
    local = Path(str(source)).expanduser()
    if not local.is_dir() and _looks_like_path(str(source)):
        raise UserError(f"model.pretrained {source} is not a folder (expected the model's files, e.g. {filename}).")
    if local.is_dir():
        path = local / filename
        if not path.is_file():
            raise UserError(f"{path} is missing: the tokenizer recipe of model '{model_cfg.get('name')}' needs it.")
        return path
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, HFValidationError, LocalEntryNotFoundError

    try:
        return Path(hf_hub_download(str(source), filename, revision=model_cfg.get("revision")))
    except (LocalEntryNotFoundError, HfHubHTTPError, HFValidationError, OSError) as error:
        raise UserError(
            f"Could not get {filename} of '{source}' (revision {model_cfg.get('revision')}) from the "
            f"Hugging Face hub: {error}. Offline, point model.pretrained at a local folder."
        ) from error


def save_recipe(tokenizer: PreTrainedTokenizerBase, folder: str | Path) -> None:
    """Save the tokenizer's files and its recipe beside a fine-tuned model, so `evaluate` rebuilds it exactly:
    the very files the recipe read (SentencePiece model, vocab.txt, tokenizer.json), under their own names."""
    tokenizer.save_pretrained(str(folder))
    recipe = dict(tokenizer.jglue_recipe)
    recipe.pop("build_tiny_spm", None)
    if getattr(tokenizer, "jglue_layout", None) is not None:  # the layout it used, wherever it was read from
        recipe["layout"] = dict(tokenizer.jglue_layout)
    for key, source in getattr(tokenizer, "jglue_files", {}).items():
        name = Path(source).name
        if not Path(folder, name).is_file() or Path(folder, name).read_bytes() != Path(source).read_bytes():
            write_bytes_atomic(Path(folder, name), Path(source).read_bytes())
        recipe[key] = name
    if recipe["recipe"] == "auto":  # AutoTokenizer finds what save_pretrained wrote
        recipe.pop("special_tokens", None)
    write_text_atomic(Path(folder, RECIPE_FILE), json.dumps(recipe, indent=2, ensure_ascii=False) + "\n")


def tokenizer_fingerprint(tokenizer: PreTrainedTokenizerBase) -> str:
    """A short hash of what the tokenizer does: its recipe (pre-segmentation included), vocabulary and the ids of
    a probe sentence. Keys that only say where the files came from are left out, so a saved copy hashes like the
    original. Computed once per tokenizer object (hashing the vocabulary takes a moment)."""
    cached = getattr(tokenizer, "jglue_fingerprint", None)
    if cached is not None:
        return cached
    from jglue_bench.tokenization.layout import encode_pairs

    digest = hashlib.sha256()
    behaviour = {
        key: value
        for key, value in tokenizer.jglue_recipe.items()
        if key not in LOCATION_KEYS and key != "jumanpp_command"
    }
    if getattr(tokenizer, "jglue_layout", None) is not None:  # as save_recipe writes it, so a saved copy hashes alike
        behaviour["layout"] = dict(tokenizer.jglue_layout)
    digest.update(json.dumps(behaviour, sort_keys=True, default=str).encode())
    digest.update(json.dumps(sorted(tokenizer.get_vocab().items())).encode())
    digest.update(json.dumps(encode_pairs(tokenizer, [FINGERPRINT_PROBE], None, 512, False)["input_ids"]).encode())
    tokenizer.jglue_fingerprint = digest.hexdigest()[:16]
    return tokenizer.jglue_fingerprint


def _looks_like_path(source: str) -> bool:
    """Hub ids are `org/name`; anything absolute, relative or home-based is meant as a local folder."""
    return source.startswith(("/", ".", "~")) or source.count("/") > 1 or "\\" in source


def _plain(value: Any) -> dict[str, Any]:
    """A plain dict (the recipe is stored in records and JSON files), from a dict or an OmegaConf node."""
    return OmegaConf.to_container(value, resolve=True) if isinstance(value, DictConfig) else dict(value)


def _special_tokens(recipe: Mapping[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in dict(recipe.get("special_tokens") or {}).items()}
