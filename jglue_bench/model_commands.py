"""`jglue-bench tokenize` and `jglue-bench models`: look at a model's tokenizer, and list the model configs.

`tokenize` shows exactly what training feeds the model: the ids come from `layout.encode_pairs` (the function the
tasks call, special tokens and pre-segmentation included), and each token's character offsets in the ORIGINAL
text come from `alignment.token_char_spans`, run on each text alone and laid over the non-special positions of
the ids. It needs the tokenizer only, so torch is never imported.

`models` reads the model YAMLs straight from the config folder (no Hydra, no torch) and counts each model's
rows in the published CSVs; only a model whose `pretrained` is a local folder with a config.json has its
parameters counted, by building the architecture on torch's meta device (no memory, no weights read).
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Mapping, Sequence

from jglue_bench.errors import UserError

NO_LIMIT = 100_000  # tokens: a max_length no text reaches, so encode_pairs cuts nothing
NO_TOKEN_TYPES = ("distilbert", "modernbert")  # their forward takes no token_type_ids, whatever the config says


# ---------------------------------------------------------------------------------------------------- tokenize


def run_tokenize(args) -> None:
    inputs = _inputs(args)  # read and checked first: a bad line is reported before any model work
    model_cfg, cache_dir = model_choice(args.model)
    from jglue_bench.tokenization import load_tokenizer

    tokenizer = load_tokenizer(model_cfg, cache_dir)
    with_token_types = uses_token_types(model_cfg)
    for text, pair in inputs:
        print(json.dumps(tokenize_row(tokenizer, text, pair, with_token_types), ensure_ascii=False))


def model_choice(choice: str) -> tuple[Any, Path]:
    """`NAME[=PATH]` (as `oracle --model` takes it) -> the composed model config and the cache folder. PATH is
    set after composing rather than as a Hydra override, so any folder name works (spaces, `=`, commas)."""
    from omegaconf import open_dict

    from jglue_bench.config import compose_config

    name, _, path = choice.partition("=")
    cfg = compose_config([f"model={name}"])  # an unknown NAME is one line with a did-you-mean
    if path:
        folder = Path(path).expanduser()
        if not folder.is_dir():
            raise UserError(f"--model {choice}: {path} is not a folder; expected a local folder holding the "
                            f"model's files (config.json and its tokenizer files).")
        with open_dict(cfg):
            cfg.model.pretrained = str(folder)
            cfg.model.revision = None  # a local folder has no revision
    return cfg.model, Path(str(cfg.data.cache_dir)).expanduser()


def uses_token_types(model_cfg: Mapping[str, Any]) -> bool:
    """Whether the model reads token types: as training decides it (modeling.forward_input_names), from
    config.json's type_vocab_size; False when the model has no config.json (the tiny model: built at random)."""
    from jglue_bench.tokenization.recipes import model_file

    if model_cfg.get("pretrained") is None:
        return False
    try:
        path = model_file(model_cfg, "config.json")
    except UserError:
        return False
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise UserError(f"{path} is not valid JSON: {error}") from None
    return int(config.get("type_vocab_size") or 0) >= 2 and config.get("model_type") not in NO_TOKEN_TYPES


def tokenize_row(tokenizer, text: str, pair: str | None, with_token_types: bool) -> dict[str, Any]:
    """One output line: the ids as training makes them, their tokens, and each token's offsets."""
    from jglue_bench.tokenization.layout import encode_pairs

    encoded = encode_pairs(tokenizer, [text], None if pair is None else [pair], NO_LIMIT, with_token_types)
    ids = list(encoded["input_ids"][0])
    offsets, sequence = token_offsets(tokenizer, ids, text, pair)
    row: dict[str, Any] = {"text": text}
    if pair is not None:
        row["pair"] = pair
    row.update(tokens=tokenizer.convert_ids_to_tokens(ids), input_ids=ids)
    if with_token_types and "token_type_ids" in encoded:
        row["token_type_ids"] = list(encoded["token_type_ids"][0])
    row["offsets"] = offsets
    if pair is not None:
        row["sequence"] = sequence
    return row


def token_offsets(tokenizer, ids: Sequence[int], text: str,
                  pair: str | None) -> tuple[list[list[int] | None], list[int | None]]:
    """[start, end] in its own text for every position of `ids` (None at special tokens), and which text that
    is (0, 1, None). Each text's tokens sit in one run: the first after the template's leading specials, the
    second after the first and the specials between (the tokenizer's own layout, read by pair_template)."""
    from jglue_bench.tokenization.alignment import token_char_spans
    from jglue_bench.tokenization.layout import pair_template

    template = pair_template(tokenizer)
    offsets: list[list[int] | None] = [None] * len(ids)
    sequence: list[int | None] = [None] * len(ids)
    position = len(template.before)
    for index, part in enumerate([text] if pair is None else [text, pair]):
        spans = token_char_spans(tokenizer, part)
        placed = list(ids[position:position + len(spans)])
        if placed != [token_id for token_id, _, _ in spans]:
            # encode_pairs and token_char_spans tokenized the text differently: the offsets would be wrong
            raise RuntimeError(f"token offsets do not line up with the ids of {part!r}: ids {placed}, aligned "
                               f"{[token_id for token_id, _, _ in spans]}")
        for offset, (_, start, end) in enumerate(spans, position):
            offsets[offset], sequence[offset] = [start, end], index
        position += len(spans) + len(template.between)
    return offsets, sequence


