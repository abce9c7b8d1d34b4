"""A bad record stops the run with one paragraph naming file, line, field and expectation; nothing is written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from jglue_bench.errors import DataError
from jglue_bench.prepare.stage import read_split, task_spec

GOOD = {
    "sentence_pair_id": "0",
    "yjcaptions_id": "1-2",
    "sentence1": "犬が走る。",
    "sentence2": "動物が走る。",
    "label": "entailment",
}
BROKEN_LINES = {
    "bad_json": (
        '{"sentence_pair_id": "9", "sentence1": "猫", "sentence2": "猫",',
        None,
        "one JSON object on each line",
    ),
    "missing_sentence2": (
        json.dumps({key: value for key, value in GOOD.items() if key != "sentence2"}, ensure_ascii=False),
        "sentence2",
        "non-empty string",
    ),
    "unknown_label": (
        json.dumps({**GOOD, "sentence_pair_id": "9", "label": "maybe"}, ensure_ascii=False),
        "label",
        "one of entailment, contradiction, neutral",
    ),
}


def write_jnli(root: Path, broken_line: str, split: str = "test") -> Path:
    folder = root / "jnli-v1.3"
    folder.mkdir(parents=True)
    lines = [json.dumps({**GOOD, "sentence_pair_id": str(i)}, ensure_ascii=False) for i in range(4)]
    lines.insert(2, broken_line)  # line 3 of the file
    for name in ("test", "valid"):
        (folder / f"{name}-v1.3.json").write_text(
            "\n".join(lines if name == split else lines[:2]) + "\n", encoding="utf-8"
        )
    return folder / f"{split}-v1.3.json"


# One case in a real child process (exit code, no traceback on stderr); tests/test_malformed.py runs the corpus of
# every other kind of mistake through the same CLI in-process.
@pytest.mark.slow  # a child process that imports torch: seconds; test_malformed runs the same case in-process
@pytest.mark.parametrize("case", ["bad_json"])
def test_cli_reports_file_line_and_field_without_traceback_and_writes_nothing(tmp_path, case):
    line, field, expected = BROKEN_LINES[case]
    path = write_jnli(tmp_path / "data", line)
    work = tmp_path / "work"
    work.mkdir()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "JGLUE_BENCH_CACHE": str(tmp_path / "cache")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "jglue_bench.cli",
            "train",
            "task=jnli",
            "model=tiny",
            f"data.dir={tmp_path / 'data'}",
            "data.train_split=test",
            "data.eval_split=valid",
            "trainer.progress_bar=false",
        ],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("jglue-bench: error: ")
    assert f"{path}, line 3" in message
    assert expected in message
    if field:
        assert f"field '{field}'" in message
    assert list(work.iterdir()) == []  # no run folder, no results store


@pytest.mark.parametrize(
    "record, field, expected",
    [
        (
            {"sentence_pair_id": "0", "sentence1": "a", "sentence2": "b", "label": 5.5},
            "label",
            "a number in [0.0, 5.0]",
        ),
        ({"sentence_pair_id": "0", "sentence1": "a", "sentence2": "b", "label": "high"}, "label", "a number"),
        ({"sentence_pair_id": "0", "sentence1": "", "sentence2": "b", "label": 1.0}, "sentence1", "non-empty string"),
    ],
)
def test_jsts_records_are_validated(tmp_path, make_config, record, field, expected):
    folder = tmp_path / "jsts-v1.3"
    folder.mkdir()
    (folder / "valid-v1.3.json").write_text(json.dumps(record) + "\n", encoding="utf-8")
    cfg = make_config("task=jsts", f"data.dir={tmp_path}")
    with pytest.raises(DataError) as error:
        read_split(task_spec(cfg), cfg.data, "valid")
    assert f"valid-v1.3.json, line 1: field '{field}'" in str(error.value)
    assert expected in str(error.value)


@pytest.mark.parametrize("label", [5, -1, "2", True, None])
def test_jcommonsenseqa_label_must_be_a_choice_index(tmp_path, make_config, label):
    folder = tmp_path / "jcommonsenseqa-v1.3"
    folder.mkdir()
    record = {"q_id": 1, "question": "何？", **{f"choice{i}": f"c{i}" for i in range(5)}, "label": label}
    (folder / "valid-v1.3.json").write_text(json.dumps(record) + "\n", encoding="utf-8")
    cfg = make_config("task=jcommonsenseqa", f"data.dir={tmp_path}")
    with pytest.raises(DataError, match=r"line 1: field 'label': expected an integer choice index from 0 to 4"):
        read_split(task_spec(cfg), cfg.data, "valid")


def test_duplicate_ids_are_rejected(tmp_path, make_config):
    folder = tmp_path / "jnli-v1.3"
    folder.mkdir()
    line = json.dumps(GOOD, ensure_ascii=False)
    (folder / "valid-v1.3.json").write_text(f"{line}\n{line}\n", encoding="utf-8")
    cfg = make_config("task=jnli", f"data.dir={tmp_path}")
    with pytest.raises(
        DataError,
        match=r"line 2: field 'sentence_pair_id': expected a unique id; '0' already "
        r"appeared at line 1, found '0'",
    ):
        read_split(task_spec(cfg), cfg.data, "valid")


def test_a_missing_split_names_the_file_and_suggests_another(tmp_path, make_config):
    (tmp_path / "jnli-v1.3").mkdir()
    cfg = make_config("task=jnli", f"data.dir={tmp_path}")
    from jglue_bench.errors import UserError

    with pytest.raises(
        UserError,
        match=r"train-v1.3.json does not exist \(train split\). Check files.train in the "
        r"task YAML, or choose another split",
    ):
        read_split(task_spec(cfg), cfg.data, "train")


def test_test_split_exists_only_from_v1_3(make_config, real_data):
    from jglue_bench.errors import UserError

    cfg = make_config("task=jnli", f"data.dir={real_data}", "data.version=1.1")
    with pytest.raises(
        UserError,
        match="jnli-v1.1/test-v1.1.json is not a file of any pinned JGLUE release "
        r"\(JGLUE v1.1 and v1.2 publish train and valid; v1.3 adds test\)",
    ):
        read_split(task_spec(cfg), cfg.data, "test")
