"""The published reference scores under results/published/: their schema, their numbers, and the checker that
refuses impossible claims."""

from __future__ import annotations

from pathlib import Path

import pytest

from jglue_bench.errors import DataError, UserError
from jglue_bench.published import COLUMNS, METRIC_RANGES, SPLITS, TASKS, impossible_claims, load_published

PUBLISHED = Path(__file__).resolve().parent.parent / "results" / "published"
CARD = "https://huggingface.co/line-corporation/line-distilbert-base-japanese (model card)"


def write_csv(folder: Path, rows: list[str], name: str = "bad.csv", header: str = ",".join(COLUMNS)) -> Path:
    path = folder / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def row(model="line_distilbert", task="jnli", metric="accuracy", value="88.9", std="", version="1.1",
        split="valid", source=CARD) -> str:
    return f"{model},,{task},{metric},{value},{std},{version},{split},unstated,{source},"


@pytest.fixture(scope="module")
def committed():
    return load_published(PUBLISHED)


def test_committed_files_follow_the_schema(committed):
    assert sorted(path.name for path in PUBLISHED.glob("*.csv")) == [
        "jcola_readme_v1.0.csv", "jglue_readme_v1.3.csv", "line_distilbert_card.csv"]
    for path in PUBLISHED.glob("*.csv"):
        assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(COLUMNS)
    for score in committed:
        assert score.task in TASKS and score.metric in METRIC_RANGES and score.split in SPLITS
        assert score.source.startswith("https://") and score.protocol
        assert score.std is None or score.std >= 0
    assert impossible_claims(committed) == []
    # 3 models x 7 numbers; JGLUE dev 10 models (XLM-R without JSQuAD) + test 9; JCoLA 11 rows x 4 columns
    counts = {}
    for score in committed:
        counts[score.file] = counts.get(score.file, 0) + 1
    assert counts == {"line_distilbert_card": 21, "jglue_readme_v1.3": 66 + 59, "jcola_readme_v1.0": 44}


def test_the_line_card_table_as_published(committed):
    card = {(s.model, s.task, s.metric): s.value for s in committed if s.file == "line_distilbert_card"}
    order = [("marc_ja", "accuracy"), ("jnli", "accuracy"), ("jsts", "pearson"), ("jsts", "spearman"),
             ("jsquad", "exact_match"), ("jsquad", "f1"), ("jcommonsenseqa", "accuracy")]
    expected = {"line_distilbert": [95.6, 88.9, 89.2, 85.1, 87.3, 93.3, 76.1],
                "laboro_distilbert": [94.7, 82.0, 87.4, 82.7, 70.2, 87.3, 73.2],
                "bandainamco_distilbert": [94.6, 81.6, 86.8, 82.1, 80.0, 88.0, 66.5]}
    assert card == {(model, *key): value for model, values in expected.items() for key, value in zip(order, values)}
    assert {(s.data_version, s.split, s.protocol) for s in committed if s.file == "line_distilbert_card"} == {
        ("1.1", "valid", "unstated")}


def test_spot_checks_against_the_source_tables(committed):
    scores = {(s.file, s.model, s.task, s.metric, s.split): (s.value, s.std) for s in committed}
    # JGLUE README v1.3: Tohoku BERT base dev JNLI 0.906 (re-scored after the v1.2 relabelling), test JSQuAD 0.879/0.946
    assert scores[("jglue_readme_v1.3", "tohoku_bert_base", "jnli", "accuracy", "valid")] == (90.6, None)
    assert scores[("jglue_readme_v1.3", "tohoku_bert_base", "jsquad", "exact_match", "test")] == (87.9, None)
    assert scores[("jglue_readme_v1.3", "tohoku_bert_base", "jsquad", "f1", "test")] == (94.6, None)
    assert scores[("jglue_readme_v1.3", "human", "jcommonsenseqa", "accuracy", "valid")] == (98.6, None)
    assert ("jglue_readme_v1.3", "xlm_roberta_base", "jsquad", "f1", "valid") not in scores  # "-/-" in the README
    # JCoLA: 0.838 ± 0.007 and 0.35 ± 0.027, x100
    assert scores[("jcola_readme_v1.0", "tohoku_bert_base", "jcola", "accuracy", "test")] == (83.8, 0.7)
    assert scores[("jcola_readme_v1.0", "tohoku_bert_base", "jcola", "mcc", "test")] == (35.0, 2.7)
    assert scores[("jcola_readme_v1.0", "xlm_roberta_large", "jcola", "mcc", "test_out_of_domain")] == (32.0, 3.3)
    assert scores[("jcola_readme_v1.0", "human_majority", "jcola", "mcc", "test_out_of_domain")] == (100.0, None)


