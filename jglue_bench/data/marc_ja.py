"""Build MARC-ja from the user's own copy of the Amazon reviews TSV, with JGLUE's recipe step for step.

Amazon withdrew the corpus, so JGLUE ships only the review-id lists; this module replays
`preprocess/marc-ja/scripts/marc-ja.py` (JGLUE v1.3.0) on `amazon_reviews_multilingual_JP_v1_00.tsv[.gz]`:
csv.reader on tab with default quoting, columns review_id/star_rating/review_body (2, 7, 13); 4-5 stars ->
positive, 1-2 -> negative, 3 dropped; BeautifulSoup(html.parser).get_text(); drop text >= 90% string.printable;
drop text > 500 characters; random.seed(1) + shuffle; split int(n*0.94) / int(n*(0.94+0.03)); then drop the
filter-listed ids from valid/test and set the labels the crowd re-judged.

Version: the script's --version only names the files, and the valid lists are byte-identical from v1.0 to v1.3,
so train/valid are the same for every version. JGLUE published only train/valid (its README command omits the
test lists and --output-testset); we always build all three splits with the v1.3 lists. Unlike the script's
--output-testset, test keeps its labels, since a test set without labels cannot be scored.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import json
import logging
import random
import re
import string
from contextlib import ExitStack
from pathlib import Path

from tqdm.auto import tqdm

from jglue_bench.data.download import fetch_verified
from jglue_bench.errors import DataError, UserError
from jglue_bench.support.atomic import atomic_path

JGLUE_TAG = "v1.3.0"
LIST_BASE_URL = f"https://raw.githubusercontent.com/yahoojapan/JGLUE/{JGLUE_TAG}/preprocess/marc-ja/data"
LIST_FILES: dict[str, str] = {
    "filter_review_id_list/valid.txt": "9b276269f1bfe21b9ca3d2b9cf29fd0db75f39c7ec9a788c2fc2f5efbb469509",
    "filter_review_id_list/test.txt": "9f5aeb2c092a4c71ece109f431c369828693e6683be7eeebb70065557c172a75",
    "label_conv_review_id_list/valid.txt": "00759d55bcc7137b8808cddb8536030ab5f5326f9c1b414901a1173ecb6aa422",
    "label_conv_review_id_list/test.txt": "dc4a1c51c66165e8c0906827e0abaadf6df10bdcd61030199c12650f5a86a146",
}
# JGLUE README counts; they imply 199,498 kept reviews before the lists (int(n*0.94) = 187,528).
OFFICIAL_COUNTS = {"train": 187_528, "valid": 5_654, "test": 5_639}
EVAL_SPLITS = ("valid", "test")
SPLIT_RATIO = (0.94, 0.03, 0.03)
MAX_CHAR_LENGTH = 500
ASCII_RATE_THRESHOLD = 0.9
COLUMNS = {"review_id": 2, "star_rating": 7, "review_body": 13}  # the script reads row[2], row[7], row[13]
HEADER_FIELDS = 15  # marketplace, customer_id, review_id, ..., review_headline, review_body, review_date
CSV_FIELD_LIMIT = 1_000_000  # the script raises csv's limit to this; a runaway quoted field may need it
LABELS = ("positive", "negative")

log = logging.getLogger(__name__)


def html_to_text(markup: str) -> str:
    """JGLUE's recipe step, with the library it used: BeautifulSoup(markup, "html.parser").get_text()
    (beautifulsoup4 pinned to 4.10.0, the release current when JGLUE built MARC-ja in 2021)."""
    import warnings

    from bs4 import BeautifulSoup

    with warnings.catch_warnings():  # a review that looks like a URL or file name is still a review
        warnings.simplefilter("ignore", UserWarning)
        return BeautifulSoup(markup, "html.parser").get_text()


def fetch_review_id_lists(cache_dir: Path, base_url: str = LIST_BASE_URL) -> Path:
    """Download JGLUE's four review-id lists into `cache_dir/marc-ja-lists/<tag>/`, each checked against its sha256."""
    folder = Path(cache_dir) / "marc-ja-lists" / JGLUE_TAG
    for relative, sha256 in LIST_FILES.items():
        fetch_verified(f"{base_url.rstrip('/')}/{relative}", folder / relative, sha256=sha256)
    return folder


