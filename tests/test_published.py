"""The published reference scores under results/published/: their schema, their numbers, and the checker that
refuses impossible claims."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from jglue_bench.errors import DataError, UserError
from jglue_bench.records.published import (
    COLUMNS,
    METRIC_RANGES,
    PROTOCOLS,
    SPLITS,
    TASKS,
    impossible_claims,
    load_published,
    packaged_dir,
)

PUBLISHED = Path(__file__).resolve().parent.parent / "results" / "published"
# The shared notes the new sources were transcribed from; a checkout elsewhere may not have them.
MODELS_MD = Path(__file__).resolve().parent.parent.parent / "shared" / "MODELS.md"
CARD = "https://huggingface.co/line-corporation/line-distilbert-base-japanese (model card)"


def write_csv(folder: Path, rows: list[str], name: str = "bad.csv", header: str = ",".join(COLUMNS)) -> Path:
    path = folder / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def row(
    model="line_distilbert",
    task="jnli",
    metric="accuracy",
    value="88.9",
    std="",
    version="1.1",
    split="valid",
    source=CARD,
) -> str:
    return f"{model},,{task},{metric},{value},{std},{version},{split},unstated,{source},"


@pytest.fixture(scope="module")
def committed():
    return load_published(PUBLISHED)


def test_committed_files_follow_the_schema(committed):
    assert sorted(path.name for path in PUBLISHED.glob("*.csv")) == [
        "cl_tohoku_bert_japanese_readme.csv",
        "jcola_readme_v1.0.csv",
        "jglue_evaluation_scripts_readme.csv",
        "jglue_readme_v1.3.csv",
        "line_distilbert_card.csv",
        "llm_jp_modernbert_readme.csv",
        "stability_jp_stable_harness.csv",
        "studio_ousia_luke_readme.csv",
    ]
    for path in PUBLISHED.glob("*.csv"):
        assert path.read_text(encoding="utf-8").splitlines()[0] == ",".join(COLUMNS)
    for score in committed:
        assert score.task in TASKS and score.metric in METRIC_RANGES and score.split in SPLITS
        assert score.source.startswith("https://")
        assert score.protocol in PROTOCOLS or score.protocol.startswith("fewshot/")
        assert score.std is None or score.std >= 0
    assert impossible_claims(committed) == []
    # 3 models x 7 numbers; JGLUE dev 10 models (XLM-R without JSQuAD) + test 9; JCoLA 11 rows x 4 columns;
    # nobu-g 5 models x 8 (LUKE's rows are studio-ousia's, kept there); cl-tohoku 2 x 7; LUKE 2 x 5; llm-jp 3
    counts = {}
    for score in committed:
        counts[score.file] = counts.get(score.file, 0) + 1
    assert counts == {
        "line_distilbert_card": 21,
        "jglue_readme_v1.3": 66 + 59,
        "jcola_readme_v1.0": 44,
        "jglue_evaluation_scripts_readme": 40,
        "cl_tohoku_bert_japanese_readme": 14,
        "studio_ousia_luke_readme": 10,
        "llm_jp_modernbert_readme": 3,
        # 5 models x JCommonsenseQA, JNLI, MARC-ja, and JSQuAD's exact match and jasquad F1 (few-shot)
        "stability_jp_stable_harness": 5 * 3 + 5 * 2,
    }


def test_every_source_states_its_protocol_with_one_label(committed):
    labels = {}
    for score in committed:
        labels.setdefault(score.file, set()).add(score.protocol)
    assert labels == {
        "line_distilbert_card": {"unstated"},
        "jcola_readme_v1.0": {"unstated", "human_annotators"},
        "jglue_readme_v1.3": {"jglue_grid_fixed_seed", "human_annotators"},
        "jglue_evaluation_scripts_readme": {"jglue_grid_unfixed_seed"},
        "cl_tohoku_bert_japanese_readme": {"jglue_grid_fixed_seed"},
        "studio_ousia_luke_readme": {"unstated"},
        "llm_jp_modernbert_readme": {"wider_grid_max"},
        "stability_jp_stable_harness": {
            "fewshot/stability_ja/v0.2/3shot",
            "fewshot/stability_ja/v0.3/3shot",
            "fewshot/stability_ja/v0.2/2shot",
            "fewshot/stability_ja/v0.3/2shot",
        },
    }
    # the source's own words moved into notes when the column became a label
    [jglue] = [
        s
        for s in committed
        if (s.file, s.model, s.task, s.split) == ("jglue_readme_v1.3", "tohoku_bert_base", "jnli", "valid")
    ]
    assert "lr {5e-5, 3e-5, 2e-5} x epochs {3, 4}" in jglue.notes and "seed 42" in jglue.notes


def test_the_line_card_table_as_published(committed):
    card = {(s.model, s.task, s.metric): s.value for s in committed if s.file == "line_distilbert_card"}
    order = [
        ("marc_ja", "accuracy"),
        ("jnli", "accuracy"),
        ("jsts", "pearson"),
        ("jsts", "spearman"),
        ("jsquad", "exact_match"),
        ("jsquad", "f1"),
        ("jcommonsenseqa", "accuracy"),
    ]
    expected = {
        "line_distilbert": [95.6, 88.9, 89.2, 85.1, 87.3, 93.3, 76.1],
        "laboro_distilbert": [94.7, 82.0, 87.4, 82.7, 70.2, 87.3, 73.2],
        "bandainamco_distilbert": [94.6, 81.6, 86.8, 82.1, 80.0, 88.0, 66.5],
    }
    assert card == {(model, *key): value for model, values in expected.items() for key, value in zip(order, values)}
    assert {(s.data_version, s.split, s.protocol) for s in committed if s.file == "line_distilbert_card"} == {
        ("1.1", "valid", "unstated")
    }


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


def test_new_sources_as_published(committed):
    """Hand-copied from the sources (x100): nobu-g's Results table, cl-tohoku's Model Performances, LUKE's News,
    llm-jp-modernbert's Evaluate on JGLUE."""
    scores = {(s.file, s.model, s.task, s.metric): s for s in committed}
    nobu = "jglue_evaluation_scripts_readme"
    # DeBERTaV2 base: 0.970 | 0.879 | 0.922 | 0.886 | 0.922 | 0.899 | 0.951 | 0.873
    assert [
        scores[(nobu, "ku_deberta_v2_base", task, metric)].value
        for task, metric in (
            ("marc_ja", "accuracy"),
            ("jcola", "accuracy"),
            ("jsts", "pearson"),
            ("jsts", "spearman"),
            ("jnli", "accuracy"),
            ("jsquad", "exact_match"),
            ("jsquad", "f1"),
            ("jcommonsenseqa", "accuracy"),
        )
    ] == [97.0, 87.9, 92.2, 88.6, 92.2, 89.9, 95.1, 87.3]
    assert scores[(nobu, "waseda_roberta_large_s512", "jsquad", "exact_match")].value == 91.0
    assert scores[(nobu, "ku_deberta_v3_base", "jcola", "accuracy")].data_version == "1.0"  # JCoLA, not JGLUE
    assert "0.878" in scores[(nobu, "ku_deberta_v3_base", "jcola", "accuracy")].notes
    assert not any(s.file == nobu and s.model.startswith("luke") for s in committed)  # copies of studio-ousia's
    tohoku = "cl_tohoku_bert_japanese_readme"
    assert scores[(tohoku, "tohoku_bert_base_v3", "jsquad", "f1")].value == 94.6
    assert scores[(tohoku, "tohoku_bert_large_v2", "jnli", "accuracy")].value == 92.9
    assert scores[(tohoku, "tohoku_bert_base_v3", "marc_ja", "accuracy")].hub_id == "tohoku-nlp/bert-base-japanese-v3"
    luke = scores[("studio_ousia_luke_readme", "luke_japanese_large_lite", "jsts", "spearman")]
    assert (luke.value, luke.data_version, luke.split) == (90.2, "1.1", "valid")
    assert "luke-japanese-large" in luke.notes and "perform exactly the same" in luke.notes
    llm = {(s.task, s.metric): (s.value, s.data_version) for s in committed if s.file == "llm_jp_modernbert_readme"}
    assert llm == {
        ("jsts", "pearson"): (91.8, "1.2"),
        ("jnli", "accuracy"): (91.3, "1.2"),
        ("jcola", "accuracy"): (84.4, "1.0"),
    }
    for score in committed:
        if score.file in (nobu, tohoku, "studio_ousia_luke_readme"):  # sources that print 0.xxx
            assert re.search(rf"= {score.value / 100:.3f}\b", score.notes), score.origin