@pytest.mark.parametrize("bad, words", [
    (row(value="100.5"), "accuracy 100.5 is outside [0, 100]"),
    (row(metric="exact_match", task="jsquad", value="-0.1"), "exact_match -0.1 is outside [0, 100]"),
    (row(metric="mcc", task="jcola", value="-100.5", split="test", version="1.0"), "mcc -100.5 is outside [-100, 100]"),
    (row(metric="pearson", task="jsts", value="101"), "pearson 101 is outside [-100, 100]"),
    (row(std="-0.2"), "std -0.2 is negative"),
])
def test_the_checker_refuses_an_impossible_number(tmp_path, bad, words):
    path = write_csv(tmp_path, [row(task="marc_ja", value="95.6"), bad])
    with pytest.raises(UserError, match="bad.csv, line 3: " + words.replace("[", r"\[").replace("]", r"\]")):
        load_published(path)


def test_the_checker_refuses_exact_match_above_f1_of_the_same_evaluation(tmp_path):
    path = write_csv(tmp_path, [row(task="jsquad", metric="exact_match", value="88.0"),
                                row(task="jsquad", metric="f1", value="87.9")])
    with pytest.raises(UserError, match=r"line 2: exact_match 88 is above the f1 87.9 of the same evaluation"):
        load_published(path)
    # the same numbers on different splits are two evaluations: nothing impossible
    fine = write_csv(tmp_path, [row(task="jsquad", metric="exact_match", value="88.0", split="test"),
                                row(task="jsquad", metric="f1", value="87.9")], name="fine.csv")
    assert len(load_published(fine)) == 2


def test_the_checker_refuses_the_same_number_claimed_twice(tmp_path):
    path = write_csv(tmp_path, [row(value="88.9"), row(value="89.0")])
    with pytest.raises(UserError, match=r"line 3: the same accuracy of line_distilbert on jnli v1.1 valid"):
        load_published(path)


def test_negative_correlations_and_mcc_are_possible(tmp_path):
    path = write_csv(tmp_path, [row(task="jsts", metric="spearman", value="-12.5"),
                                row(task="jcola", metric="mcc", value="-3.0", version="1.0", split="test")])
    assert [score.value for score in load_published(path)] == [-12.5, -3.0]


@pytest.mark.parametrize("bad, field", [
    (row(metric="acc"), "field 'metric': expected one of accuracy"),
    (row(task="jglue"), "field 'task': expected one of marc_ja"),
    (row(value="88.9%"), "field 'value': expected a finite number"),
    (row(value="nan"), "field 'value': expected a finite number"),
    (row(std="n/a"), "field 'std': expected a finite number"),
    (row(version="v1.1"), "field 'data_version'"),
    (row(split="dev"), "field 'split': expected one of valid, test"),
    (row(source="the model card"), "field 'source': expected the URL"),
    (row(model="LINE DistilBERT"), "field 'model'"),
    (row() + ",extra", "expected 11 cells"),
])
def test_a_malformed_row_is_named_by_file_line_and_field(tmp_path, bad, field):
    path = write_csv(tmp_path, [row(task="marc_ja"), bad])
    with pytest.raises(DataError, match=f"bad.csv, line 3: .*{field}"):
        load_published(path)


def test_a_wrong_header_or_a_missing_path_is_one_clear_error(tmp_path):
    path = write_csv(tmp_path, [row()], header="model,task,metric,value")
    with pytest.raises(DataError, match="line 1: record: expected the header model,hub_id,task"):
        load_published(path)
    with pytest.raises(UserError, match="does not exist"):
        load_published(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="holds no .csv files"):
        load_published(tmp_path / "empty")
