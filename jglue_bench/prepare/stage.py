"""The prepare stage, the one way every command gets its data: config + split -> examples, features and their
provenance (the files with their sha256, the tokenizer fingerprint, a feature key).

`train`, `evaluate`, `predict`, `oracle`, `data stats` and `data validate` all come through here, so a file is
read, validated and featurized the same way whichever command asks. The data layer (`data/`) finds files and
reads rows; the kind modules (`tasks/`) turn rows into examples and examples into features.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from tqdm.auto import tqdm

from jglue_bench.data.readers import LINES, Row, read_columns, read_lines, read_rows
from jglue_bench.data.sources import SplitFile, locate_file
from jglue_bench.errors import DataError, UserError
from jglue_bench.prepare.features import FeatureTable, examples_from_table, examples_table, read_arrow, write_arrow
from jglue_bench.support.gc_pause import collector_paused
from jglue_bench.tasks import TaskSpec, kind_module
from jglue_bench.tasks.common import Example, check_unique_ids
from jglue_bench.tasks.spec import GOLD_FIELDS

FEATURIZE_VERSION = 1  # bump when featurization changes what it produces: it is part of every feature key
EXAMPLES_VERSION = 3  # likewise for reading and validating rows into examples, and how they are stored


@dataclass
class SplitData:
    """The validated examples of one split, and where they came from."""

    split: str
    examples: list[Example]
    file: SplitFile
    total: int  # examples in the split before any max_*_samples limit
    read_seconds: float = 0.0


@dataclass
class PreparedSplit(SplitData):
    """A split with its model features (QA: one per window), the key they are known by, and whether they came
    from the feature cache."""

    features: Sequence[dict] = field(default_factory=list)
    feature_key: str = ""
    seconds: float = 0.0  # featurizing, or loading the cached features
    cache_hit: bool = False

    def preprocessing(self) -> dict[str, Any]:
        return {
            "cache_hit": self.cache_hit,
            "featurize_seconds": round(self.seconds, 3),
            "read_seconds": round(self.read_seconds, 3),
            "feature_key": self.feature_key,
        }


def task_spec(cfg: DictConfig | Mapping[str, Any]) -> TaskSpec:
    """The checked TaskSpec of a composed config's `task`."""
    task = cfg["task"]
    return TaskSpec.from_config(
        OmegaConf.to_container(task, resolve=True) if isinstance(task, DictConfig) else dict(task)
    )


def resolve_labels(spec: TaskSpec, data_cfg: Mapping[str, Any], lenient: bool = False) -> TaskSpec:
    """A classification task without `labels` gets the sorted label values of its train file (numbers in numeric
    order); the record and the saved config keep them, so a saved model maps its outputs the same way.
    The train file is checked first as every file is (it opens, has the task's columns, has rows), so a file that
    cannot be read is named as such, never as a task without labels. `lenient` skips rows whose label cannot be
    read (`data validate` reports them when it reads the split); when no row's can, the first such row is the
    error."""
    if spec.kind != "classification" or spec.labels is not None:
        return spec
    if "train" not in spec.files:
        raise UserError(f"task '{spec.name}' lists no `labels` and has no train file to infer them from.")
    kind = kind_module(spec.kind)
    skipped: list[DataError] = []
    rows, split_file = _rows(spec, data_cfg, "train", skipped.append if lenient else None)
    values = set()
    for row in rows:
        try:
            values.add(kind.raw_label(row, spec))
        except DataError as error:
            if not lenient:
                raise
            skipped.append(error)
    if not values and skipped:
        raise skipped[0]
    ordered = sorted(values, key=lambda value: (0, int(value), "") if value.lstrip("-").isdigit() else (1, 0, value))
    if len(ordered) < 2:
        raise DataError.at(
            split_file.path,
            None,
            spec.fields["label"],
            "at least two different labels in the train file (or `labels:` in the task YAML)",
            found=ordered,
        )
    return spec.with_labels(tuple(ordered))