NOBU_ORDER = [
    ("marc_ja", "accuracy"),
    ("jcola", "accuracy"),
    ("jsts", "pearson"),
    ("jsts", "spearman"),
    ("jnli", "accuracy"),
    ("jsquad", "exact_match"),
    ("jsquad", "f1"),
    ("jcommonsenseqa", "accuracy"),
]
TOHOKU_ORDER = [
    ("marc_ja", "accuracy"),
    ("jsts", "pearson"),
    ("jsts", "spearman"),
    ("jnli", "accuracy"),
    ("jsquad", "exact_match"),
    ("jsquad", "f1"),
    ("jcommonsenseqa", "accuracy"),
]
# MODELS.md line prefix -> (our file, model id, column order)
MODELS_MD_LINES = {
    "Waseda RoBERTa base (": ("jglue_evaluation_scripts_readme", "waseda_roberta_base", NOBU_ORDER),
    "Waseda RoBERTa large seq512:": ("jglue_evaluation_scripts_readme", "waseda_roberta_large_s512", NOBU_ORDER),
    "LUKE Japanese base (": ("studio_ousia_luke_readme", "luke_japanese_base_lite", NOBU_ORDER),
    "LUKE Japanese large:": ("studio_ousia_luke_readme", "luke_japanese_large_lite", NOBU_ORDER),
    "DeBERTaV2 base (": ("jglue_evaluation_scripts_readme", "ku_deberta_v2_base", NOBU_ORDER),
    "DeBERTaV2 large:": ("jglue_evaluation_scripts_readme", "ku_deberta_v2_large", NOBU_ORDER),
    "DeBERTaV3 base (": ("jglue_evaluation_scripts_readme", "ku_deberta_v3_base", NOBU_ORDER),
    "tohoku-nlp/bert-base-japanese-v3:": ("cl_tohoku_bert_japanese_readme", "tohoku_bert_base_v3", TOHOKU_ORDER),
    "tohoku-nlp/bert-large-japanese-v2:": ("cl_tohoku_bert_japanese_readme", "tohoku_bert_large_v2", TOHOKU_ORDER),
}


