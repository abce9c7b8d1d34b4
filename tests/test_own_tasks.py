"""Users' own tasks: one YAML over CSV, TSV, JSON Lines, JSON or Parquet files anywhere, trained, scored and used for
prediction through the same commands as JGLUE's tasks; and JCoLA, the sixth task, written only as YAML."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import yaml

from jglue_bench.config import compose_config
from jglue_bench.prepare.stage import carve_rows, read_split, resolve_labels, task_spec

TOPICS = [
    ("サッカーの試合で、日本が二点を取って勝った。", "スポーツ"),
    ("株価が、三日続けて上がった。", "経済"),
    ("新しい星が望遠鏡で見つかった。", "科学"),
    ("カレーの作り方を、祖母に習った。", "料理"),
    ("野球の決勝戦が雨で延期された。", "スポーツ"),
    ("円安が進み、輸入品が値上がりした。", "経済"),
    ("細胞の研究が進み、\n新しい論文が出た。", "科学"),
    ("パンを焼いて、友達と食べた。", "料理"),
]
PAIRS = [
    ("犬が走っている。", "犬が走る。", 4.8),
    ("猫が寝ている。", "車が走っている。", 0.2),
    ("子どもが公園で遊ぶ。", "子どもたちが遊んでいる。", 3.9),
    ("雨が降っている。", "空が晴れている。", 0.8),
    ("男性が本を読む。", "男の人が読書している。", 4.2),
    ("電車が駅に着いた。", "列車が到着した。", 4.5),
    ("花が咲いている。", "ケーキを焼いている。", 0.1),
    ("鳥が空を飛ぶ。", "鳥が飛んでいる。", 4.9),
] * 3


def write_topic_task(folder: Path, **changes) -> Path:
    """A CSV topic task (text,label; quoted commas and a quoted newline) with train, dev and unlabelled rows."""
    (folder / "data").mkdir(parents=True, exist_ok=True)
    for name, rows in (("train", TOPICS * 3), ("dev", TOPICS)):
        with open(folder / "data" / f"{name}.csv", "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "label"])
            writer.writerows(rows)
    with open(folder / "data" / "new.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["text"], ["テニスの大会で、優勝した。"], ["金利が上がった。"]])
    task = {
        "name": "topic",
        "kind": "classification",
        "files": {"train": "data/train.csv", "valid": "data/dev.csv"},
        "fields": {"texts": ["text"], "label": "label"},
        "labels": ["スポーツ", "経済", "科学", "料理"],
        "metrics": ["accuracy", "macro_f1"],
        "main_metric": "macro_f1",
        "max_seq_length": 64,
        "batch_size": 8,
        **changes,
    }
    path = folder / "topic.yaml"
    path.write_text(yaml.safe_dump(task, allow_unicode=True), encoding="utf-8")
    return path


def write_similarity_task(folder: Path) -> Path:
    """A JSON Lines sentence-pair regression task in one file; valid is carved out of it by `split:`."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pairs.jsonl").write_text(
        "".join(json.dumps({"a": a, "b": b, "score": s}, ensure_ascii=False) + "\n" for a, b, s in PAIRS),
        encoding="utf-8",
    )
    (folder / "unlabelled.jsonl").write_text(
        "".join(json.dumps({"a": a, "b": b}, ensure_ascii=False) + "\n" for a, b, _ in PAIRS[:3]), encoding="utf-8"
    )
    task = {
        "name": "similarity",
        "kind": "regression",
        "files": {"train": "pairs.jsonl"},
        "split": {"valid": 0.25, "seed": 7},
        "fields": {"texts": ["a", "b"], "label": "score"},
        "label_range": [0, 5],
        "max_seq_length": 64,
        "batch_size": 8,
    }
    path = folder / "similarity.yaml"
    path.write_text(yaml.safe_dump(task, allow_unicode=True), encoding="utf-8")
    return path


