"""MARC-ja builder: each step of JGLUE's marc-ja.py recipe, on small invented reviews (never real Amazon data)."""

from __future__ import annotations

import csv
import functools
import gzip
import json
import os
import random
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from jglue_bench.data.download import file_sha256
from jglue_bench.data.marc_ja import (
    LIST_FILES,
    OFFICIAL_COUNTS,
    build_marc_ja,
    fetch_review_id_lists,
    html_to_text,
    is_mostly_ascii,
    split_instances,
)
from jglue_bench.errors import ChecksumError, DataError, UserError

REPO_ROOT = Path(__file__).resolve().parents[1]
HEADER = [
    "marketplace",
    "customer_id",
    "review_id",
    "product_id",
    "product_parent",
    "product_title",
    "product_category",
    "star_rating",
    "helpful_votes",
    "total_votes",
    "vine",
    "verified_purchase",
    "review_headline",
    "review_body",
    "review_date",
]
SPLITS = ("train", "valid", "test")


def review(review_id: str, rating: int | str, body: str) -> list[str]:
    return [
        "JP",
        "1234",
        review_id,
        "B00TEST",
        "42",
        "テスト商品",
        "Books",
        str(rating),
        "0",
        "0",
        "N",
        "Y",
        "見出し",
        body,
        "2015-08-31",
    ]


def tsv_text(rows: list[list[str]]) -> str:
    return "".join("\t".join(row) + "\n" for row in [HEADER, *rows])


def write_tsv(path: Path, rows: list[list[str]], gz: bool = False) -> Path:
    data = tsv_text(rows).encode("utf-8")
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def write_lists(
    folder: Path, filters: dict[str, list[str]] | None = None, conversions: dict[str, dict[str, str]] | None = None
) -> Path:
    for split in ("valid", "test"):
        (folder / "filter_review_id_list").mkdir(parents=True, exist_ok=True)
        (folder / "label_conv_review_id_list").mkdir(parents=True, exist_ok=True)
        ids = (filters or {}).get(split, [])
        (folder / f"filter_review_id_list/{split}.txt").write_text("".join(f"{i}\n" for i in ids))
        labels = (conversions or {}).get(split, {})
        (folder / f"label_conv_review_id_list/{split}.txt").write_text(
            "".join(f"{i},{label}\n" for i, label in labels.items())
        )
    return folder


def read_split(out_dir: Path, split: str, version: str = "1.3") -> list[dict]:
    path = out_dir / f"marc_ja-v{version}" / f"{split}-v{version}.json"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def build(tmp_path: Path, rows: list[list[str]], lists: Path | None = None) -> dict[str, dict]:
    """Build from `rows`; every written review by id, across the three splits."""
    counts = build_marc_ja(
        write_tsv(tmp_path / "reviews.tsv", rows), tmp_path / "out", lists or write_lists(tmp_path / "lists")
    )
    by_id = {row["review_id"]: row for split in SPLITS for row in read_split(tmp_path / "out", split)}
    assert sum(counts.values()) == len(by_id)
    return by_id


def japanese_reviews(count: int, rating: int | None = 5) -> list[list[str]]:
    """`count` reviews the recipe keeps; rating None cycles through 1, 2, 4, 5 stars."""
    return [review(f"R{i:04d}", rating or (1, 2, 4, 5)[i % 4], f"とても良い商品です{i}") for i in range(count)]


def jglue_shuffle(review_ids: list[str]) -> list[str]:
    """The script's own steps, done independently: random.seed(1); random.shuffle(instances)."""
    state = random.getstate()
    try:
        random.seed(1)
        shuffled = list(review_ids)
        random.shuffle(shuffled)
    finally:
        random.setstate(state)
    return shuffled


def test_rating_3_is_dropped_and_1_2_4_5_are_mapped(tmp_path):
    by_id = build(tmp_path, [review(f"R{r}", r, f"星{r}つの感想です") for r in (1, 2, 3, 4, 5)])
    assert {i: row["label"] for i, row in by_id.items()} == {
        "R1": "negative",
        "R2": "negative",
        "R4": "positive",
        "R5": "positive",
    }


def test_html_is_stripped_like_beautifulsoup(tmp_path):
    by_id = build(tmp_path, [review("R1", 5, "良い<br />商品&amp;<b>です</b>&#34;<br /><br />最高")])
    assert by_id["R1"]["sentence"] == '良い商品&です"最高'