@pytest.mark.skipif(not MODELS_MD.is_file(), reason=f"{MODELS_MD} (the shared transcription notes) is not here")
def test_every_number_of_models_md_is_transcribed(committed):
    """Each table line of MODELS.md's "Published numbers", read from its text, against the CSVs: a number mistyped
    in either place fails here. '-' is a number the source does not give: no row."""
    text = MODELS_MD.read_text(encoding="utf-8").split("## Published numbers", 1)[1]
    scores = {(s.file, s.model, s.task, s.metric): s.value for s in committed}
    checked = 0
    for line in text.splitlines():
        line = line.strip().removeprefix("- ")
        prefix = next((prefix for prefix in MODELS_MD_LINES if line.startswith(prefix)), None)
        if prefix is None:
            continue
        file, model, order = MODELS_MD_LINES[prefix]
        cells = re.findall(r"\d\.\d{3}|(?<= )-(?= |$)", line.split(": ", 1)[1])
        assert len(cells) == len(order), line
        for (task, metric), cell in zip(order, cells):
            expected = None if cell == "-" else round(float(cell) * 100, 1)
            assert scores.get((file, model, task, metric)) == expected, (line, task, metric)
            checked += cell != "-"
    assert checked == 5 * 8 + 2 * 5 + 2 * 7  # every line found (LUKE: no JCoLA, no JSQuAD)
    llm = re.search(r"JSTS Pearson (\d+\.\d), JNLI (\d+\.\d), JCoLA accuracy (\d+\.\d)", text)
    assert [float(value) for value in llm.groups()] == [
        scores[("llm_jp_modernbert_readme", "llm_jp_modernbert_base", task, metric)]
        for task, metric in (("jsts", "pearson"), ("jnli", "accuracy"), ("jcola", "accuracy"))
    ]
    luke = re.search(
        r"LUKE Japanese base\s+MARC-ja (\d\.\d+), JSTS (\d\.\d+)/(\d\.\d+), JNLI (\d\.\d+), "
        r"JCommonsenseQA (\d\.\d+); large (\d\.\d+), (\d\.\d+)/(\d\.\d+), (\d\.\d+), (\d\.\d+)",
        text,
    )
    assert luke, "the studio-ousia sentence of MODELS.md"
    order = [
        ("marc_ja", "accuracy"),
        ("jsts", "pearson"),
        ("jsts", "spearman"),
        ("jnli", "accuracy"),
        ("jcommonsenseqa", "accuracy"),
    ]
    expected = [round(float(value) * 100, 1) for value in luke.groups()]
    assert expected == [
        scores[("studio_ousia_luke_readme", model, task, metric)]
        for model in ("luke_japanese_base_lite", "luke_japanese_large_lite")
        for task, metric in order
    ]


@pytest.mark.parametrize(
    "bad, words",
    [
        (row(value="100.5"), "accuracy 100.5 is outside [0, 100]"),
        (row(metric="exact_match", task="jsquad", value="-0.1"), "exact_match -0.1 is outside [0, 100]"),
        (
            row(metric="mcc", task="jcola", value="-100.5", split="test", version="1.0"),
            "mcc -100.5 is outside [-100, 100]",
        ),
        (row(metric="pearson", task="jsts", value="101"), "pearson 101 is outside [-100, 100]"),
        (row(std="-0.2"), "std -0.2 is negative"),
    ],
)
def test_the_checker_refuses_an_impossible_number(tmp_path, bad, words):
    path = write_csv(tmp_path, [row(task="marc_ja", value="95.6"), bad])
    with pytest.raises(UserError, match="bad.csv, line 3: " + words.replace("[", r"\[").replace("]", r"\]")):
        load_published(path)