def test_csv_and_carved_jsonl_tasks_train_score_and_predict_from_their_own_yaml(tmp_path, jglue_bench_cli):
    topic = write_topic_task(tmp_path / "topic_task")
    similarity = write_similarity_task(tmp_path / "similarity_task")
    code, out, err = jglue_bench_cli(
        "train",
        "-m",
        f"task={topic},{similarity}",
        "num_train_epochs=2",
        "learning_rate=1e-3",
        "trainer.progress_bar=false",
        f"output_dir={tmp_path / 'sweep'}",
        f"results.path={tmp_path / 'runs.jsonl'}",
    )
    assert code == 0, err
    records = {
        record["task"]["name"]: record
        for record in map(json.loads, (tmp_path / "runs.jsonl").read_text(encoding="utf-8").splitlines())
    }
    assert (
        set(records["topic"]["metrics"]) == {"accuracy", "macro_f1"} and records["topic"]["main_metric"] == "macro_f1"
    )
    assert records["topic"]["throughput"]["train_features"] == 24 and records["topic"]["task"]["origin"] == str(topic)
    assert set(records["similarity"]["metrics"]) == {"pearson", "spearman"}
    train_file, valid_file = records["similarity"]["task"]["files"]
    assert (train_file["used"], valid_file["used"]) == (18, 6)  # 24 pairs, a quarter carved out for valid
    assert valid_file["carve"] == {"from": "train", "valid": 0.25, "seed": 7, "rows": 6}

    code, out, err = jglue_bench_cli(
        "predict", records["topic"]["output_dir"], "--input", str(topic.parent / "data" / "new.csv")
    )
    assert code == 0, err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [row["texts"] for row in rows] == [["テニスの大会で、優勝した。"], ["金利が上がった。"]]
    assert all(row["prediction"] in {"スポーツ", "経済", "科学", "料理"} for row in rows)
    assert all(sum(row["probabilities"].values()) == pytest.approx(1.0, abs=1e-4) for row in rows)
    assert "note:" not in err  # the task names no id column: row numbers are its ids, nothing to say

    lines = tmp_path / "new.txt"  # new texts as they usually come: one per line
    lines.write_text("".join(row["texts"][0] + "\n" for row in rows), encoding="utf-8")
    code, out, err = jglue_bench_cli("predict", records["topic"]["output_dir"], "--input", str(lines))
    assert code == 0, err
    assert [json.loads(line) for line in out.splitlines()] == rows

    output = tmp_path / "scores.jsonl"
    code, _, err = jglue_bench_cli(
        "predict",
        records["similarity"]["output_dir"],
        "--input",
        str(similarity.parent / "unlabelled.jsonl"),
        "--output",
        str(output),
    )
    assert code == 0, err
    rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert [row["id"] for row in rows] == ["1", "2", "3"] and all(isinstance(row["prediction"], float) for row in rows)


