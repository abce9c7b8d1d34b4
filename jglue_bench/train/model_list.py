"""The model configs as a list (`jglue-bench models`): name, family, recipe, pre-segmentation, parameters,
licence, where the weights come from and how many published rows `report --published` pairs with each. The
YAMLs are read straight from the config folder (no Hydra); parameters are counted on torch's meta device from
a local config.json, else from the config's `shape:` block (no memory, no weights read)."""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MODEL_COLUMNS = (
    "name",
    "family",
    "recipe",
    "pre-segment",
    "tokenizer proven",
    "parameters",
    "licence",
    "hub id / path",
    "published rows",
)
# How a config's tokenizer is proven (the "tokenizer proven" column):
# - real files: tests/test_real_tokenizers.py runs the config's recipe over the model's own tokenizer files (these
#   folders of $JGLUE_MODELS_DIR, copied from public repositories) against the reference the model declares;
# - random files: tests/test_model_zoo.py and the recipe tests run the same recipe, with the same word splitter and
#   settings, over random files in the family's hub layout (ids against SentencePiece or BertJapaneseTokenizer);
# - none: nothing in the repository runs this recipe with these settings.
REAL_FILE_PROOFS = {
    "bandainamco_distilbert": "bandainamco-mirai-distilbert-base-japanese",
    "tohoku_bert_base_v3": "tohoku-nlp-bert-base-japanese-v3",
    "modernbert_ja_30m": "sbintuitions-modernbert-ja-tokenizer",
    "modernbert_ja_70m": "sbintuitions-modernbert-ja-tokenizer",
    "modernbert_ja_130m": "sbintuitions-modernbert-ja-tokenizer",
    "modernbert_ja_310m": "sbintuitions-modernbert-ja-tokenizer",
    "llm_jp_modernbert_base": "llm-jp-tokenizer-v3",
    "ku_deberta_v2_large": "ku-nlp-deberta-v2-large-japanese",
    "ku_deberta_v2_large_char_wwm": "ku-nlp-deberta-v2-large-japanese-char-wwm",
}
# The tokenizer settings that decide the ids (file names and where they come from do not)
BEHAVIOUR_KEYS = ("recipe", "pre_segment", "mecab_dic", "do_lower_case", "keep_accents")


def model_rows(config_folder: Path | None = None) -> list[dict[str, Any]]:
    """One dict per model YAML in `config_folder` (default: the bundled configs' model/ folder)."""
    import yaml

    from jglue_bench.config import config_dir

    folder = Path(config_folder) if config_folder is not None else config_dir() / "model"
    counts = published_counts()
    rows = []
    for path in sorted(folder.glob("*.yaml")):
        model = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        tokenizer = model.get("tokenizer") or {}
        rows.append(
            {
                "name": path.stem,
                "family": model.get("family"),
                "recipe": tokenizer.get("recipe"),
                "pre_segment": tokenizer.get("pre_segment"),
                "tokenizer_proven": tokenizer_proof(path.stem, tokenizer),
                **dict(zip(("parameters", "parameters_from"), local_parameters(model))),
                "license": model.get("license"),
                "pretrained": model.get("pretrained"),
                "published": model.get("published"),
                "published_rows": counts.get(model.get("published"), 0),
            }
        )
    return rows


def tokenizer_proof(name: str, tokenizer: Mapping[str, Any]) -> str:
    """real files, random files or none (see REAL_FILE_PROOFS)."""
    if name in REAL_FILE_PROOFS:
        return "real files"
    return "random files" if _behaviour(tokenizer) in _randomly_tested_behaviours() else "none"


@functools.cache  # read once: tokenizer_proof asks for every model row
def _randomly_tested_behaviours() -> tuple[dict[str, Any], ...]:
    """The tokenizer settings of the configs the random families (and the tiny model, LINE-like and Laboro-like
    test tokenizers of tests/conftest.py) are built for."""
    import yaml

    from jglue_bench.config import config_dir
    from jglue_bench.train.random_families import FAMILIES

    names = {config for config, _ in FAMILIES.values()} | {"tiny", "line_distilbert", "laboro_distilbert"}
    folder = config_dir() / "model"
    return tuple(
        _behaviour(yaml.safe_load((folder / f"{n}.yaml").read_text(encoding="utf-8"))["tokenizer"]) for n in names
    )


def _behaviour(tokenizer: Mapping[str, Any]) -> dict[str, Any]:
    return {key: tokenizer.get(key) for key in BEHAVIOUR_KEYS}


def published_counts() -> Counter:
    """Rows per `model` id in the published CSVs the package ships (the ones `report --published` reads)."""
    from jglue_bench.records.published import load_published, packaged_dir

    return Counter(score.model for score in load_published(packaged_dir()))


def local_parameters(model: Mapping[str, Any]) -> tuple[int | None, str | None]:
    """The parameter count of the bare encoder and where its architecture came from: config.json of a local
    `pretrained` folder, else the config's `shape:` block; (None, None) otherwise (a hub id is not fetched just
    to be listed)."""
    from jglue_bench.train.modeling import meta_parameters, model_architecture

    try:
        config, source = model_architecture(model)
        return (meta_parameters(config), source) if config is not None else (None, None)
    except (OSError, ValueError, KeyError, TypeError) as error:  # a config transformers cannot build: list the rest
        import sys

        print(
            f"note: could not count the parameters of '{model.get('name')}': {str(error).splitlines()[0]}",
            file=sys.stderr,
        )
        return None, None


def _table_cells(row: Mapping[str, Any]) -> list[str]:
    return [
        row["name"],
        row["family"] or "-",
        row["recipe"] or "-",
        row["pre_segment"] or "-",
        row["tokenizer_proven"],
        format_parameters(row["parameters"]) + (" (shape)" if row["parameters_from"] == "shape" else ""),
        row["license"] or "-",
        str(
            row["pretrained"] or ("- (random, built offline)" if row["family"] != "decoder" else "model.pretrained=...")
        ),
        str(row["published_rows"]),
    ]


def format_parameters(count: int | None) -> str:
    if count is None:
        return "-"
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if count >= size:
            return f"{count / size:.1f}{suffix}"
    return str(count)


def models_markdown(rows: list[dict[str, Any]]) -> str:
    """The list as a Markdown table, and a line saying what the numbers are."""
    from jglue_bench.support.markdown import markdown_table

    table = markdown_table(
        MODEL_COLUMNS, [_table_cells(row) for row in rows], right_aligned=[False] * 5 + [True] + [False] * 2 + [True]
    )
    families = {row["family"] for row in rows}
    return (
        f"{table}\n\n{len(rows)} models in {len(families)} families. Parameters: the bare encoder, from "
        f"config.json in a local folder, or (shape) from the config's shape: block; - where neither is here. "
        f"Tokenizer proven: on the model's real tokenizer files, on random files of its layout, or none (README, "
        f"Models). "
        f"`jglue-bench train model=NAME`, `jglue-bench tokenize --model NAME[=FOLDER] TEXT`."
    )