def _inputs(args) -> list[tuple[str, str | None]]:
    """(text, pair or None) from TEXT [--pair TEXT], or from each line of --input."""
    if args.input is not None:
        if args.text is not None or args.pair is not None:
            raise UserError("give either TEXT (with --pair) or --input FILE, not both.")
        return read_input_file(args.input)
    if args.text is None:
        raise UserError("nothing to tokenize: give a TEXT (and --pair TEXT for a pair), or --input FILE with one "
                        "text, or two tab-separated texts, per line.")
    return [(args.text, args.pair)]


def read_input_file(path: Path) -> list[tuple[str, str | None]]:
    """One text per line, or a pair as two tab-separated texts; blank lines are skipped. The whole file is
    checked before any output, so a bad line never leaves half an answer."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(f"--input {path} does not exist; expected a UTF-8 text file with one text, or two "
                        f"tab-separated texts, per line.")
    try:
        lines = path.read_text(encoding="utf-8-sig").split("\n")
    except UnicodeDecodeError as error:
        line = path.read_bytes()[:error.start].count(b"\n") + 1
        raise UserError(f"{path}, line {line}: not UTF-8 text ({error.reason}).") from None
    rows = []
    for number, line in enumerate(lines, 1):
        line = line.removesuffix("\r")  # a file written on Windows
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) > 2:
            raise UserError(f"{path}, line {number}: expected one text or two tab-separated texts, found "
                            f"{len(fields)} tab-separated fields.")
        rows.append((fields[0], fields[1] if len(fields) == 2 else None))
    return rows


# ------------------------------------------------------------------------------------------------------ models


MODEL_COLUMNS = ("name", "family", "recipe", "pre-segment", "parameters", "licence", "hub id / path",
                 "published rows")


def run_models(args) -> None:
    rows = model_rows()
    if args.json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False))
        return
    from jglue_bench.bench.common import markdown_table

    print(markdown_table(MODEL_COLUMNS, [_table_cells(row) for row in rows],
                         right_aligned=[False] * 4 + [True] + [False] * 2 + [True]))
    families = {row["family"] for row in rows}
    print(f"\n{len(rows)} models in {len(families)} families. Parameters: the bare encoder, from config.json in a "
          f"local folder, or (shape) from the config's shape: block; - where neither is here. "
          f"`jglue-bench train model=NAME`, `jglue-bench tokenize --model NAME[=FOLDER] TEXT`.")


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
        rows.append({"name": path.stem, "family": model.get("family"), "recipe": tokenizer.get("recipe"),
                     "pre_segment": tokenizer.get("pre_segment"),
                     **dict(zip(("parameters", "parameters_from"), local_parameters(model))),
                     "license": model.get("license"), "pretrained": model.get("pretrained"),
                     "published": model.get("published"),
                     "published_rows": counts.get(model.get("published"), 0)})
    return rows


def published_counts() -> Counter:
    """Rows per `model` id in the published CSVs the package ships (the ones `report --published` reads)."""
    from jglue_bench.published import load_published, packaged_dir

    return Counter(score.model for score in load_published(packaged_dir()))


def local_parameters(model: Mapping[str, Any]) -> tuple[int | None, str | None]:
    """The parameter count of the bare encoder and where its architecture came from: config.json of a local
    `pretrained` folder, else the config's `shape:` block; (None, None) otherwise (a hub id is not fetched just
    to be listed)."""
    from jglue_bench.modeling import meta_parameters, model_architecture

    try:
        config, source = model_architecture(model)
        return (meta_parameters(config), source) if config is not None else (None, None)
    except (OSError, ValueError, KeyError, TypeError) as error:  # a config transformers cannot build: list the rest
        import sys

        print(f"note: could not count the parameters of '{model.get('name')}': {str(error).splitlines()[0]}",
              file=sys.stderr)
        return None, None


def _table_cells(row: Mapping[str, Any]) -> list[str]:
    return [row["name"], row["family"] or "-", row["recipe"] or "-", row["pre_segment"] or "-",
            format_parameters(row["parameters"]) + (" (shape)" if row["parameters_from"] == "shape" else ""),
            row["license"] or "-",
            str(row["pretrained"] or "- (random, built offline)"), str(row["published_rows"])]


def format_parameters(count: int | None) -> str:
    if count is None:
        return "-"
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if count >= size:
            return f"{count / size:.1f}{suffix}"
    return str(count)