@pytest.mark.parametrize(
    "markup, text",
    [  # expected: BeautifulSoup(markup, "html.parser").get_text(), bs4 4.10.0
        ("良い<br />商品&amp;<b>です</b>&#34;", '良い商品&です"'),
        ("良い<br /><br />商品", "良い商品"),
        ("良い<br />\n<br />商品", "良い\n商品"),
        ("a<br />  <br />b", "a b"),
        ("  <p> 良い </p>  ", "  良い  "),
        ("<pre>  </pre>", "  "),
        ("<textarea> </textarea>|", " |"),
        ("a<script>b</script>c", "ac"),
        ("a<style>p{}</style>c", "ac"),
        ("&foo; &amp &amp; &#34; &#147; &#x81;", '&foo & & " \u201c \x81'),
        ("&lt;br&gt; &nbsp;&hellip;", "<br> \xa0\u2026"),
        ("<![CDATA[cd]]> <!-- c --> <!DOCTYPE html> <?pi?>", "cd   "),
        ("I <3 you <(_ _)> ok", "I <3 you <(_ _)> ok"),
        ("x</b>y", "xy"),
        ("&#128512;", "\U0001f600"),
        ("a&", "a&"),
        ("<a href='x'>link</a>", "link"),
        ("&#99999999;", "\ufffd"),
        ("a<![CDATA[]]>b", "a b"),
        ("<br></br>x", "x"),
        ("&#12354;&#x3042;", "ああ"),
    ],
)
def test_html_to_text_matches_beautifulsoup_4_10(markup, text):
    assert html_to_text(markup) == text


def test_ascii_rate_of_90_percent_is_dropped_and_89_percent_kept(tmp_path):
    # string.printable counts: 90 of 100 characters -> rate 0.9 >= 0.9 dropped; 89 of 100 -> 0.89 kept.
    rows = [
        review("R90", 5, "a" * 90 + "あ" * 10),
        review("R89", 5, "a" * 89 + "あ" * 11),
        review("Rtags", 5, "あ" + "<br />" * 30),
    ]  # measured after stripping: the tags do not count
    assert sorted(build(tmp_path, rows)) == ["R89", "Rtags"]
    assert is_mostly_ascii("a b\t1!" * 9 + "\u3000")  # whitespace and punctuation are printable, U+3000 is not
    assert not is_mostly_ascii("\x7f" * 10)  # DEL is ASCII but not in string.printable


def test_500_characters_are_kept_and_501_dropped(tmp_path):
    rows = [
        review("R500", 1, "あ" * 500),
        review("R501", 1, "あ" * 501),
        review("R500br", 1, "あ" * 250 + "<br />" + "い" * 250),
    ]  # length counted after HTML stripping
    assert sorted(build(tmp_path, rows)) == ["R500", "R500br"]


def test_seed_1_shuffle_and_94_3_3_split_match_the_script(tmp_path):
    rows = japanese_reviews(100, rating=None)
    counts = build_marc_ja(write_tsv(tmp_path / "r.tsv", rows), tmp_path / "out", write_lists(tmp_path / "lists"))
    assert counts == {"train": 94, "valid": 3, "test": 3}
    shuffled = jglue_shuffle([row[2] for row in rows])
    written = {split: [row["review_id"] for row in read_split(tmp_path / "out", split)] for split in SPLITS}
    assert written == {"train": shuffled[:94], "valid": shuffled[94:97], "test": shuffled[97:]}


def test_split_arithmetic_gives_jglue_official_counts():
    # 199,498 kept reviews: int(n*0.94) = 187,528 train; int(n*(0.94+0.03)) = 193,513, so 5,985 valid and 5,985 test,
    # minus the 331 and 346 filtered ids = JGLUE's 5,654 and 5,639.
    sizes = {split: len(rows) for split, rows in split_instances(list(range(199_498))).items()}
    assert sizes == {"train": 187_528, "valid": 5_985, "test": 5_985}
    assert (sizes["train"], sizes["valid"] - 331, sizes["test"] - 346) == tuple(OFFICIAL_COUNTS.values())


