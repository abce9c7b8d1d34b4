"""Published reference scores: CSV files under results/published/, one number per row, each with its source.

The wheel ships those CSVs as the package `jglue_bench.published_data` (pyproject maps results/published/ there, as
configs/ becomes jglue_bench.configs), so `report --published` finds them from any working directory.

Loading checks the schema (every column, its type, a known task, metric, split and protocol label) and then the claims
themselves: a number outside its metric's range, a negative standard deviation, an exact match above the F1 of
the same evaluation, or the same number claimed twice. Such a row is a transcription mistake, and a comparison
against it would mislead, so loading refuses it. Standard library only: `report` must start fast.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from jglue_bench.errors import DataError, UserError

COLUMNS = ("model", "hub_id", "task", "metric", "value", "std", "data_version", "split", "protocol", "source", "notes")
TASKS = ("marc_ja", "jsts", "jnli", "jsquad", "jcommonsenseqa", "jcola")
# Scores are x100, as the published tables print them. Correlations and MCC can be negative.
METRIC_RANGES = {
    "accuracy": (0.0, 100.0),
    "macro_f1": (0.0, 100.0),
    "balanced_accuracy": (0.0, 100.0),
    "exact_match": (0.0, 100.0),
    "f1": (0.0, 100.0),
    "jasquad_f1": (0.0, 100.0),  # jp-stable's JSQuAD F1 over MeCab words (fewshot/stability_ja)
    "pearson": (-100.0, 100.0),
    "spearman": (-100.0, 100.0),
    "mcc": (-100.0, 100.0),
}
# JCoLA's upstream table scores a test split it does not publish, in-domain and out-of-domain.
SPLITS = ("valid", "test", "valid_out_of_domain", "test_out_of_domain")
MODEL_ID = re.compile(r"[a-z0-9][a-z0-9_]*")
HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")
VERSION = re.compile(r"\d+\.\d+")
# The `protocol` column holds one of these labels (the source's own words go in `notes`), so a report can tell
# whether ours and a published number were made the same way: a delta between two protocols is not a
# reproduction gap. Ours get a label too (report.Score.protocol_label): paper on JGLUE's grid is jglue_grid_fixed_seed.
PROTOCOLS = {
    "jglue_grid_fixed_seed": "JGLUE's grid (lr {2e-5, 3e-5, 5e-5} x epochs {3, 4}), the best cell on dev, one fixed "
    "seed (ours: the paper protocol over that grid)",
    "jglue_grid_unfixed_seed": "JGLUE's grid, the best cell on dev, the seed not fixed (drawn at run time)",
    "wider_grid_max": "the best cell on dev of a grid wider than JGLUE's",
    "other_grid": "the best cell on dev of another grid, part of JGLUE's, or several seeds (ours: such a paper "
    "protocol)",
    "seed_mean": "the mean (± std) over seeds of one setting (ours: the robust protocol)",
    "single_run": "one run of one setting (ours: the single protocol)",
    "unstated": "the source does not say how the model was fine-tuned",
    "human_annotators": "human scores, no model",
}
# A few-shot number is labelled with its setting as our records label it: fewshot/<preset>[/v<prompt version>]/<N>shot
# (e.g. fewshot/stability_ja/v0.3/3shot); report pairs it only with ours of the same label.
FEWSHOT_PROTOCOL = re.compile(r"fewshot/[a-z0-9_]+(/v[0-9.]+)?/[0-9]+shot")


@dataclass(frozen=True)
class PublishedScore:
    """One published number (x100) and where it comes from; `origin` is the file and line it was read from."""

    model: str
    hub_id: str
    task: str
    metric: str
    value: float
    std: float | None
    data_version: str
    split: str
    protocol: str
    source: str
    notes: str
    origin: str = ""  # "FILE, line N": where a problem with this row is reported
    file: str = ""  # the name of the CSV without .csv, e.g. line_distilbert_card: names the table in reports

    def evaluation(self) -> tuple[str, str, str, str, str]:
        """What one evaluation of one model is: the numbers of one such group come from the same runs."""
        return (self.model, self.task, self.data_version, self.split, self.source)


def packaged_dir() -> Path:
    """The published CSVs the package ships: jglue_bench/published_data in a wheel, else results/published/ at
    the top of the checkout (an editable install or a plain checkout)."""
    package = Path(__file__).resolve().parent.parent  # jglue_bench/
    packaged = package / "published_data"
    return packaged if packaged.is_dir() else package.parent / "results" / "published"


def load_published(*paths: str | Path) -> list[PublishedScore]:
    """Every row of each published-scores CSV, or of every *.csv in a folder (in name order); a file named twice
    (a folder and a file in it, or the packaged folder passed again) is read once. Raises DataError for a
    malformed row and UserError for an impossible claim, across all the files together."""
    files: dict[Path, Path] = {}  # resolved -> as named: errors name the file as the user did
    for path in paths:
        for file in csv_files(Path(path)):
            files.setdefault(file.resolve(), file)
    scores = [score for file in files.values() for score in read_published_csv(file)]
    problems = impossible_claims(scores)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise UserError(f"{problems[0]}{more}.")
    return scores


def csv_files(path: Path) -> list[Path]:
    """The CSV itself, or a folder's *.csv in name order."""
    if path.is_dir():
        files = sorted(path.glob("*.csv"))
        if not files:
            raise UserError(
                f"{path} holds no .csv files; expected published-score CSVs with columns {', '.join(COLUMNS)}."
            )
        return files
    if path.is_file():
        return [path]
    raise UserError(f"{path} does not exist; expected a published-score CSV or a folder of them.")


