"""A corpus of malformed inputs: JSON Lines, SQuAD JSON, CSV and TSV, for all four task kinds. Each must stop
`data validate` and `train` with one line that names the file, the line (or row, or the question id), the
field as the file names it and the value found, exit 2, and leave nothing behind: no run folder, no record, no
results store, no cache entry."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

PAIR = {"pair_id": "p0", "sentence1": "犬が走る。", "sentence2": "動物が走る。", "label": "entailment"}
SCORE = {"pair_id": "s0", "sentence1": "犬が走る。", "sentence2": "猫が寝る。", "label": 1.5}
CHOICE = {"q_id": 7, "question": "何を食べる?", **{f"choice{i}": f"答え{i}" for i in range(5)}, "label": 2}
CONTEXT = "旅行 [SEP] 東京タワーへ行った。"

TASKS = {
    "classification": {
        "kind": "classification",
        "fields": {"id": "pair_id", "texts": ["sentence1", "sentence2"], "label": "label"},
        "labels": ["entailment", "contradiction", "neutral"],
    },
    "regression": {
        "kind": "regression",
        "fields": {"id": "pair_id", "texts": ["sentence1", "sentence2"], "label": "label"},
        "label_range": [0, 5],
    },
    "multiple_choice": {
        "kind": "multiple_choice",
        "fields": {"id": "q_id", "question": "question", "choices": [f"choice{i}" for i in range(5)], "label": "label"},
    },
    "classification_inferred": {
        "kind": "classification",  # no `labels`: they are inferred from train
        "fields": {"id": "pair_id", "texts": ["sentence1", "sentence2"], "label": "label"},
    },
    "extractive_qa": {"kind": "extractive_qa"},
    "qa_columns": {
        "kind": "extractive_qa",
        "fields": {
            "id": "qid",
            "question": "question",
            "context": "context",
            "answer_text": "answer",
            "answer_start": "start",
        },
    },
}


@dataclass
class Case:
    kind: str
    file_name: str
    content: bytes
    expected: list[str]  # besides the file's path, which every message must name
    extra: dict = field(default_factory=dict)


def jsonl(*records) -> bytes:
    return "".join(
        (record if isinstance(record, str) else json.dumps(record, ensure_ascii=False)) + "\n" for record in records
    ).encode("utf-8")


def squad(*questions, context: str = CONTEXT) -> bytes:
    return json.dumps(
        {"version": "v1.1", "data": [{"title": "旅行", "paragraphs": [{"context": context, "qas": list(questions)}]}]},
        ensure_ascii=False,
    ).encode("utf-8")


def qa(qid="q1", **changes) -> dict:
    return {"id": qid, "question": "どこへ行った?", "answers": [{"text": "東京タワー", "answer_start": 9}], **changes}


def text(value: str) -> bytes:
    return value.encode("utf-8")


def parquet(*records: dict, keep: int | None = None) -> bytes:
    """A Parquet file of the records (the first `keep` of them: 0 leaves their columns and no rows)."""
    import io

    import pyarrow
    import pyarrow.parquet

    sink = io.BytesIO()
    pyarrow.parquet.write_table(pyarrow.Table.from_pylist(list(records)).slice(0, keep), sink)
    return sink.getvalue()


CORPUS = {
    # JSON Lines
    "jsonl_bad_json": Case(
        "classification",
        "train.jsonl",
        jsonl(PAIR, '{"pair_id": "p1", "sentence1":'),
        ["line 2", "one JSON object on each line", "invalid JSON"],
    ),
    "jsonl_not_an_object": Case(
        "classification",
        "train.jsonl",
        jsonl(PAIR, '["p1", "x"]'),
        ["line 2", "expected a JSON object", "found ['p1', 'x']"],
    ),
    "jsonl_missing_text": Case(
        "classification",
        "train.jsonl",
        jsonl(PAIR, {k: v for k, v in PAIR.items() if k != "sentence2"} | {"pair_id": "p1"}),
        ["line 2", "field 'sentence2'", "the field is missing"],
    ),
    "jsonl_null_label": Case(
        "classification",
        "train.jsonl",
        jsonl(PAIR, {**PAIR, "pair_id": "p1", "label": None}),
        ["line 2", "field 'label'", "one of entailment, contradiction, neutral", "found null"],
    ),
    "jsonl_unknown_label": Case(
        "classification",
        "train.jsonl",
        jsonl(PAIR, {**PAIR, "pair_id": "p1", "label": "maybe"}),
        ["line 2", "field 'label'", "found 'maybe'"],
    ),
    "jsonl_text_is_a_number": Case(
        "classification",
        "train.jsonl",
        jsonl({**PAIR, "sentence1": 42}),
        ["line 1", "field 'sentence1'", "expected a string", "found 42"],
    ),
    "jsonl_empty_text": Case(
        "classification",
        "train.jsonl",
        jsonl({**PAIR, "sentence1": ""}),
        ["line 1", "field 'sentence1'", "non-empty string", "found ''"],
    ),
    "jsonl_duplicate_id": Case(
        "classification",
        "train.jsonl",
        jsonl(PAIR, PAIR),
        ["line 2", "field 'pair_id'", "already appeared at line 1", "found 'p0'"],
    ),
    "jsonl_id_is_a_list": Case(
        "classification",
        "train.jsonl",
        jsonl({**PAIR, "pair_id": ["p0"]}),
        ["line 1", "field 'pair_id'", "an id", "found ['p0']"],
    ),
    "jsonl_shift_jis": Case(
        "classification",
        "train.jsonl",
        jsonl(PAIR).decode("utf-8").encode("cp932"),
        ["line 1", "expected UTF-8 text", "cp932"],
    ),
    "jsonl_score_not_a_number": Case(
        "regression",
        "train.jsonl",
        jsonl({**SCORE, "label": "high"}),
        ["line 1", "field 'label'", "a number in [0.0, 5.0]", "found 'high'"],
    ),
    "jsonl_score_out_of_range": Case(
        "regression",
        "train.jsonl",
        jsonl(SCORE, {**SCORE, "pair_id": "s1", "label": 7.5}),
        ["line 2", "field 'label'", "a number in [0.0, 5.0]", "found 7.5"],
    ),
    "jsonl_score_is_a_boolean": Case(
        "regression", "train.jsonl", jsonl({**SCORE, "label": True}), ["line 1", "field 'label'", "found true"]
    ),
    "jsonl_score_missing": Case(
        "regression",
        "train.jsonl",
        jsonl({k: v for k, v in SCORE.items() if k != "label"}),
        ["line 1", "field 'label'", "the field is missing"],
    ),
    "jsonl_choice_out_of_range": Case(
        "multiple_choice",
        "train.jsonl",
        jsonl({**CHOICE, "label": 5}),
        ["line 1", "field 'label'", "choice index from 0 to 4", "found 5"],
    ),
    "jsonl_choice_index_as_string": Case(
        "multiple_choice", "train.jsonl", jsonl({**CHOICE, "label": "2"}), ["line 1", "field 'label'", "found '2'"]
    ),
    "jsonl_choice_missing": Case(
        "multiple_choice",
        "train.jsonl",
        jsonl({k: v for k, v in CHOICE.items() if k != "choice3"}),
        ["line 1", "field 'choice3'", "the field is missing"],
    ),
    "jsonl_question_blank": Case(
        "multiple_choice",
        "train.jsonl",
        jsonl({**CHOICE, "question": "  "}),
        ["line 1", "field 'question'", "found '  '"],
    ),
    # SQuAD JSON
    "squad_top_level_list": Case(
        "extractive_qa", "train.json", text("[]"), ["a SQuAD JSON object", "found a JSON list"], {"format": "squad"}
    ),
    "squad_no_data": Case(
        "extractive_qa",
        "train.json",
        text('{"version": "v1.1"}'),
        ["field 'data'", "the field is missing"],
        {"format": "squad"},
    ),
    "squad_paragraphs_not_a_list": Case(
        "extractive_qa",
        "train.json",
        text('{"data": [{"title": "t", "paragraphs": "p"}]}'),
        ["data[0]", "field 'paragraphs'", "expected a list", "found 'p'"],
        {"format": "squad"},
    ),
    "squad_context_missing": Case(
        "extractive_qa",
        "train.json",
        text('{"data": [{"title": "t", "paragraphs": [{"qas": []}]}]}'),
        ["data[0].paragraphs[0]", "field 'context'", "the field is missing"],
        {"format": "squad"},
    ),
    "squad_answers_missing": Case(
        "extractive_qa",
        "train.json",
        squad({"id": "q9", "question": "どこ?"}),
        ["question id 'q9'", "field 'answers'", "the field is missing"],
        {"format": "squad"},
    ),
    "squad_answer_start_out_of_range": Case(
        "extractive_qa",
        "train.json",
        squad(qa(answers=[{"text": "東京タワー", "answer_start": 99}])),
        [
            "question id 'q1'",
            "field 'answers[0].answer_start'",
            "out of range",
            "the context has 19 characters",
            "found 99",
        ],
        {"format": "squad"},
    ),
    "squad_answer_start_wrong": Case(
        "extractive_qa",
        "train.json",
        squad(qa(answers=[{"text": "東京タワー", "answer_start": 3}])),
        ["question id 'q1'", "field 'answers[0].answer_start'", "it occurs at offset 9", "found 3"],
        {"format": "squad"},
    ),
    "squad_unanswerable": Case(
        "extractive_qa",
        "train.json",
        squad(qa(answers=[], is_impossible=True)),
        ["question id 'q1'", "field 'answers'", "unanswerable (SQuAD 2.0)", "found []"],
        {"format": "squad"},
    ),
    "squad_duplicate_question_id": Case(
        "extractive_qa",
        "train.json",
        squad(qa(), qa()),
        ["question id 'q1'", "field 'id'", "a unique id", "found 'q1'"],
        {"format": "squad"},
    ),
    "squad_question_not_a_string": Case(
        "extractive_qa",
        "train.json",
        squad(qa(question=["どこ"])),
        ["question id 'q1'", "field 'question'", "expected a string", "found ['どこ']"],
        {"format": "squad"},
    ),
    "squad_answer_text_empty": Case(
        "extractive_qa",
        "train.json",
        squad(qa(answers=[{"text": "", "answer_start": 9}])),
        ["question id 'q1'", "field 'answers[0].text'", "non-empty answer", "found ''"],
        {"format": "squad"},
    ),
    # CSV
    "csv_row_missing_a_column": Case(
        "classification",
        "train.csv",
        text("pair_id,sentence1,sentence2,label\np0,犬,動物,entailment\np1,猫,動物\n"),
        ["line 3", "field 'label'", "4 columns as in the header", "found 3 columns"],
    ),
    "csv_row_with_an_extra_column": Case(
        "classification",
        "train.csv",
        text("pair_id,sentence1,sentence2,label\np0,犬,動物,entailment,x\n"),
        ["line 2", "4 columns as in the header", "found 5 columns"],
    ),
    "csv_header_lacks_a_field": Case(
        "classification",
        "train.csv",
        text("pair_id,first,sentence2,label\np0,犬,動物,entailment\n"),
        [
            "line 1",
            "field 'sentence1'",
            "a column named 'sentence1'",
            "found a header of pair_id, first, sentence2, label",
        ],
    ),
    "csv_unknown_label": Case(
        "classification",
        "train.csv",
        text("pair_id,sentence1,sentence2,label\np0,犬,動物,entailment\np1,猫,動物,たぶん\n"),
        ["line 3", "field 'label'", "found 'たぶん'"],
    ),
    "csv_empty_text": Case(
        "classification",
        "train.csv",
        text('pair_id,sentence1,sentence2,label\np0,"",動物,entailment\n'),
        ["line 2", "field 'sentence1'", "non-empty string", "found ''"],
    ),
    "csv_unterminated_quote": Case(
        "classification",
        "train.csv",
        text('pair_id,sentence1,sentence2,label\np0,"犬が,動物,entailment\n'),
        ["a well-formed CSV row"],
    ),
    "csv_duplicate_header": Case(
        "classification",
        "train.csv",
        text("pair_id,sentence1,sentence1,label\np0,犬,動物,entailment\n"),
        ["line 1", "distinct, non-empty column names", "found sentence1"],
    ),
    "csv_shift_jis": Case(
        "classification",
        "train.csv",
        "pair_id,sentence1,sentence2,label\np0,犬,動物,entailment\n".encode("cp932"),
        ["line 2", "expected UTF-8 text", "cp932"],
    ),
    "csv_score_not_a_number": Case(
        "regression",
        "train.csv",
        text("pair_id,sentence1,sentence2,label\ns0,犬,猫,abc\n"),
        ["line 2", "field 'label'", "a number in [0.0, 5.0]", "found 'abc'"],
    ),
    "csv_choice_not_an_integer": Case(
        "multiple_choice",
        "train.csv",
        text("q_id,question,choice0,choice1,choice2,choice3,choice4,label\n1,何?,a,b,c,d,e,two\n"),
        ["line 2", "field 'label'", "choice index", "found 'two'"],
    ),
    "csv_answer_start_not_an_integer": Case(
        "qa_columns",
        "train.csv",
        text(f"qid,question,context,answer,start\nq1,どこ?,{CONTEXT},東京タワー,x\n"),
        ["line 2", "field 'start'", "an integer character offset", "found 'x'"],
    ),
    "csv_header_only": Case(
        "classification",
        "train.csv",
        text("pair_id,sentence1,sentence2,label\n"),
        ["expected at least one row", "found a header and no rows"],
    ),
    "csv_header_only_labels_inferred": Case(
        "classification_inferred",
        "train.csv",
        text("pair_id,sentence1,sentence2,label\n"),
        ["expected at least one row", "found a header and no rows"],
    ),
    "csv_column_renamed_labels_inferred": Case(
        "classification_inferred",
        "train.csv",
        text("pair_id,sentence,sentence2,label\np0,犬,動物,entailment\n"),
        [
            "line 1",
            "field 'sentence1'",
            "a column named 'sentence1'",
            "found a header of pair_id, sentence, sentence2, label",
        ],
    ),
    "csv_answer_column_renamed": Case(
        "qa_columns",
        "train.csv",
        text(f"qid,question,context,answer_text,start\nq1,どこ?,{CONTEXT},東京タワー,9\n"),
        [
            "line 1",
            "field 'answer'",
            "a column named 'answer' (fields.answer_text",
            "found a header of qid, question, context, answer_text, start",
        ],
    ),
    "csv_header_only_qa_columns": Case(
        "qa_columns",
        "train.csv",
        text("qid,question,context,answer,start\n"),
        ["expected at least one row", "found a header and no rows"],
    ),
    # TSV
    "tsv_ragged_row": Case(
        "classification",
        "train.tsv",
        text("pair_id\tsentence1\tsentence2\tlabel\np0\t犬\t動物\tentailment\textra\n"),
        ["line 2", "4 columns as in the header", "an unquoted tab"],
    ),
    "tsv_row_missing_a_column": Case(
        "regression",
        "train.tsv",
        text("pair_id\tsentence1\tsentence2\tlabel\ns0\t犬\t猫\n"),
        ["line 2", "field 'label'", "the row ends before 'label'"],
    ),
    "tsv_unknown_label": Case(
        "classification",
        "train.tsv",
        text("pair_id\tsentence1\tsentence2\tlabel\np0\t犬\t動物\tyes\n"),
        ["line 2", "field 'label'", "found 'yes'"],
    ),
    "tsv_two_columns_renamed": Case(
        "regression",
        "train.tsv",
        text("pair_id\tfirst\tsecond\tlabel\ns0\t犬\t猫\t1.0\n"),
        [
            "line 1",
            "field 'sentence1'",
            "columns named 'sentence1' (fields.texts), 'sentence2' (fields.texts)",
            "found a header of pair_id, first, second, label",
        ],
    ),
    # JSON Lines with nothing in it
    "jsonl_empty_file": Case("regression", "train.jsonl", b"\n\n", ["expected at least one row", "found no rows"]),
    # Parquet
    "parquet_choice_column_missing": Case(
        "multiple_choice",
        "train.parquet",
        parquet({k: v for k, v in CHOICE.items() if k != "choice3"}),
        [
            "field 'choice3'",
            "a column named 'choice3' (fields.choices",
            "found columns q_id, question, choice0, choice1, choice2, choice4, label",
        ],
    ),
    "parquet_no_rows": Case(
        "classification_inferred", "train.parquet", parquet(PAIR, keep=0), ["expected at least one row, found no rows"]
    ),
}


SUMMARY_LINE = re.compile(r"\s+\S+\s+[\d,]+ rows  ")  # `data validate`'s count of a split, not a problem


def write_case(folder: Path, case: Case) -> tuple[Path, Path]:
    """The case's task YAML (train and valid both naming the broken file) and the broken file."""
    folder.mkdir(parents=True)
    data = folder / case.file_name
    data.write_bytes(case.content)
    task = {
        "name": "broken",
        **TASKS[case.kind],
        "files": {"train": case.file_name, "valid": case.file_name},
        "max_seq_length": 32,
        **case.extra,
    }
    path = folder / "broken.yaml"
    path.write_text(yaml.safe_dump(task, allow_unicode=True), encoding="utf-8")
    return path, data


