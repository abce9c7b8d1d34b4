"""What a model's tokenizer makes of a text (`jglue-bench tokenize`): the ids exactly as training makes them
(`layout.encode_pairs`: special tokens and pre-segmentation included), their tokens, and each token's
character offsets in the ORIGINAL text (`alignment.token_char_spans`, run on each text alone and laid over the
non-special positions of the ids). It needs the tokenizer only, so torch is never imported."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from jglue_bench.errors import UserError

NO_LIMIT = 100_000  # tokens: a max_length no text reaches, so encode_pairs cuts nothing
NO_TOKEN_TYPES = ("distilbert", "modernbert")  # their forward takes no token_type_ids, whatever the config says


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


def token_offsets(
    tokenizer, ids: Sequence[int], text: str, pair: str | None
) -> tuple[list[list[int] | None], list[int | None]]:
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
        placed = list(ids[position : position + len(spans)])
        if placed != [token_id for token_id, _, _ in spans]:
            # encode_pairs and token_char_spans tokenized the text differently: the offsets would be wrong
            raise RuntimeError(
                f"token offsets do not line up with the ids of {part!r}: ids {placed}, aligned "
                f"{[token_id for token_id, _, _ in spans]}"
            )
        for offset, (_, start, end) in enumerate(spans, position):
            offsets[offset], sequence[offset] = [start, end], index
        position += len(spans) + len(template.between)
    return offsets, sequence


def read_input_file(path: Path) -> list[tuple[str, str | None]]:
    """One text per line, or a pair as two tab-separated texts; blank lines are skipped. The whole file is
    checked before any output, so a bad line never leaves half an answer."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise UserError(
            f"--input {path} does not exist; expected a UTF-8 text file with one text, or two "
            f"tab-separated texts, per line."
        )
    try:
        lines = path.read_text(encoding="utf-8-sig").split("\n")
    except UnicodeDecodeError as error:
        line = path.read_bytes()[: error.start].count(b"\n") + 1
        raise UserError(f"{path}, line {line}: not UTF-8 text ({error.reason}).") from None
    rows = []
    for number, line in enumerate(lines, 1):
        line = line.removesuffix("\r")  # a file written on Windows
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) > 2:
            raise UserError(
                f"{path}, line {number}: expected one text or two tab-separated texts, found "
                f"{len(fields)} tab-separated fields."
            )
        rows.append((fields[0], fields[1] if len(fields) == 2 else None))
    return rows