def test_jcola_trains_on_the_real_files_and_scores_both_valid_splits(jcola_dir, tmp_path, jglue_bench_cli, monkeypatch):
    monkeypatch.setenv("JCOLA_DATA_DIR", str(jcola_dir))
    code, out, err = jglue_bench_cli(
        "train",
        "task=jcola",
        "model=tiny",
        "num_train_epochs=1",
        "save_model=false",
        "data.max_train_samples=1000",
        "trainer.progress_bar=false",
        f"output_dir={tmp_path / 'run'}",
        f"results.path={tmp_path / 'runs.jsonl'}",
    )
    assert code == 0, err
    record = json.loads((tmp_path / "run" / "record.json").read_text(encoding="utf-8"))
    assert set(record["eval_metrics"]) == {"valid", "valid_out_of_domain"}
    for scores in record["eval_metrics"].values():
        assert set(scores) == {"mcc", "accuracy"} and -100 <= scores["mcc"] <= 100
    files = {file["split"]: file for file in record["task"]["files"]}
    assert [files[split]["examples"] for split in ("train", "valid", "valid_out_of_domain")] == [6919, 865, 685]
    assert all(file["matches_pin"] is True and file["origin"] == "local" for file in files.values())
    assert record["task"]["data_version"] == "1.0" and record["main_metric"] == "mcc"
    lines = (tmp_path / "run" / "predictions-valid_out_of_domain.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 685


def test_jcola_valid_splits_are_mostly_acceptable_so_mcc_leads(jcola_dir):
    # the README's 83.9% / 73.3%: the accuracy a majority guess gets, which is why MCC is the main metric
    cfg = compose_config(["task=jcola", f"task.source.dir={jcola_dir}"])
    spec = task_spec(cfg)
    counts = {}
    for split in ("valid", "valid_out_of_domain"):
        examples = read_split(spec, cfg.data, split).examples
        counts[split] = (sum(example.label for example in examples), len(examples))
    assert counts == {"valid": (726, 865), "valid_out_of_domain": (502, 685)}
    assert spec.labels[1] == "acceptable" and spec.main_metric == "mcc"


def test_every_bundled_task_uses_the_same_file_mechanism():
    for name in ("jnli", "jsts", "jcommonsenseqa", "jsquad", "marc_ja", "jcola"):
        spec = task_spec(compose_config([f"task={name}", "data.dir=null"]))
        assert spec.source.declared and spec.source.sample and spec.files["train"].path.endswith(".json")
        assert spec.main_metric in spec.metrics


def test_labels_are_inferred_from_train_and_integer_columns_map_to_names(tmp_path):
    folder = tmp_path / "acceptability"
    folder.mkdir()
    (folder / "train.tsv").write_text(
        "sentence\tok\n本を読んだ。\t1\n本が読んだ。\t0\n花が咲いた。\t1\n", encoding="utf-8"
    )
    base = {
        "name": "acc",
        "kind": "classification",
        "files": {"train": str(folder / "train.tsv")},
        "fields": {"texts": ["sentence"], "label": "ok"},
        "max_seq_length": 32,
    }
    inferred = resolve_labels(task_spec({"task": base}), {})
    assert inferred.labels == ("0", "1")
    named = task_spec({"task": {**base, "labels": ["unacceptable", "acceptable"]}})
    examples = read_split(named, {}, "train").examples
    assert [named.labels[example.label] for example in examples] == ["acceptable", "unacceptable", "acceptable"]
    assert [example.id for example in examples] == ["1", "2", "3"]  # no id column: the row number


def test_carving_is_deterministic_and_disjoint():
    first, second = (
        carve_rows(100, {"valid": 0.2, "test": 0.1, "seed": 3}),
        carve_rows(100, {"valid": 0.2, "test": 0.1, "seed": 3}),
    )
    assert first == second and (len(first["valid"]), len(first["test"]), len(first["train"])) == (20, 10, 70)
    assert sorted(first["valid"] + first["test"] + first["train"]) == list(range(100))
    assert carve_rows(100, {"valid": 0.2, "seed": 4})["valid"] != first["valid"]


@pytest.mark.parametrize("file_format", ["json", "parquet", "tsv"])
def test_the_same_rows_read_from_json_parquet_and_tsv(tmp_path, file_format):
    rows = [{"id": "a", "text": "一つ目の文。", "label": "x"}, {"id": "b", "text": '二つ目, "引用"。', "label": "y"}]
    path = tmp_path / f"train.{file_format}"
    if file_format == "json":
        path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    elif file_format == "parquet":
        import pyarrow
        import pyarrow.parquet

        pyarrow.parquet.write_table(pyarrow.Table.from_pylist(rows), path)
    else:
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["id", "text", "label"], delimiter="\t")
            writer.writeheader()
            writer.writerows(rows)
    spec = task_spec(
        {
            "task": {
                "name": "t",
                "kind": "classification",
                "files": {"train": str(path)},
                "fields": {"id": "id", "texts": ["text"], "label": "label"},
                "labels": ["x", "y"],
                "max_seq_length": 16,
            }
        }
    )
    examples = read_split(spec, {}, "train").examples
    assert [(example.id, example.texts[0], example.label) for example in examples] == [
        ("a", "一つ目の文。", 0),
        ("b", '二つ目, "引用"。', 1),
    ]