def build_marc_ja(reviews_tsv: Path, out_dir: Path, lists_dir: Path, version: str = "1.3") -> dict[str, int]:
    """Write `out_dir/marc_ja-v{version}/{train,valid,test}-v{version}.json` (JSON Lines); return the counts.

    Nothing is written unless the whole TSV and all four lists were read without error.
    """
    version = str(version)
    if not re.fullmatch(r"\d+\.\d+", version):
        raise UserError(f"MARC-ja version {version!r} is not of the form 1.3.")
    filters, conversions = _read_review_id_lists(Path(lists_dir))
    instances = read_instances(Path(reviews_tsv))
    random.Random(1).shuffle(instances)  # same stream as the script's random.seed(1); random.shuffle(...)
    splits = _apply_review_id_lists(split_instances(instances), filters, conversions, Path(lists_dir))
    folder = Path(out_dir) / f"marc_ja-v{version}"
    _write_atomically({folder / f"{name}-v{version}.json": rows for name, rows in splits.items()})
    return {name: len(rows) for name, rows in splits.items()}


def split_instances(instances: list[dict]) -> dict[str, list[dict]]:
    """The script's index arithmetic: int(n * 0.94) and int(n * (0.94 + 0.03)), as it writes them."""
    total = len(instances)
    length1 = int(total * SPLIT_RATIO[0])
    length2 = int(total * (SPLIT_RATIO[0] + SPLIT_RATIO[1]))
    return {"train": instances[:length1], "valid": instances[length1:length2], "test": instances[length2:]}


def read_instances(path: Path) -> list[dict]:
    """Every kept review in file order, as {"sentence", "label", "review_id"}."""
    instances, extra_field_rows = [], 0
    with _open_binary(path) as binary, _csv_field_limit(CSV_FIELD_LIMIT):
        reader = csv.reader(_universal_lines(binary, path), delimiter="\t")
        try:
            _check_header(path, next(reader, None))
            for row in tqdm(reader, desc=f"reading {path.name}", unit=" reviews"):
                extra_field_rows += len(row) > HEADER_FIELDS
                instance = instance_from_row(path, reader.line_num, row)
                if instance is not None:
                    instances.append(instance)
        except csv.Error as error:
            raise DataError.at(path, reader.line_num, None, "a well-formed TSV record", found_text=str(error)) from None
        except (EOFError, OSError) as error:  # a truncated or corrupt .gz
            raise DataError.at(
                path, reader.line_num + 1, None, "the rest of a complete file", found_text=str(error)
            ) from None
    if extra_field_rows:
        log.warning(
            "%s: %d records have more than %d fields (a quote merged lines); kept, as JGLUE's script did.",
            path,
            extra_field_rows,
            HEADER_FIELDS,
        )
    return instances


def instance_from_row(path: Path, line: int, row: list[str]) -> dict | None:
    """One TSV record through the recipe; None when the recipe drops it."""
    if not row:
        return None  # a blank line; the script would crash on it, so the real file has none
    if len(row) <= COLUMNS["review_body"]:
        raise DataError.at(
            path,
            line,
            None,
            f"{HEADER_FIELDS} tab-separated fields (at least the {COLUMNS['review_body'] + 1} up to review_body)",
            found=len(row),
        )
    try:
        rating = int(row[COLUMNS["star_rating"]])
    except ValueError:
        raise DataError.at(path, line, "star_rating", "an integer", found=row[COLUMNS["star_rating"]]) from None
    label = "positive" if rating >= 4 else "negative" if rating <= 2 else None
    if label is None:
        return None
    text = html_to_text(row[COLUMNS["review_body"]])
    # An empty text would divide by zero in the script, so the real file has none; dropping is the safe reading.
    if not text or is_mostly_ascii(text) or len(text) > MAX_CHAR_LENGTH:
        return None
    return {"sentence": text, "label": label, "review_id": row[COLUMNS["review_id"]]}


def is_mostly_ascii(text: str) -> bool:
    """The script's rule: share of string.printable characters >= 0.9 (its exact float expression)."""
    printable = set(string.printable)
    return sum(c in printable for c in text) / len(text) >= ASCII_RATE_THRESHOLD


def _check_header(path: Path, header: list[str] | None) -> None:
    found = [header[i] if header and i < len(header) else None for i in COLUMNS.values()]
    if found != list(COLUMNS):
        raise DataError.at(
            path,
            1,
            "header",
            "the Amazon reviews TSV header, with review_id, star_rating and review_body as columns 3, 8 and 14",
            found=header and "\t".join(header),
        )


