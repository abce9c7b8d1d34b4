"""The decoder model configs as a list (`jglue-bench models --decoders`): name, weights, revision, dtype, licence,
tokenizer (fast or slow) and how many published few-shot rows `report --published` pairs with each. They live in
configs/fewshot/model/, apart from the encoder configs, whose tokenizer recipes and heads they do not have."""

from __future__ import annotations

from pathlib import Path
from typing import Any

DECODER_COLUMNS = ("name", "hub id / path", "revision", "dtype", "tokenizer", "licence", "published rows")


def decoder_rows(config_root: Path) -> list[dict[str, Any]]:
    from collections import Counter

    import yaml

    from jglue_bench.records.published import load_published, packaged_dir

    counts = Counter(score.model for score in load_published(packaged_dir()))
    rows = []
    for path in sorted((config_root / "fewshot" / "model").glob("*.yaml")):
        model = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        rows.append(
            {
                "name": path.stem,
                "pretrained": model.get("pretrained"),
                "revision": model.get("revision"),
                "dtype": model.get("dtype"),
                "use_fast_tokenizer": model.get("use_fast_tokenizer", True),
                "license": model.get("license"),
                "published": model.get("published"),
                "published_rows": counts.get(model.get("published"), 0),
            }
        )
    return rows


def decoders_markdown(rows: list[dict[str, Any]]) -> str:
    from jglue_bench.support.markdown import markdown_table

    cells = [
        [
            row["name"],
            str(row["pretrained"] or "- (model.pretrained=FOLDER_OR_HUB_ID)"),
            row["revision"] or "- (unpinned)",
            row["dtype"] or "auto",
            "fast" if row["use_fast_tokenizer"] else "slow",
            row["license"] or "-",
            str(row["published_rows"]),
        ]
        for row in rows
    ]
    table = markdown_table(DECODER_COLUMNS, cells, right_aligned=[False] * 6 + [True])
    return f"{table}\n\n{len(rows)} decoder configs. `jglue-bench fewshot model=NAME preset=... task=...`."