def read_split(
    spec: TaskSpec,
    data_cfg: Mapping[str, Any],
    split: str,
    limit: int | None = None,
    labelled: bool = True,
    problems: list[DataError] | None = None,
) -> SplitData:
    """Every example of `split`, each validated (even past `limit`), then the first `limit` kept.

    The first bad record raises its DataError; with a `problems` list, every bad record is added to it instead
    and the good ones are kept (`data validate`)."""
    started = time.perf_counter()
    # Found and hashed once: the hash keys the examples cache, and the rows are read from the same file.
    located = (
        None
        if spec.hf_dataset is not None
        else locate_file(spec.files[_file_split(spec, split)], spec.source, data_cfg)
    )
    cache = _examples_cache(spec, data_cfg, split, labelled, located) if problems is None else None
    if cache is not None and cache.is_file():  # these bytes were read and validated before, the same way
        examples, extra = examples_from_table(read_arrow(cache), Example)
        split_file = replace(located, split=split, extra={**(located.extra or {}), **extra})
        return SplitData(
            split, examples[:limit] if limit else examples, split_file, len(examples), time.perf_counter() - started
        )
    kind = kind_module(spec.kind)
    report = problems.append if problems is not None else None
    rows, split_file = _split_rows(spec, data_cfg, split, report, located)
    examples = []
    # disable=None: a bar on a terminal only; `with`, so the bar is gone before an error message is printed
    with (
        collector_paused(),
        tqdm(rows, desc=f"read {spec.name} {split}", unit=" rows", leave=False, disable=None) as bar,
    ):
        for row in bar:
            try:
                examples.append(kind.to_example(row, spec, labelled=labelled))
            except DataError as error:
                if report is None:
                    raise
                report(error)
    id_field = spec.fields.get("id") or ("id" if spec.kind == "extractive_qa" else None)
    check_unique_ids(examples, split_file.path, id_field, report)
    if cache is not None and not problems:
        write_arrow(
            examples_table(
                examples,
                {"carve": (split_file.extra or {}).get("carve")} if (split_file.extra or {}).get("carve") else {},
            ),
            cache,
        )
    return SplitData(
        split, examples[:limit] if limit else examples, split_file, len(examples), time.perf_counter() - started
    )


def _examples_cache(
    spec: TaskSpec, data_cfg: Mapping[str, Any], split: str, labelled: bool, located: SplitFile | None
) -> Path | None:
    """Where the split's validated examples are cached, keyed by its file's hash; None when the cache is off or
    the data is a Hugging Face dataset (hashed only by reading it)."""
    if not (data_cfg.get("cache", True) and data_cfg.get("cache_dir")) or located is None:
        return None
    parts = [
        located.sha256,
        split,
        spec.carve if _is_carved(spec, split) else None,
        labelled,
        spec.kind,
        dict(spec.fields),
        spec.labels,
        spec.label_range,
        EXAMPLES_VERSION,
    ]
    return Path(str(data_cfg["cache_dir"])).expanduser() / "examples" / f"{content_key(parts)}.arrow"


def _carved_splits(spec: TaskSpec) -> list[str]:
    return [name for name in ("valid", "test") if name in (spec.carve or {})]


def _is_carved(spec: TaskSpec, split: str) -> bool:
    """Whether `split`'s rows are a part of the train file cut by `split:` (a carved split, or what train keeps)."""
    carved = _carved_splits(spec)
    return split in carved or (split == "train" and bool(carved))


def _file_split(spec: TaskSpec, split: str) -> str:
    """The split whose file holds `split`'s rows: the split itself, or train for a carved split."""
    if split not in spec.files and split not in _carved_splits(spec):
        raise UserError(f"task '{spec.name}' has no {split!r} split; its splits are {', '.join(spec.split_names())}.")
    return "train" if _is_carved(spec, split) else split


def needed_columns(spec: TaskSpec, to_predict: bool = False) -> list[tuple[str, str]]:
    """(fields key, column) of every column a file of the task must have. Rows to predict need neither the gold
    columns nor the id (without it, a row's number is its id); SQuAD's title is optional."""
    optional = ("title",) + ((*GOLD_FIELDS, "id") if to_predict else ())
    return [
        (key, column)
        for key, columns in spec.fields.items()
        if key not in optional
        for column in ([columns] if isinstance(columns, str) else columns)
    ]


