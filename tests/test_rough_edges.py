"""The rough edges a new user found with task YAMLs written from the README alone (issue #14): a task key's typo
or absence is the same one line through every command, validation names causes before their consequences,
`predict` takes new data as it usually comes (no id column, plain text), and `data stats` skips tasks whose files
are absent. Every mistake is one line, exit 2, with nothing written; what must be accepted exits 0."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from jglue_bench.config import bundled_tasks, config_dir
from jglue_bench.tasks.spec import NESTED_KEYS, REQUIRED_KEYS, TASK_KEYS

ROWS = [
    ("r1", "晴れて暖かい。", "天気"),
    ("r2", "試合に勝った。", "スポーツ"),
    ("r3", "雨が降った。", "天気"),
    ("r4", "決勝で負けた。", "スポーツ"),
    ("r5", "雪が積もった。", "天気"),
    ("r6", "点を取った。", "スポーツ"),
]


def write_task(folder: Path, name: str = "weather", csv_text: str | None = None, **changes) -> Path:
    """A one-text classification task over a CSV with an id column; its labels are inferred from train."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.csv").write_text(
        csv_text if csv_text is not None else "id,text,label\n" + "".join(f"{i},{t},{label}\n" for i, t, label in ROWS),
        encoding="utf-8",
    )
    task = {
        "name": name,
        "kind": "classification",
        "files": {"train": "train.csv", "valid": "train.csv"},
        "fields": {"id": "id", "texts": ["text"], "label": "label"},
        "max_seq_length": 32,
        **changes,
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(task, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def one_error_line(err: str) -> str:
    [line] = err.strip().splitlines()
    assert line.startswith("jglue-bench: error: "), line
    return line


# --- task keys: one rule, every command, before Hydra resolves anything ---


def misspelled(key: str) -> str:
    """The key with its middle character doubled: close to the key, and to no other."""
    middle = len(key) // 2
    return key[:middle] + key[middle] + key[middle:]


def key_paths(task: dict) -> list[tuple[str, ...]]:
    """Every key of a task YAML that the task rule names: the top-level keys, those of its fields, source, split,
    grid and hf_dataset blocks, and those of each file entry (split names under files are free, so not these)."""
    paths = [(key,) for key in task]
    for block in ("fields", *NESTED_KEYS):
        if isinstance(task.get(block), dict):
            paths += [(block, key) for key in task[block]]
    for split, entry in (task.get("files") or {}).items():
        if isinstance(entry, dict):
            paths += [("files", split, key) for key in entry]
    return paths


BUNDLED_KEYS = [
    (name, path)
    for name, file in sorted(bundled_tasks().items())
    for path in key_paths(yaml.safe_load(file.read_text(encoding="utf-8")))
]


def test_the_bundled_key_cases_cover_every_task_and_the_keys_the_root_config_reads():
    assert {name for name, _ in BUNDLED_KEYS} == set(bundled_tasks())
    read_by_root = {"max_seq_length", "batch_size", "learning_rate", "num_train_epochs", "name"}
    assert {(name, key) for name in bundled_tasks() for key in read_by_root} <= {
        (name, path[0]) for name, path in BUNDLED_KEYS if len(path) == 1
    }
    assert {"doc_stride", "max_query_length", "n_best_size", "max_answer_length"} <= {
        path[0] for name, path in BUNDLED_KEYS if name == "jsquad"
    }
    assert len({path for _, path in BUNDLED_KEYS if len(path) > 1}) >= 15  # nested keys are covered too


@pytest.mark.parametrize("name,path", BUNDLED_KEYS, ids=[f"{n}:{'.'.join(p)}" for n, p in BUNDLED_KEYS])
def test_every_bundled_task_key_misspelled_is_a_did_you_mean_through_train(name, path, tmp_path, jglue_bench_cli):
    task = yaml.safe_load((config_dir() / "task" / f"{name}.yaml").read_text(encoding="utf-8"))
    parent = task
    for key in path[:-1]:
        parent = parent[key]
    typo = misspelled(path[-1])
    assert typo not in parent and typo not in TASK_KEYS
    parent[typo] = parent.pop(path[-1])
    file = tmp_path / "typo.yaml"
    file.write_text(
        yaml.safe_dump(task, allow_unicode=True, sort_keys=False, default_flow_style=False), encoding="utf-8"
    )
    dotted = ".".join([*path[:-1], typo])
    [line_number] = [
        number
        for number, text in enumerate(file.read_text(encoding="utf-8").splitlines(), 1)
        if text.strip().startswith(f"{typo}:")
    ]

    code, out, err = jglue_bench_cli("train", f"task={file}", f"results.path={tmp_path / 'runs.jsonl'}")
    assert code == 2
    line = one_error_line(err)
    assert f"(from {file}, line {line_number}): unknown key '{dotted}' (did you mean '{path[-1]}'?)" in line
    assert list((tmp_path / "work").iterdir()) == [] and not (tmp_path / "runs.jsonl").exists()


@pytest.mark.parametrize("key", ["max_seq_length", "batch_size", "learning_rate", "num_train_epochs"])
def test_a_protocol_key_typo_is_the_same_line_through_train_validate_stats_and_predict(key, tmp_path, jglue_bench_cli):
    path = write_task(tmp_path / "task")
    task = yaml.safe_load(path.read_text(encoding="utf-8"))
    task[misspelled(key)] = task.pop(key, 8 if key != "learning_rate" else 1e-3)  # the user's only spelling
    path.write_text(yaml.safe_dump(task, allow_unicode=True), encoding="utf-8")
    lines = set()
    for command in (["train"], ["data", "validate"], ["data", "stats"]):
        code, out, err = jglue_bench_cli(*command, f"task={path}")
        assert code == 2, (command, err)
        lines.add(one_error_line(err))
    run = saved_run_with_task(tmp_path / "run", path)
    code, out, err = jglue_bench_cli("predict", str(run), "--input", str(tmp_path / "task" / "train.csv"))
    assert code == 2
    lines.add(one_error_line(err))
    [line] = lines  # one message, whichever command
    assert f"unknown key '{misspelled(key)}' (did you mean '{key}'?)" in line and str(path) in line
    assert list((tmp_path / "work").iterdir()) == []


def saved_run_with_task(folder: Path, task_file: Path) -> Path:
    """A run folder as `train` leaves it, whose config.yaml holds this task exactly as written (a hand-edited
    config); no weights: the task's keys are checked before any model is loaded."""
    from omegaconf import OmegaConf

    from jglue_bench.config import compose_config
    from jglue_bench.tokenization.recipes import RECIPE_FILE

    cfg = OmegaConf.to_container(compose_config(["task=jnli"]), resolve=True)
    cfg["task"] = {**yaml.safe_load(task_file.read_text(encoding="utf-8")), "origin": str(task_file)}
    (folder / "model").mkdir(parents=True)
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg, allow_unicode=True), encoding="utf-8")
    (folder / "model" / RECIPE_FILE).write_text(json.dumps(cfg["model"]["tokenizer"]), encoding="utf-8")
    return folder