def test_the_corpus_covers_every_format_and_kind():
    assert len(CORPUS) >= 30
    suffixes = {Path(case.file_name).suffix for case in CORPUS.values()}
    assert suffixes == {".jsonl", ".json", ".csv", ".tsv", ".parquet"}
    assert {TASKS[case.kind]["kind"] for case in CORPUS.values()} == {
        "classification",
        "regression",
        "multiple_choice",
        "extractive_qa",
    }


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_a_malformed_file_is_one_line_exit_2_and_nothing_written(name, tmp_path, cache_dir, jglue_bench_cli):
    case = CORPUS[name]
    task, data = write_case(tmp_path / "task", case)
    store = tmp_path / "runs.jsonl"
    cached = set((cache_dir / "features").glob("*")) if (cache_dir / "features").is_dir() else set()
    code, out, err = jglue_bench_cli("train", f"task={task}", "trainer.progress_bar=false", f"results.path={store}")
    assert code == 2, err
    [line] = err.strip().splitlines()
    assert line.startswith("jglue-bench: error: ") and str(data) in line
    assert all(words in line for words in case.expected), line
    assert list((tmp_path / "work").iterdir()) == [] and not store.exists()
    assert (set((cache_dir / "features").glob("*")) if (cache_dir / "features").is_dir() else set()) == cached

    code, out, err = jglue_bench_cli("data", "validate", f"task={task}")
    assert code == 2
    listed = [line for line in out.splitlines() if str(data) in line and not SUMMARY_LINE.match(line)]
    assert listed and all(words in listed[0] for words in case.expected), out