def _check_columns(spec: TaskSpec, columns: list[str] | None, split_file: SplitFile, to_predict: bool = False) -> None:
    """A file that has column names (a CSV or TSV header, a Parquet schema, a dataset's features) must have every
    column the task's `fields` names; the missing ones are named together."""
    if columns is None:
        return
    missing = [(key, column) for key, column in needed_columns(spec, to_predict) if column not in columns]
    if not missing:
        return
    header = split_file.format in ("csv", "tsv")
    if len(missing) == 1:
        expected = f"a column named '{missing[0][1]}' (fields.{missing[0][0]} of task '{spec.name}')"
    else:
        expected = (
            "columns named "
            + ", ".join(f"'{column}' (fields.{key})" for key, column in missing)
            + f" of task '{spec.name}'"
        )
    raise DataError.at(
        split_file.path,
        1 if header else None,
        missing[0][1],
        expected,
        found_text=f"{'a header of' if header else 'columns'} {', '.join(columns)}",
    )


def file_rows(spec: TaskSpec, split_file: SplitFile, report=None, to_predict: bool = False) -> list[Row]:
    """The rows of one file, checked in the order of their causes: the file opens as its format, then it has the
    task's columns, then each row reads (a bad one raises, or goes to `report` and is left out), then there is at
    least one. So a file with the wrong columns is named for them, not for the rows or labels it then lacks."""
    if split_file.format == LINES:
        return _no_empty_file(_text_lines(spec, split_file), split_file)
    skipped: list[DataError] = []

    def skip(error: DataError) -> None:  # remembered, so a file of bad rows is not also called empty
        skipped.append(error)
        report(error)

    reading = read_rows(split_file.path, split_file.format, skip if report else None)  # opens and decodes it
    _check_columns(spec, read_columns(split_file.path, split_file.format), split_file, to_predict)
    rows = list(reading)
    return rows if skipped else _no_empty_file(rows, split_file)


def examples_to_predict(spec: TaskSpec, split_file: SplitFile) -> tuple[list[Example], str | None]:
    """The examples of a file of new rows (labels not needed), and a note when their ids are row numbers: new
    data seldom has the id column the task's own files have, so without it each row's number is its id."""
    rows = file_rows(spec, split_file, to_predict=True)
    id_field, note = spec.fields.get("id"), None
    if id_field is not None and not any(id_field in row.values for row in rows):
        spec = replace(spec, fields={key: value for key, value in spec.fields.items() if key != "id"})
        has_none = (
            "is plain text"
            if split_file.format == LINES
            else f"has no '{id_field}' column (fields.id of task '{spec.name}')"
        )
        note = f"note: {split_file.path} {has_none}, so each prediction's id is its row number"
    kind = kind_module(spec.kind)
    examples = [kind.to_example(row, spec, labelled=False) for row in rows]
    check_unique_ids(examples, split_file.path, spec.fields.get("id"))
    return examples, note


def _text_lines(spec: TaskSpec, split_file: SplitFile) -> list[Row]:
    """A .txt file's lines as the rows of a task that reads one text."""
    texts = spec.fields.get("texts") or []
    if len(texts) != 1:
        reads = ", ".join(column for _, column in needed_columns(spec, to_predict=True))
        raise DataError.at(
            split_file.path,
            None,
            None,
            f"a file with the columns task '{spec.name}' reads ({reads}): CSV, TSV, JSON Lines, JSON or Parquet",
            found_text="plain text, which holds one text per line (for tasks that read one text)",
        )
    return list(read_lines(split_file.path, texts[0]))


def _no_empty_file(rows: list[Row], split_file: SplitFile) -> list[Row]:
    if not rows:
        header = split_file.format in ("csv", "tsv") and read_columns(split_file.path, split_file.format)
        raise DataError.at(
            split_file.path, None, None, "at least one row", found_text="a header and no rows" if header else "no rows"
        )
    return rows


def prepare_split(
    spec: TaskSpec,
    data_cfg: Mapping[str, Any],
    split: str,
    tokenizer,
    max_seq_length: int,
    with_token_types: bool,
    limit: int | None = None,
    labelled: bool = True,
) -> PreparedSplit:
    """read_split, then the features of the kind for this tokenizer and length (from the cache when it has them)."""
    data = read_split(spec, data_cfg, split, limit, labelled)
    return featurize_split(data, spec, tokenizer, max_seq_length, with_token_types, data_cfg)


