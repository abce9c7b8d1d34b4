"""Tokenizer recipes per model family.

A recipe names the tokenizer class and its settings; the files (vocab.txt, spiece.model) come from the model's
folder or hub repo. Building from a recipe matters because plain `AutoTokenizer.from_pretrained` gets these
models wrong: LINE DistilBERT's hub repo ships custom code that breaks on transformers 5, BandaiNamco's has no
tokenizer config (it would silently fall back to the wrong word splitter), and Laboro's needs keep_accents.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, Mapping

from omegaconf import DictConfig, OmegaConf
from transformers import AlbertTokenizer, BertJapaneseTokenizer, PreTrainedTokenizerBase

from jglue_bench.errors import UserError
from jglue_bench.tokenization.tiny import build_tiny_spm

RECIPE_FILE = "jglue_bench_tokenizer.json"
FINGERPRINT_PROBE = "ＪＧＬＵＥは日本語の評価ベンチマークです。ｶﾞｲﾄﾞで東京タワーへ行った!"
RECIPES = ("mecab_sentencepiece", "mecab_wordpiece", "albert_sentencepiece")
LOCATION_KEYS = ("build_tiny_spm", "spm_file", "vocab_file")


def load_tokenizer(model_cfg: Mapping[str, Any], cache_dir: str | Path | None = None) -> PreTrainedTokenizerBase:
    """Build the tokenizer the model was pre-trained with, from its recipe (`model.tokenizer`)."""
    recipe = _plain(model_cfg["tokenizer"])
    kind = recipe.get("recipe")
    if kind not in RECIPES:
        raise UserError(f"model.tokenizer.recipe is {kind!r}; expected one of {', '.join(RECIPES)}.")
    if kind == "mecab_sentencepiece":
        spm_file = _spm_file(model_cfg, recipe, cache_dir)
        tokenizer = BertJapaneseTokenizer(
            vocab_file=None, spm_file=str(spm_file), word_tokenizer_type="mecab",
            mecab_kwargs={"mecab_dic": recipe.get("mecab_dic", "unidic_lite")},
            subword_tokenizer_type="sentencepiece", do_lower_case=bool(recipe.get("do_lower_case", True)),
            **_special_tokens(recipe))
    elif kind == "mecab_wordpiece":
        vocab_file = model_file(model_cfg, recipe.get("vocab_file", "vocab.txt"))
        tokenizer = BertJapaneseTokenizer(
            vocab_file=str(vocab_file), word_tokenizer_type="mecab",
            mecab_kwargs={"mecab_dic": recipe.get("mecab_dic", "ipadic")},
            subword_tokenizer_type="wordpiece", do_lower_case=bool(recipe.get("do_lower_case", False)),
            **_special_tokens(recipe))
    else:
        spm_file = model_file(model_cfg, recipe.get("spm_file", "spiece.model"))
        # keep_accents matters: without it NFKD strips dakuten and が becomes か.
        tokenizer = AlbertTokenizer.from_pretrained(
            str(Path(spm_file).parent), keep_accents=bool(recipe.get("keep_accents", True)),
            do_lower_case=bool(recipe.get("do_lower_case", False)), **_special_tokens(recipe))
    tokenizer.jglue_recipe = recipe
    return tokenizer


def model_file(model_cfg: Mapping[str, Any], filename: str) -> Path:
    """A file of the model: an absolute path as it is; else from the model's local folder, else from the hub
    (cached; offline when HF_HUB_OFFLINE=1)."""
    if Path(str(filename)).expanduser().is_absolute():
        path = Path(str(filename)).expanduser()
        if not path.is_file():
            raise UserError(f"{path} does not exist (model '{model_cfg.get('name')}' names it in its tokenizer recipe).")
        return path
    source = model_cfg.get("pretrained")
    if source is None:
        raise UserError(f"model '{model_cfg.get('name')}' has no `pretrained` folder or hub id to read {filename} from.")
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
        raise UserError(f"Could not get {filename} of '{source}' (revision {model_cfg.get('revision')}) from the "
                        f"Hugging Face hub: {error}. Offline, point model.pretrained at a local folder.") from error


def save_recipe(tokenizer: PreTrainedTokenizerBase, folder: str | Path) -> None:
    """Save the tokenizer's files and its recipe beside a fine-tuned model, so `evaluate` rebuilds it exactly."""
    tokenizer.save_pretrained(str(folder))
    recipe = dict(tokenizer.jglue_recipe)
    recipe.pop("build_tiny_spm", None)
    if recipe["recipe"] != "mecab_wordpiece":
        recipe["spm_file"] = _saved_spm_name(folder)
    Path(folder, RECIPE_FILE).write_text(json.dumps(recipe, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def tokenizer_fingerprint(tokenizer: PreTrainedTokenizerBase) -> str:
    """A short hash of what the tokenizer does: its recipe, vocabulary and the ids of a probe sentence.
    Keys that only say where the files came from are left out, so a saved copy hashes like the original.
    Computed once per tokenizer object (hashing the vocabulary takes a moment)."""
    cached = getattr(tokenizer, "jglue_fingerprint", None)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    behaviour = {key: value for key, value in tokenizer.jglue_recipe.items() if key not in LOCATION_KEYS}
    digest.update(json.dumps(behaviour, sort_keys=True, default=str).encode())
    digest.update(json.dumps(sorted(tokenizer.get_vocab().items())).encode())
    digest.update(json.dumps(tokenizer(FINGERPRINT_PROBE)["input_ids"]).encode())
    tokenizer.jglue_fingerprint = digest.hexdigest()[:16]
    return tokenizer.jglue_fingerprint


def _spm_file(model_cfg: Mapping[str, Any], recipe: Mapping[str, Any], cache_dir: str | Path | None) -> Path:
    if recipe.get("build_tiny_spm"):
        return build_tiny_spm(Path(cache_dir or Path.home() / ".cache" / "jglue-bench").expanduser())
    return model_file(model_cfg, recipe.get("spm_file", "spiece.model"))


def _looks_like_path(source: str) -> bool:
    """Hub ids are `org/name`; anything absolute, relative or home-based is meant as a local folder."""
    return source.startswith(("/", ".", "~")) or source.count("/") > 1 or "\\" in source


def _plain(value: Any) -> dict[str, Any]:
    """A plain dict (the recipe is stored in records and JSON files), from a dict or an OmegaConf node."""
    return OmegaConf.to_container(value, resolve=True) if isinstance(value, DictConfig) else dict(value)


def _special_tokens(recipe: Mapping[str, Any]) -> dict[str, str]:
    return {key: str(value) for key, value in dict(recipe.get("special_tokens") or {}).items()}


def _saved_spm_name(folder: str | Path) -> str:
    models = sorted(path.name for path in Path(folder).glob("*.model"))
    if not models:
        raise RuntimeError(f"save_pretrained wrote no SentencePiece model into {folder}")
    return models[0]