@contextlib.contextmanager
def _open_binary(path: Path):
    try:
        with open(path, "rb") as raw:
            gzipped = raw.read(2) == b"\x1f\x8b"  # the magic bytes decide; a suffix can lie
    except OSError as error:
        raise UserError(
            f"Cannot read the Amazon reviews file {path} ({error.strerror}). Give the path of your copy "
            f"of amazon_reviews_multilingual_JP_v1_00.tsv or .tsv.gz."
        ) from None
    with gzip.open(path, "rb") if gzipped else open(path, "rb") as binary:
        yield binary


def _universal_lines(binary, path: Path):
    """UTF-8 lines as the script's io.TextIOWrapper(stdin, encoding="utf-8") yields them (\\r\\n and lone \\r end a
    line as \\n), decoded line by line so that a bad byte is reported on its own line."""
    number = 0
    for raw in binary:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as error:
            bad_bytes = raw[max(0, error.start - 20) : error.end + 20]
            raise DataError.at(path, number + 1, None, "UTF-8 text", found=bad_bytes) from None
        if "\r" in text:
            pieces = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            lines = [piece + "\n" for piece in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])
        else:
            lines = [text]
        for line in lines:
            number += 1
            yield line


@contextlib.contextmanager
def _csv_field_limit(limit: int):
    previous = csv.field_size_limit(limit)  # csv's limit is process-wide; put it back afterwards
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _read_review_id_lists(lists_dir: Path) -> tuple[dict[str, set[str]], dict[str, dict[str, str]]]:
    """The ids to drop per eval split, and the corrected label per id (the script's line.rstrip() / csv rows)."""
    filters, conversions = {}, {}
    for split in EVAL_SPLITS:
        filters[split] = {line.rstrip() for line in _list_lines(lists_dir / f"filter_review_id_list/{split}.txt")}
        path = lists_dir / f"label_conv_review_id_list/{split}.txt"
        conversions[split] = {}
        for number, row in enumerate(csv.reader(_list_lines(path)), start=1):
            if row and (len(row) < 2 or row[1] not in LABELS):
                raise DataError.at(path, number, "label", "review_id,positive or review_id,negative", found=row)
            if row:
                conversions[split][row[0]] = row[1]
    return filters, conversions


def _list_lines(path: Path) -> list[str]:
    if not path.is_file():
        raise UserError(f"MARC-ja review-id list {path} not found; fetch_review_id_lists() downloads the four lists.")
    with open(path, encoding="utf-8") as lines:  # universal newlines, as the script's open(path, "r")
        return list(lines)


def _apply_review_id_lists(
    splits: dict[str, list[dict]], filters: dict[str, set[str]], conversions: dict[str, dict[str, str]], lists_dir: Path
) -> dict[str, list[dict]]:
    """Drop and relabel valid/test reviews; like the script's asserts, an id listed for another split than the one
    it fell into means the TSV does not reproduce JGLUE's shuffle, which is an error."""
    result = {}
    for split, instances in splits.items():
        kept = []
        for instance in instances:
            review_id = instance["review_id"]
            _check_listed_split(review_id, split, filters, lists_dir / "filter_review_id_list")
            if review_id in filters.get(split, ()):
                continue
            _check_listed_split(review_id, split, conversions, lists_dir / "label_conv_review_id_list")
            new_label = conversions.get(split, {}).get(review_id)
            if new_label is not None:
                if new_label == instance["label"]:  # the script asserts that a listed label really changes
                    raise DataError(
                        f"{lists_dir / 'label_conv_review_id_list' / f'{split}.txt'}: review {review_id} "
                        f"is listed as {new_label!r}, which its star rating already gives; {_NOT_ORIGINAL}"
                    )
                instance = {**instance, "label": new_label}
            kept.append(instance)
        result[split] = kept
    return result


_NOT_ORIGINAL = (
    "the reviews file does not reproduce JGLUE's split; is it the original, complete "
    "amazon_reviews_multilingual_JP_v1_00.tsv?"
)


def _check_listed_split(review_id: str, split: str, lists: dict, folder: Path) -> None:
    for listed_split, ids in lists.items():
        if listed_split != split and review_id in ids:
            raise DataError(
                f"{folder / f'{listed_split}.txt'}: review {review_id} is listed for the {listed_split} "
                f"split but falls in {split}; {_NOT_ORIGINAL}"
            )


def _write_atomically(files: dict[Path, list[dict]]) -> None:
    """Write every file to a temp file beside it, then rename them all, so no half-written split is left."""
    with ExitStack() as renames:  # every file is renamed when all are written, or none is
        for path, rows in files.items():
            temporary = renames.enter_context(atomic_path(path))
            with open(temporary, "w", encoding="utf-8", newline="\n") as out:
                for row in rows:
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")  # the script's print(json.dumps(...))