def test_a_local_hugging_face_dataset_folder_is_a_source(tmp_path, cache_dir):
    folder = tmp_path / "hf_topic"
    folder.mkdir()
    for split, rows in (("train", TOPICS), ("validation", TOPICS[:4])):
        (folder / f"{split}.jsonl").write_text(
            "".join(json.dumps({"text": t, "label": label}, ensure_ascii=False) + "\n" for t, label in rows),
            encoding="utf-8",
        )
    spec = task_spec(
        {
            "task": {
                "name": "hf_topic",
                "kind": "classification",
                "hf_dataset": {"path": str(folder)},
                "files": {"train": "train", "valid": "validation"},
                "fields": {"texts": ["text"], "label": "label"},
                "max_seq_length": 32,
            }
        }
    )
    spec = resolve_labels(spec, {"cache_dir": str(cache_dir)})
    data = read_split(spec, {"cache_dir": str(cache_dir)}, "valid")
    assert [example.texts[0] for example in data.examples] == [text for text, _ in TOPICS[:4]]
    assert data.file.origin == "hf" and len(data.file.sha256) == 64
    assert spec.labels == ("スポーツ", "料理", "科学", "経済")


def test_a_hub_dataset_needs_a_pinned_revision(tmp_path):
    spec = task_spec(
        {
            "task": {
                "name": "hub",
                "kind": "classification",
                "hf_dataset": {"path": "someone/topics"},
                "files": {"train": "train"},
                "fields": {"texts": ["text"], "label": "label"},
                "labels": ["a", "b"],
                "max_seq_length": 32,
            }
        }
    )
    from jglue_bench.errors import UserError

    with pytest.raises(UserError, match="has no revision: pin one"):
        read_split(spec, {"cache_dir": str(tmp_path)}, "train")


def test_users_task_folders_are_listed_and_found_by_name(tmp_path, jglue_bench_cli, monkeypatch):
    topic = write_topic_task(tmp_path / "my_tasks")
    monkeypatch.setenv("JGLUE_BENCH_TASKS", str(topic.parent))
    code, out, _ = jglue_bench_cli("tasks")
    assert code == 0
    [line] = [line for line in out.splitlines() if line.strip().startswith("topic ")]
    assert "classification" in line and str(topic) in line
    assert task_spec(compose_config(["task=topic"])).origin == str(topic)
    code, out, err = jglue_bench_cli("data", "validate", "task=topic")
    assert code == 0, err
    assert "train         24 rows" in out and "labels スポーツ 6, 経済 6, 科学 6, 料理 6" in out