def read_published_csv(path: Path) -> list[PublishedScore]:
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None or tuple(header) != COLUMNS:
            raise DataError.at(
                path,
                1,
                None,
                f"the header {','.join(COLUMNS)}",
                found_text=repr(",".join(header)) if header else "an empty file",
            )
        # csv counts physical lines, so a quoted field with a newline still gives the right line number
        return [parse_row(path, reader.line_num, cells) for cells in reader if cells]


def parse_row(path: Path | str, line: int, cells: Sequence[str]) -> PublishedScore:
    """One CSV row as a PublishedScore; DataError naming the file, line and field when a cell is wrong."""
    if len(cells) != len(COLUMNS):
        raise DataError.at(
            path, line, None, f"{len(COLUMNS)} cells ({', '.join(COLUMNS)})", found_text=f"{len(cells)} cells"
        )
    row = dict(zip(COLUMNS, (cell.strip() for cell in cells)))

    def expect(field: str, ok: bool, expected: str) -> None:
        if not ok:
            raise DataError.at(path, line, field, expected, found=row[field])

    expect("model", bool(MODEL_ID.fullmatch(row["model"])), "a short id of lower-case letters, digits and _")
    expect(
        "hub_id",
        row["hub_id"] == "" or bool(HUB_ID.fullmatch(row["hub_id"])),
        "a Hugging Face id such as owner/name, or nothing",
    )
    expect("task", row["task"] in TASKS, f"one of {', '.join(TASKS)}")
    expect("metric", row["metric"] in METRIC_RANGES, f"one of {', '.join(METRIC_RANGES)}")
    expect("value", _is_number(row["value"]), "a finite number (x100, e.g. 88.9)")
    expect("std", row["std"] == "" or _is_number(row["std"]), "a finite number (x100) or nothing")
    expect("data_version", bool(VERSION.fullmatch(row["data_version"])), "a version such as 1.1 or 1.3")
    expect("split", row["split"] in SPLITS, f"one of {', '.join(SPLITS)}")
    expect(
        "protocol",
        row["protocol"] in PROTOCOLS or bool(FEWSHOT_PROTOCOL.fullmatch(row["protocol"])),
        f"one of {', '.join(PROTOCOLS)}, or fewshot/<preset>[/v<version>]/<N>shot (the source's words go in notes)",
    )
    expect("source", "http" in row["source"], "the URL (and section) the number was copied from")
    return PublishedScore(
        **{**row, "value": float(row["value"]), "std": float(row["std"]) if row["std"] else None},
        origin=f"{path}, line {line}",
        file=Path(path).stem,
    )


def impossible_claims(scores: Iterable[PublishedScore]) -> list[str]:
    """One sentence per impossible claim, naming the row: out of range, negative std, EM above F1, duplicates."""
    scores = list(scores)
    problems = []
    for score in scores:
        low, high = METRIC_RANGES[score.metric]
        if not low <= score.value <= high:
            problems.append(
                f"{score.origin}: {score.metric} {score.value:g} is outside [{low:g}, {high:g}] (scores are x100)"
            )
        if score.std is not None and score.std < 0:
            problems.append(f"{score.origin}: std {score.std:g} is negative")
    seen: dict[tuple, PublishedScore] = {}
    for score in scores:
        key = (*score.evaluation(), score.metric)
        if key in seen:
            problems.append(
                f"{score.origin}: the same {score.metric} of {score.model} on {score.task} "
                f"v{score.data_version} {score.split} from the same source as {seen[key].origin}"
            )
        seen[key] = score
    for key, exact in seen.items():
        # The F1 of an exact match is 1 (characters, or jp-stable's MeCab words), so per question F1 >= EM, and so
        # is the mean.
        for f1 in (seen.get((*key[:-1], name)) for name in ("f1", "jasquad_f1")):
            if key[-1] == "exact_match" and f1 is not None and exact.value > f1.value:
                problems.append(
                    f"{exact.origin}: exact_match {exact.value:g} is above the {f1.metric} {f1.value:g} of the "
                    f"same evaluation ({f1.origin})"
                )
    return problems


def _is_number(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False