@pytest.mark.parametrize("key", [*REQUIRED_KEYS, "fields"])
def test_a_missing_required_key_is_named_as_missing(key, tmp_path, jglue_bench_cli):
    path = write_task(tmp_path / "task")
    task = yaml.safe_load(path.read_text(encoding="utf-8"))
    del task[key]
    path.write_text(yaml.safe_dump(task, allow_unicode=True), encoding="utf-8")
    for command in (["train"], ["data", "validate"]):
        code, out, err = jglue_bench_cli(*command, f"task={path}")
        assert code == 2
        line = one_error_line(err)
        assert f"(from {path}): key '{key}' is missing; expected" in line, line
        assert "Interpolation" not in line and "could not be resolved" not in line
    assert list((tmp_path / "work").iterdir()) == []


def test_a_key_of_another_kind_and_an_empty_required_key_are_named(tmp_path):
    from jglue_bench.errors import UserError
    from jglue_bench.tasks.spec import check_task_keys

    task = {
        "name": "t",
        "kind": "classification",
        "files": {"train": "a.csv"},
        "fields": {"texts": ["text"], "label": "label"},
        "max_seq_length": 32,
    }
    check_task_keys(task)  # a complete task passes
    with pytest.raises(UserError, match=r"key 'doc_stride' applies to extractive_qa tasks only"):
        check_task_keys({**task, "doc_stride": 64})
    with pytest.raises(UserError, match=r"key 'max_seq_length' has no value; expected a whole number"):
        check_task_keys({**task, "max_seq_length": None})
    with pytest.raises(UserError, match=r"key 'fields.label' is missing; a classification task needs fields"):
        check_task_keys({**task, "fields": {"texts": ["text"]}})
    check_task_keys({**task, "kind": "extractive_qa", "fields": None})  # QA reads SQuAD's own names by default


def test_each_task_of_a_sweep_is_checked_before_hydra_starts(tmp_path, jglue_bench_cli):
    good = write_task(tmp_path / "good")
    bad = write_task(tmp_path / "bad", name="bad", learning_rat=1e-3)
    code, out, err = jglue_bench_cli(
        "train",
        "-m",
        f"task={good},{bad}",
        f"output_dir={tmp_path / 'sweep'}",
        f"results.path={tmp_path / 'runs.jsonl'}",
    )
    assert code == 2
    assert "unknown key 'learning_rat' (did you mean 'learning_rate'?)" in one_error_line(err)
    assert not (tmp_path / "sweep").exists() and not (tmp_path / "runs.jsonl").exists()