def broken_task(folder: Path, case: str) -> tuple[Path, list[str]]:
    """A task with one mistake, and the words its one-line error must contain."""
    folder.mkdir(parents=True, exist_ok=True)
    csv_text = "text,label\n晴れた。,天気\n勝った。,スポーツ\n"
    task = {
        "name": "mistake",
        "kind": "classification",
        "files": {"train": "train.csv", "valid": "train.csv"},
        "fields": {"texts": ["text"], "label": "label"},
        "labels": ["天気", "スポーツ"],
        "max_seq_length": 32,
    }
    expected: list[str]
    if case == "unknown_key":
        task["doc_strid"] = 64
        expected = ["unknown key 'doc_strid'", "did you mean 'doc_stride'?"]
    elif case == "unknown_metric":
        task["metrics"] = ["acuracy"]
        expected = ["unknown metric 'acuracy'", "did you mean 'accuracy'?"]
    elif case == "metric_of_another_kind":
        task["metrics"] = ["pearson"]
        expected = ["metric 'pearson' scores regression tasks", "can use accuracy, macro_f1, mcc"]
    elif case == "missing_file":
        task["files"]["valid"] = "dev.csv"
        expected = [f"{folder / 'dev.csv'} does not exist (valid split)"]
    elif case == "label_not_in_labels":
        csv_text += "雨だった。,政治\n"
        expected = [f"{folder / 'train.csv'}, line 4: field 'label': expected one of 天気, スポーツ", "found '政治'"]
    elif case == "empty_text":
        csv_text += '" ",天気\n'
        expected = ["line 4: field 'text': expected a non-empty string, found ' '"]
    elif case == "wrong_type":
        task["files"] = {"train": "train.jsonl", "valid": "train.jsonl"}
        (folder / "train.jsonl").write_text(
            '{"text": "晴れ", "label": "天気"}\n{"text": 42, "label": "天気"}\n', encoding="utf-8"
        )
        expected = [f"{folder / 'train.jsonl'}, line 2: field 'text': expected a string, found 42"]
    elif case == "csv_row_missing_column":
        csv_text += "曇りだった。\n"
        expected = [
            "line 4: field 'label': expected 2 columns as in the header (text, label)",
            "found 1 columns: the row ends before 'label'",
        ]
    elif case == "ragged_tsv_row":
        task["files"] = {"train": "train.tsv", "valid": "train.tsv"}
        (folder / "train.tsv").write_text("text\tlabel\n晴れた。\t天気\n勝った。\tスポーツ\t余分\n", encoding="utf-8")
        expected = [f"{folder / 'train.tsv'}, line 3: record: expected 2 columns as in the header", "found 3 columns"]
    elif case == "column_not_in_file":
        task["fields"]["texts"] = ["sentence"]
        expected = [
            f"{folder / 'train.csv'}, line 1: field 'sentence': expected a column named 'sentence'",
            "found a header of text, label",
        ]
    elif case == "column_not_in_file_labels_inferred":  # the labels cannot be read either; the column is the cause
        task["fields"]["texts"] = ["sentence"]
        del task["labels"]
        expected = [
            f"{folder / 'train.csv'}, line 1: field 'sentence': expected a column named 'sentence'",
            "found a header of text, label",
        ]
    elif case == "header_only_train":
        csv_text = "text,label\n"
        expected = [f"{folder / 'train.csv'}: record: expected at least one row, found a header and no rows"]
    elif case == "header_only_train_labels_inferred":
        csv_text = "text,label\n"
        del task["labels"]
        expected = [f"{folder / 'train.csv'}: record: expected at least one row, found a header and no rows"]
    elif case == "typo_in_max_seq_length":
        task["max_seq_lenght"] = task.pop("max_seq_length")
        expected = [
            f"(from {folder / 'mistake.yaml'}, line ",
            "unknown key 'max_seq_lenght'",
            "did you mean 'max_seq_length'?",
        ]
    elif case == "typo_in_learning_rate":  # without the check it would silently train at the default rate
        task["learning_rat"] = 1e-3
        expected = ["unknown key 'learning_rat'", "did you mean 'learning_rate'?"]
    elif case == "missing_max_seq_length":
        del task["max_seq_length"]
        expected = [f"(from {folder / 'mistake.yaml'}): key 'max_seq_length' is missing; expected a whole number"]
    else:
        raise ValueError(case)
    (folder / "train.csv").write_text(csv_text, encoding="utf-8")
    path = folder / "mistake.yaml"
    path.write_text(yaml.safe_dump(task, allow_unicode=True), encoding="utf-8")
    return path, expected


MISTAKES = [
    "unknown_key",
    "unknown_metric",
    "metric_of_another_kind",
    "missing_file",
    "label_not_in_labels",
    "empty_text",
    "wrong_type",
    "csv_row_missing_column",
    "ragged_tsv_row",
    "column_not_in_file",
    "column_not_in_file_labels_inferred",
    "header_only_train",
    "header_only_train_labels_inferred",
    "typo_in_max_seq_length",
    "typo_in_learning_rate",
    "missing_max_seq_length",
]


@pytest.mark.parametrize("case", MISTAKES)
def test_each_mistake_is_one_line_exit_2_and_nothing_written(tmp_path, jglue_bench_cli, case):
    path, expected = broken_task(tmp_path / "task", case)
    store = tmp_path / "runs.jsonl"
    code, out, err = jglue_bench_cli("train", f"task={path}", "trainer.progress_bar=false", f"results.path={store}")
    assert code == 2
    [line] = err.strip().splitlines()
    assert line.startswith("jglue-bench: error: ")
    assert all(words in line for words in expected), line
    assert list((tmp_path / "work").iterdir()) == [] and not store.exists()
    code, out, err = jglue_bench_cli("data", "validate", f"task={path}")
    assert code == 2 and all(words in out + err for words in expected), out + err
    assert "two different labels" not in out + err  # a consequence of the mistake, never reported in its place