def test_lists_filter_and_relabel_valid_and_test_only(tmp_path):
    rows = japanese_reviews(100)  # all 5 stars: positive
    shuffled = jglue_shuffle([row[2] for row in rows])
    valid, test = shuffled[94:97], shuffled[97:]
    lists = write_lists(
        tmp_path / "lists",
        filters={"valid": [valid[0]], "test": [test[0]]},
        conversions={"valid": {valid[1]: "negative"}, "test": {test[1]: "negative"}},
    )
    counts = build_marc_ja(write_tsv(tmp_path / "r.tsv", rows), tmp_path / "out", lists)
    assert counts == {"train": 94, "valid": 2, "test": 2}
    out = {split: {row["review_id"]: row["label"] for row in read_split(tmp_path / "out", split)} for split in SPLITS}
    assert out["valid"] == {valid[1]: "negative", valid[2]: "positive"}
    assert out["test"] == {test[1]: "negative", test[2]: "positive"}
    assert set(out["train"].values()) == {"positive"}


@pytest.mark.parametrize(
    "lists",
    [
        {"filters": {"valid": ["TRAIN_ID"]}},  # listed for valid but the shuffle put it in train
        {"conversions": {"test": {"TRAIN_ID": "negative"}}},
        {"conversions": {"valid": {"VALID_ID": "positive"}}},  # "flips" to the label it already has
    ],
)
def test_lists_that_do_not_fit_the_split_are_an_error_and_write_nothing(tmp_path, lists):
    rows = japanese_reviews(100)
    shuffled = jglue_shuffle([row[2] for row in rows])
    spec = json.loads(json.dumps(lists).replace("TRAIN_ID", shuffled[0]).replace("VALID_ID", shuffled[94]))
    with pytest.raises(DataError, match="amazon_reviews_multilingual_JP_v1_00"):
        build_marc_ja(write_tsv(tmp_path / "r.tsv", rows), tmp_path / "out", write_lists(tmp_path / "lists", **spec))
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*"))


def test_output_layout_key_order_and_raw_utf8(tmp_path):
    rows = [review("R1", 5, "最高")]
    build_marc_ja(write_tsv(tmp_path / "r.tsv", rows), tmp_path / "out", write_lists(tmp_path / "lists"), version="1.1")
    folder = tmp_path / "out" / "marc_ja-v1.1"
    assert sorted(p.name for p in folder.iterdir()) == ["test-v1.1.json", "train-v1.1.json", "valid-v1.1.json"]
    # 1 review: int(1*0.94) = 0 train, int(1*0.97) = 0 valid, so it is the test split; test keeps its label
    assert (folder / "test-v1.1.json").read_text(
        encoding="utf-8"
    ) == '{"sentence": "最高", "label": "positive", "review_id": "R1"}\n'


def test_gzip_gives_the_same_output_as_plain_tsv(tmp_path):
    rows = japanese_reviews(40, rating=None)
    lists = write_lists(tmp_path / "lists")
    build_marc_ja(write_tsv(tmp_path / "r.tsv", rows), tmp_path / "plain", lists)
    build_marc_ja(write_tsv(tmp_path / "r.tsv.gz", rows, gz=True), tmp_path / "gz", lists)
    build_marc_ja(write_tsv(tmp_path / "gzip-without-suffix.tsv", rows, gz=True), tmp_path / "magic", lists)
    for split in SPLITS:
        name = f"marc_ja-v1.3/{split}-v1.3.json"
        plain = (tmp_path / "plain" / name).read_bytes()
        assert plain == (tmp_path / "gz" / name).read_bytes() == (tmp_path / "magic" / name).read_bytes()


def test_reads_like_the_scripts_csv_reader(tmp_path):
    rows = [review("Rq", 5, '"最高"の商品'), review("Rcrlf", 1, "残念でした")]
    crlf_on_second_review = tsv_text(rows).replace("残念でした\t2015-08-31\n", "残念でした\t2015-08-31\r\n")
    (tmp_path / "r.tsv").write_bytes(crlf_on_second_review.encode("utf-8"))
    build_marc_ja(tmp_path / "r.tsv", tmp_path / "out", write_lists(tmp_path / "lists"))
    by_id = {row["review_id"]: row for split in SPLITS for row in read_split(tmp_path / "out", split)}
    assert by_id["Rq"]["sentence"] == "最高の商品"  # csv's default quoting eats a leading quoted part's quotes
    assert by_id["Rcrlf"]["sentence"] == "残念でした"  # \r\n ends the line (universal newlines), no \r kept