# --- validation: columns, then rows, then what is inferred from them ---


def test_a_train_file_with_a_header_only_is_said_to_have_no_rows(tmp_path, jglue_bench_cli):
    path = write_task(tmp_path / "task", csv_text="id,text,label\n")
    expected = f"{tmp_path / 'task' / 'train.csv'}: record: expected at least one row, found a header and no rows."
    code, out, err = jglue_bench_cli("train", f"task={path}", f"results.path={tmp_path / 'runs.jsonl'}")
    assert code == 2 and one_error_line(err) == f"jglue-bench: error: {expected}"
    code, out, err = jglue_bench_cli("data", "validate", f"task={path}")
    assert code == 2 and f"1 problem in task 'weather':\n  {expected}" in out
    assert "two different labels" not in out
    assert list((tmp_path / "work").iterdir()) == [] and not (tmp_path / "runs.jsonl").exists()


def test_a_renamed_column_is_reported_not_the_labels_it_hides(tmp_path, jglue_bench_cli):
    path = write_task(
        tmp_path / "task", csv_text="id,sentence,label\n" + "".join(f"{i},{t},{label}\n" for i, t, label in ROWS)
    )
    expected = (
        f"{tmp_path / 'task' / 'train.csv'}, line 1: field 'text': expected a column named 'text' "
        f"(fields.texts of task 'weather'), found a header of id, sentence, label."
    )
    code, out, err = jglue_bench_cli("train", f"task={path}", f"results.path={tmp_path / 'runs.jsonl'}")
    assert code == 2 and one_error_line(err) == f"jglue-bench: error: {expected}"
    code, out, err = jglue_bench_cli("data", "validate", f"task={path}")
    assert code == 2 and f"1 problem in task 'weather':\n  {expected}" in out
    assert "found []" not in out and "two different labels" not in out


def test_validate_lists_every_problem_cause_first(tmp_path, jglue_bench_cli):
    """Train lacks two columns, valid has a bad row and a good one; both files' problems are listed, the
    columns first (together), and the labels train cannot give are not listed as a problem of their own."""
    folder = tmp_path / "task"
    path = write_task(folder, csv_text="id,sentence,category\nr1,晴れ。,天気\n")
    task = yaml.safe_load(path.read_text(encoding="utf-8"))
    task["files"]["valid"] = "dev.csv"
    path.write_text(yaml.safe_dump(task, allow_unicode=True, sort_keys=False), encoding="utf-8")
    (folder / "dev.csv").write_text('id,text,label\nd1,晴れ。,天気\nd2,"",天気\n', encoding="utf-8")
    code, out, err = jglue_bench_cli("data", "validate", f"task={path}")
    assert code == 2
    listed = out.split("2 problems in task 'weather':\n")[1].splitlines()
    assert listed[0] == (
        f"  {folder / 'train.csv'}, line 1: field 'text': expected columns named 'text' "
        f"(fields.texts), 'label' (fields.label) of task 'weather', found a header of id, sentence, "
        f"category."
    )
    assert listed[1] == f"  {folder / 'dev.csv'}, line 3: field 'text': expected a non-empty string, found ''."
    assert "labels not checked" in out  # valid's texts were checked; its labels could not be


def test_a_parquet_file_without_a_column_is_named_for_the_column(tmp_path, jglue_bench_cli):
    import pyarrow
    import pyarrow.parquet

    folder = tmp_path / "task"
    path = write_task(folder)
    task = yaml.safe_load(path.read_text(encoding="utf-8"))
    task["files"] = {"train": "train.parquet", "valid": "train.parquet"}
    path.write_text(yaml.safe_dump(task, allow_unicode=True), encoding="utf-8")
    pyarrow.parquet.write_table(
        pyarrow.Table.from_pylist([{"id": i, "sentence": t, "label": label} for i, t, label in ROWS]),
        folder / "train.parquet",
    )
    for command in (["train"], ["data", "validate"]):
        code, out, err = jglue_bench_cli(*command, f"task={path}")
        assert code == 2
        assert (
            f"{folder / 'train.parquet'}: field 'text': expected a column named 'text' (fields.texts of task "
            f"'weather'), found columns id, sentence, label."
        ) in out + err


# --- predict: new data as it usually comes ---