def test_the_checker_refuses_exact_match_above_f1_of_the_same_evaluation(tmp_path):
    path = write_csv(
        tmp_path,
        [row(task="jsquad", metric="exact_match", value="88.0"), row(task="jsquad", metric="f1", value="87.9")],
    )
    with pytest.raises(UserError, match=r"line 2: exact_match 88 is above the f1 87.9 of the same evaluation"):
        load_published(path)
    # jp-stable's F1 over MeCab words is held to the same bound
    words = write_csv(
        tmp_path,
        [row(task="jsquad", metric="exact_match", value="58.4"), row(task="jsquad", metric="jasquad_f1", value="58.3")],
        name="words.csv",
    )
    with pytest.raises(UserError, match=r"line 2: exact_match 58.4 is above the jasquad_f1 58.3 of the same"):
        load_published(words)
    # the same numbers on different splits are two evaluations: nothing impossible
    fine = write_csv(
        tmp_path,
        [
            row(task="jsquad", metric="exact_match", value="88.0", split="test"),
            row(task="jsquad", metric="f1", value="87.9"),
        ],
        name="fine.csv",
    )
    assert len(load_published(fine)) == 2


def test_the_checker_refuses_the_same_number_claimed_twice(tmp_path):
    path = write_csv(tmp_path, [row(value="88.9"), row(value="89.0")])
    with pytest.raises(UserError, match=r"line 3: the same accuracy of line_distilbert on jnli v1.1 valid"):
        load_published(path)


def test_negative_correlations_and_mcc_are_possible(tmp_path):
    path = write_csv(
        tmp_path,
        [
            row(task="jsts", metric="spearman", value="-12.5"),
            row(task="jcola", metric="mcc", value="-3.0", version="1.0", split="test"),
        ],
    )
    assert [score.value for score in load_published(path)] == [-12.5, -3.0]


@pytest.mark.parametrize(
    "bad, field",
    [
        (row(metric="acc"), "field 'metric': expected one of accuracy"),
        (row(task="jglue"), "field 'task': expected one of marc_ja"),
        (row(value="88.9%"), "field 'value': expected a finite number"),
        (row(value="nan"), "field 'value': expected a finite number"),
        (row(std="n/a"), "field 'std': expected a finite number"),
        (row(version="v1.1"), "field 'data_version'"),
        (row(split="dev"), "field 'split': expected one of valid, test"),
        (row(source="the model card"), "field 'source': expected the URL"),
        (row(model="LINE DistilBERT"), "field 'model'"),
        (row().replace(",unstated,", ",JGLUE grid,"), "field 'protocol': expected one of jglue_grid_fixed_seed"),
        (row() + ",extra", "expected 11 cells"),
    ],
)
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


def test_a_file_named_twice_is_read_once_and_a_users_table_adds_to_the_packaged(tmp_path):
    assert packaged_dir() == PUBLISHED  # a checkout: the repository's folder is the packaged one
    packaged = load_published(packaged_dir())
    assert load_published(packaged_dir(), PUBLISHED / "jcola_readme_v1.0.csv", str(PUBLISHED)) == packaged
    mine = write_csv(tmp_path, [row(model="my_model", value="77.5")], name="mine.csv")
    both = load_published(packaged_dir(), mine)
    assert len(both) == len(packaged) + 1 and both[-1].model == "my_model" and both[-1].file == "mine"
    # a user's row that repeats a packaged evaluation (same model, task, version, split, source) is refused
    card = (
        "https://huggingface.co/line-corporation/line-distilbert-base-japanese (model card, section Evaluation: "
        "JGLUE table)"
    )
    twice = write_csv(tmp_path, [row(value="88.0", source=f'"{card}"')], name="twice.csv")
    with pytest.raises(UserError, match=r"twice.csv, line 2: the same accuracy of line_distilbert on jnli v1.1 valid"):
        load_published(packaged_dir(), twice)


def test_every_model_configs_published_id_names_rows(committed):
    """A `published:` key with no rows would silently pair a model with nothing."""
    import yaml

    ids = {score.model for score in committed}
    configs = sorted((PUBLISHED.parent.parent / "configs" / "model").glob("*.yaml"))
    keys = {path.name: yaml.safe_load(path.read_text(encoding="utf-8")).get("published") for path in configs}
    assert {name: key for name, key in keys.items() if key is not None and key not in ids} == {}