def featurize_split(
    data: SplitData,
    spec: TaskSpec,
    tokenizer,
    max_seq_length: int,
    with_token_types: bool,
    data_cfg: Mapping[str, Any] | None = None,
) -> PreparedSplit:
    """The split's features. With data.cache (the default) they are looked up in data.cache_dir/features by
    their key, and stored there after featurizing; a sweep's cells and seeds tokenize each split once."""
    started = time.perf_counter()
    key = feature_key(data, spec, tokenizer, max_seq_length, with_token_types)
    data_cfg = data_cfg or {}
    path = None
    if data_cfg.get("cache", True) and data_cfg.get("cache_dir"):
        path = Path(str(data_cfg["cache_dir"])).expanduser() / "features" / f"{key}.arrow"
    hit = path is not None and path.is_file()
    if hit:
        features = FeatureTable.load(path)
    else:
        kind = kind_module(spec.kind)
        features = FeatureTable.from_rows(
            kind.featurize(data.examples, tokenizer, spec, max_seq_length, with_token_types)
        )
        if path is not None:
            features.save(path)
    return PreparedSplit(
        data.split,
        data.examples,
        data.file,
        data.total,
        data.read_seconds,
        features,
        key,
        time.perf_counter() - started,
        hit,
    )


def feature_key(data: SplitData, spec: TaskSpec, tokenizer, max_seq_length: int, with_token_types: bool) -> str:
    """What the features depend on: the data's content, the tokenizer, the task's reading of the data, the length
    and the featurization code. Equal keys mean equal features."""
    from jglue_bench.tokenization import tokenizer_fingerprint

    parts = {
        "sha256": data.file.sha256,
        "carve": (data.file.extra or {}).get("carve"),
        "split": data.split,
        "examples": len(data.examples),
        "tokenizer": tokenizer_fingerprint(tokenizer),
        "kind": spec.kind,
        "fields": dict(spec.fields),
        "labels": spec.labels,
        "label_range": spec.label_range,
        "qa": dict(spec.qa),
        "max_seq_length": max_seq_length,
        "token_types": with_token_types,
        "version": FEATURIZE_VERSION,
    }
    return content_key(parts)


def content_key(parts: Any) -> str:
    """A cache entry's name: the hash of everything its content depends on."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _split_rows(
    spec: TaskSpec, data_cfg: Mapping[str, Any], split: str, report=None, located: SplitFile | None = None
) -> tuple[list[Row], SplitFile]:
    """The rows of `split`: its own file, or its part of the train file when `split:` carves it out."""
    _file_split(spec, split)  # an unknown split is named here
    if not _is_carved(spec, split):
        return _rows(spec, data_cfg, split, report, located)
    carve = spec.carve
    rows, train_file = _rows(spec, data_cfg, "train", report, located)
    parts = carve_rows(len(rows), carve)
    chosen = [rows[i] for i in parts[split]]
    settings = {name: carve[name] for name in ("valid", "test", "seed") if name in carve}
    return chosen, replace(
        train_file,
        split=split,
        extra={**(train_file.extra or {}), "carve": {"from": "train", **settings, "rows": len(chosen)}},
    )


def carve_rows(count: int, carve: Mapping[str, Any]) -> dict[str, list[int]]:
    """Row indices of train, valid and test when `split:` carves valid/test out of `count` train rows: a seeded
    shuffle, valid first, then test, the rest train (each kept in file order)."""
    order = list(range(count))
    random.Random(carve.get("seed", 42)).shuffle(order)
    parts, cursor = {}, 0
    for name in ("valid", "test"):
        size = round(count * carve[name]) if name in carve else 0
        if name in carve and not 0 < size < count:
            raise UserError(
                f"split.{name}: {carve[name]} of {count} train rows leaves {size} rows; use more data or "
                f"another fraction."
            )
        parts[name] = sorted(order[cursor : cursor + size])
        cursor += size
    parts["train"] = sorted(order[cursor:])
    return parts


def _rows(
    spec: TaskSpec, data_cfg: Mapping[str, Any], split: str, report=None, located: SplitFile | None = None
) -> tuple[list[Row], SplitFile]:
    entry = spec.files[split]
    if spec.hf_dataset is not None:
        from jglue_bench.data.hub_datasets import read_hf_split

        rows, split_file = read_hf_split(
            spec.hf_dataset, entry.path, split, data_cfg.get("cache_dir") or "~/.cache/jglue-bench"
        )
        _check_columns(spec, list(rows[0].values) if rows else None, split_file)  # a dataset's rows share features
        return _no_empty_file(rows, split_file), split_file
    split_file = located or locate_file(entry, spec.source, data_cfg)
    return file_rows(spec, split_file, report), split_file