def test_predict_takes_rows_without_ids_and_plain_text_lines(tmp_path, jglue_bench_cli):
    path = write_task(tmp_path / "task")
    run = tmp_path / "run"
    code, out, err = jglue_bench_cli(
        "train",
        f"task={path}",
        "num_train_epochs=1",
        "trainer.progress_bar=false",
        f"output_dir={run}",
        f"results.path={tmp_path / 'runs.jsonl'}",
    )
    assert code == 0, err
    (tmp_path / "new.csv").write_text("text\n晴れた。\n勝った。\n", encoding="utf-8")
    code, out, err = jglue_bench_cli("predict", str(run), "--input", str(tmp_path / "new.csv"))
    assert code == 0, err
    assert err.count("note: ") == 1 and f"{tmp_path / 'new.csv'} has no 'id' column" in err
    assert "each prediction's id is its row number" in err
    rows = [json.loads(line) for line in out.splitlines()]
    assert [(row["id"], row["texts"]) for row in rows] == [("1", ["晴れた。"]), ("2", ["勝った。"])]

    (tmp_path / "new.txt").write_text("晴れた。\r\n\n勝った。, 二点差で\n", encoding="utf-8")
    code, out, err = jglue_bench_cli("predict", str(run), "--input", str(tmp_path / "new.txt"))
    assert code == 0, err
    assert err.count("note: ") == 1 and "is plain text, so each prediction's id is its row number" in err
    txt_rows = [json.loads(line) for line in out.splitlines()]
    assert [(row["id"], row["texts"]) for row in txt_rows] == [("1", ["晴れた。"]), ("2", ["勝った。, 二点差で"])]
    assert txt_rows[0]["probabilities"] == rows[0]["probabilities"]  # the same text, the same prediction

    (tmp_path / "ids.csv").write_text("id,text\na,晴れた。\n", encoding="utf-8")  # ids present: used, no note
    code, out, err = jglue_bench_cli("predict", str(run), "--input", str(tmp_path / "ids.csv"))
    assert code == 0 and "note:" not in err and json.loads(out)["id"] == "a"

    for name, content, expected in [
        ("wrong.csv", "sentence\n晴れた。\n", "line 1: field 'text': expected a column named 'text'"),
        ("empty.txt", "\n\n", "expected at least one row, found no rows"),
        ("missing.csv", None, "is not a file; expected a file of rows to predict"),
    ]:
        if content is not None:
            (tmp_path / name).write_text(content, encoding="utf-8")
        output = tmp_path / f"{name}.jsonl"
        code, out, err = jglue_bench_cli("predict", str(run), "--input", str(tmp_path / name), "--output", str(output))
        assert code == 2 and expected in one_error_line(err) and not output.exists()


def test_plain_text_is_refused_for_a_task_of_two_texts(tmp_path):
    from jglue_bench.data.sources import SplitFile
    from jglue_bench.errors import DataError
    from jglue_bench.prepare.stage import examples_to_predict, task_spec

    pair = task_spec(
        {
            "task": {
                "name": "pairs",
                "kind": "regression",
                "files": {"train": "t.jsonl"},
                "fields": {"texts": ["a", "b"], "label": "score"},
                "max_seq_length": 32,
            }
        }
    )
    lines = tmp_path / "new.txt"
    lines.write_text("一つ目。\n", encoding="utf-8")
    with pytest.raises(
        DataError,
        match=r"new.txt: record: expected a file with the columns task 'pairs' reads "
        r"\(a, b\): CSV, TSV, JSON Lines, JSON or Parquet, found plain text",
    ):
        examples_to_predict(pair, SplitFile("input", lines, "txt", "0" * 64, None, "local", "new.txt"))


# --- data stats: what is absent is skipped ---


def test_data_stats_skips_tasks_without_files_and_exits_0(tmp_path, jglue_bench_cli):
    from jglue_bench.data.sources import sample_dir

    data = tmp_path / "datasets"
    shutil.copytree(sample_dir() / "jsts-v1.3", data / "jsts-v1.3")
    (data / "jnli-v1.3").mkdir()
    shutil.copy(sample_dir() / "jnli-v1.3" / "valid-v1.3.json", data / "jnli-v1.3")
    code, out, err = jglue_bench_cli("data", "stats", f"data.dir={data}")
    assert code == 0, err
    for name in ("jcommonsenseqa", "jsquad", "marc_ja"):
        assert f"{name}: no files here (skipped)" in out
    jnli = out.split("\njnli (")[1].split("\n\n")[0]
    assert [line.split()[0] for line in jnli.splitlines()[1:] if line.strip().endswith(".json")] == ["valid"]
    assert f"{data / 'jsts-v1.3' / 'test-v1.3.json'}" in out

    (data / "jsts-v1.3" / "valid-v1.3.json").write_text('{"sentence_pair_id": "1"}\n', encoding="utf-8")
    code, out, err = jglue_bench_cli("data", "stats", f"data.dir={data}")
    assert code == 2 and "1 problem in task 'jsts'" in one_error_line(err)