@pytest.mark.parametrize(
    "bad_row, field, line",
    [(review("R2", "five", "良い"), "star_rating", 3), (["JP", "1", "R2", "5", "良い"], "record", 3)],
)
def test_malformed_line_names_file_line_and_field_and_writes_nothing(tmp_path, bad_row, field, line):
    path = write_tsv(tmp_path / "bad_reviews.tsv", [review("R1", 5, "良い"), bad_row, review("R3", 1, "悪い")])
    limit = csv.field_size_limit()
    with pytest.raises(DataError) as raised:
        build_marc_ja(path, tmp_path / "out", write_lists(tmp_path / "lists"))
    message = str(raised.value)
    assert "bad_reviews.tsv" in message and f"line {line}" in message and field in message
    assert not (tmp_path / "out").exists()
    assert csv.field_size_limit() == limit  # the raised limit was put back


def test_invalid_utf8_and_wrong_header_are_data_errors(tmp_path):
    data = tsv_text([review("R1", 5, "良い"), review("R2", 5, "XX")]).encode("utf-8").replace(b"XX", b"\xff\xfe")
    (tmp_path / "latin.tsv").write_bytes(data)
    with pytest.raises(DataError, match=r"latin\.tsv, line 3: .*UTF-8"):
        build_marc_ja(tmp_path / "latin.tsv", tmp_path / "out", write_lists(tmp_path / "lists"))
    (tmp_path / "other.tsv").write_text("id\tlabel\ttext\n1\t5\t良い\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"other\.tsv, line 1: field 'header'"):
        build_marc_ja(tmp_path / "other.tsv", tmp_path / "out", write_lists(tmp_path / "lists"))
    assert not (tmp_path / "out").exists()


def test_truncated_gzip_is_a_data_error(tmp_path):
    data = gzip.compress(tsv_text(japanese_reviews(2000)).encode("utf-8"))
    (tmp_path / "cut.tsv.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cut\.tsv\.gz, line \d+: .*complete file"):
        build_marc_ja(tmp_path / "cut.tsv.gz", tmp_path / "out", write_lists(tmp_path / "lists"))
    assert not (tmp_path / "out").exists()


def test_missing_reviews_file_or_list_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no_such_reviews.tsv"):
        build_marc_ja(tmp_path / "no_such_reviews.tsv", tmp_path / "out", write_lists(tmp_path / "lists"))
    lists = write_lists(tmp_path / "lists")
    (lists / "label_conv_review_id_list/test.txt").unlink()
    with pytest.raises(UserError, match=r"label_conv_review_id_list/test\.txt"):
        build_marc_ja(write_tsv(tmp_path / "r.tsv", japanese_reviews(3)), tmp_path / "out", lists)


# --- the real review-id lists (JGLUE v1.3.0), when a local copy is present --------------------------------------


def real_lists_dir() -> Path:
    data_dir = Path(os.environ.get("JGLUE_DATA_DIR", "../shared/jglue/datasets"))
    folder = (data_dir if data_dir.is_absolute() else REPO_ROOT / data_dir).parent / "preprocess/marc-ja/data"
    if not all((folder / relative).is_file() for relative in LIST_FILES):
        pytest.skip(f"no local copy of JGLUE's MARC-ja review-id lists in {folder}")
    return folder


def test_real_lists_match_the_pinned_sha256():
    folder = real_lists_dir()
    assert {relative: file_sha256(folder / relative) for relative in LIST_FILES} == LIST_FILES


@pytest.fixture
def served_lists(tmp_path, monkeypatch):
    """A local http.server serving a copy of the real lists; yields (served folder, base URL)."""
    served = tmp_path / "served"
    shutil.copytree(real_lists_dir(), served)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")

    class QuietHandler(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_fetch_review_id_lists_downloads_and_verifies(served_lists, tmp_path):
    served, base_url = served_lists
    folder = fetch_review_id_lists(tmp_path / "cache", base_url=base_url)
    assert folder == tmp_path / "cache" / "marc-ja-lists" / "v1.3.0"
    for relative, sha256 in LIST_FILES.items():
        assert file_sha256(folder / relative) == sha256
        assert (folder / relative).read_bytes() == (served / relative).read_bytes()


def test_fetch_of_a_tampered_list_raises_and_leaves_no_file(served_lists, tmp_path):
    served, base_url = served_lists
    tampered = "label_conv_review_id_list/valid.txt"
    with open(served / tampered, "a", encoding="utf-8") as handle:
        handle.write("R0000000000000,positive\n")
    with pytest.raises(ChecksumError):
        fetch_review_id_lists(tmp_path / "cache", base_url=base_url)
    cached = tmp_path / "cache" / "marc-ja-lists" / "v1.3.0"
    assert not (cached / tampered).exists()
    assert not list(cached.rglob("*.part"))
