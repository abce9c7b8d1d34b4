"""`jglue-bench fewshot`: prompts pinned to the reproduced tools' templates, the record and predictions it
writes, the one-line errors, and the extra metrics against hand-computed values."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from jglue_bench import metrics
from jglue_bench.data.sources import sample_dir
from jglue_bench.fewshot import scores
from jglue_bench.fewshot.command import compose_fewshot_config
from jglue_bench.fewshot.run import prepare, rendered_prompts

LEADERBOARD_DESCRIPTION = (
    "以下は、タスクを説明する指示と、文脈のある入力の組み合わせです。要求を適切に満たす応答を書きなさい。\n\n"
)


def first_prompt(preset: str, task: str, *overrides: str) -> tuple[dict, dict]:
    cfg = compose_fewshot_config([f"preset={preset}", f"task={task}", "data.dir=null", *overrides])
    (shown,) = rendered_prompts(cfg, 1)
    document = prepare(cfg, model_needed=False).documents[cfg.data.eval_split or "valid"][0]
    return shown, document


# The templates as read in EleutherAI/lm-evaluation-harness@4e7e0d47 lm_eval/tasks/japanese_leaderboard/*.yaml,
# written out here by hand as Python so a change to the preset's text fails.
def leaderboard_expected(task: str, doc: dict) -> str:
    if task == "jcommonsenseqa":
        choices = "".join(f"- {choice}\n" for choice in doc["choices"])
        body = f"### 指示：\n出力は以下から選択してください：\n{choices}\n### 入力：\n{doc['question']}\n\n### 応答："
    elif task == "jnli":
        body = (
            "### 指示：\n与えられた前提と仮説の関係を回答してください。\n\n出力は以下から選択してください：\n含意\n矛盾\n中立\n\n"
            f"### 入力：\n前提：{doc['sentence1']}\n仮説：{doc['sentence2']}\n\n### 応答："
        )
    elif task == "marc_ja":
        body = (
            "### 指示：\n以下の製品レビューを、ポジティブまたはネガティブの感情クラスのいずれかに分類してください。\n\n"
            f"### 入力：\n{doc['sentence']}\n\n### 応答："
        )
    else:
        paragraph = doc["context"].split("[SEP]")[-1].strip()
        body = (
            "### 指示：\n与えられた文脈から、質問に対する答えを抜き出してください。\n\n"
            f"### 入力：\n文脈：{paragraph}\n質問：{doc['question']}\n\n### 応答："
        )
    return LEADERBOARD_DESCRIPTION + body


@pytest.mark.parametrize("task", ["jcommonsenseqa", "jnli", "marc_ja", "jsquad"])
def test_ja_leaderboard_prompts_equal_lm_evals_templates(task):
    shown, document = first_prompt("ja_leaderboard", task, "num_fewshot=0")
    assert shown["prompt"] == leaderboard_expected(task, document)


def test_ja_leaderboard_shots_are_answered_examples_between_blank_lines():
    shown, document = first_prompt("ja_leaderboard", "jcommonsenseqa")
    blocks = shown["prompt"].removeprefix(LEADERBOARD_DESCRIPTION).split("\n\n### 指示：")
    assert len(blocks) == 4  # three shots, then the question
    for shot in blocks[:3]:
        # a shot ends with the target delimiter "\n" and its gold choice
        assert shot.rsplit("### 応答：", 1)[1].startswith("\n") and shot.count("- ") == 5
    assert shown["prompt"].endswith(f"{document['question']}\n\n### 応答：")


def issue_command(model: Path, out: Path, store: Path, limit: int, *extra: str) -> list[str]:
    """The command issue #21 asks for (JCommonsenseQA v1.3 dev under ja_leaderboard, a local float32 model)."""
    return [
        "fewshot",
        "preset=ja_leaderboard",
        "task=jcommonsenseqa",
        "model=causal_lm",
        f"model.pretrained={model}",
        "model.dtype=float32",
        f"limit={limit}",
        "data.version=1.3",
        "data.eval_split=valid",
        f"output_dir={out}",
        f"results.path={store}",
        *extra,
    ]


def test_fewshot_command_writes_the_record_and_predictions(jglue_bench_cli, tiny_decoder, tmp_path):
    out, store = tmp_path / "out", tmp_path / "runs.jsonl"
    arguments = issue_command(tiny_decoder, out, store, 2)
    code, stdout, stderr = jglue_bench_cli(*arguments)
    assert code == 0, stderr
    record = json.loads((out / "record.json").read_text(encoding="utf-8"))
    assert record["run_kind"] == "fewshot"
    assert record["protocol"] == "fewshot/ja_leaderboard/3shot"
    assert record["fewshot"]["shots"] == 3 and record["fewshot"]["fewshot_split"] == "train"
    assert set(record["metrics"]) == {"accuracy", "balanced_accuracy", "macro_f1"}
    assert record["chance"]["valid"]["accuracy"] == 20.0
    assert [file["split"] for file in record["task"]["files"]] == ["train", "valid"]
    rows = [json.loads(line) for line in (out / "predictions-valid.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 2
    assert all(len(row["loglikelihoods"]) == 5 and row["prompt"].endswith("### 応答：") for row in rows)
    assert record["metrics"]["accuracy"] == pytest.approx(100 * sum(row["correct"] for row in rows) / 2, abs=1e-3)
    assert "chance level: accuracy 20.00" in stdout
    # the same cell again is skipped; rerun=true runs it
    code, stdout, _ = jglue_bench_cli(*arguments)
    assert code == 0 and "skipped" in stdout
    assert len(store.read_text(encoding="utf-8").splitlines()) == 1


def test_jsquad_generations_are_scored_with_char_f1_and_format(jglue_bench_cli, tiny_decoder, tmp_path):
    out = tmp_path / "out"
    code, _, stderr = jglue_bench_cli(
        "fewshot",
        "task=jsquad",
        f"model.pretrained={tiny_decoder}",
        "limit=1",
        "num_fewshot=0",  # a short prompt: the random model's logits over 99,574 pieces per position are costly
        "max_gen_toks=8",  # a random model rarely stops by itself; 256 tokens take long on a CPU
        f"output_dir={out}",
        f"results.path={tmp_path / 'runs.jsonl'}",
    )
    assert code == 0, stderr
    record = json.loads((out / "record.json").read_text(encoding="utf-8"))
    assert set(record["metrics"]) == {"exact_match", "exact_match_all_golds", "f1", "format_rate"}
    assert record["chance"]["valid"] == {"exact_match": 0.0, "exact_match_all_golds": 0.0, "f1": 0.0}
    (row,) = [json.loads(line) for line in (out / "predictions-valid.jsonl").read_text(encoding="utf-8").splitlines()]
    assert {"generation", "prediction", "golds"} <= set(row)


def test_a_missing_fewshot_split_is_one_line_naming_the_file(jglue_bench_cli, tmp_path):
    data = tmp_path / "datasets"
    (data / "jnli-v1.3").mkdir(parents=True)
    shutil.copy(sample_dir() / "jnli-v1.3" / "valid-v1.3.json", data / "jnli-v1.3" / "valid-v1.3.json")
    out = tmp_path / "out"
    code, _, stderr = jglue_bench_cli(
        "fewshot", "task=jnli", f"data.dir={data}", "model.pretrained=unused", f"output_dir={out}"
    )
    assert code == 2
    lines = stderr.strip().splitlines()
    assert (
        len(lines) == 1
        and "train-v1.3.json does not exist" in lines[0]
        and "few-shot source split" in lines[0]
        and "num_fewshot=0" in lines[0]
    )
    assert not out.exists()


def test_a_model_that_is_not_a_decoder_is_refused(jglue_bench_cli, tmp_path):
    code, _, stderr = jglue_bench_cli("fewshot", "model=causal_lm", f"output_dir={tmp_path / 'out'}")
    assert code == 2 and "model.pretrained=FOLDER_OR_HUB_ID" in stderr


def test_balanced_accuracy_and_chance_macro_f1_by_hand():
    # recalls: class 0 2/3, class 1 1/1 -> (2/3 + 1) / 2
    assert metrics.balanced_accuracy([0, 0, 0, 1], [0, 0, 1, 1]) == pytest.approx(5 / 6)
    # uniform guess over 2 classes, gold shares 3/4 and 1/4: F1 = 2p(1/2)/(p+1/2) -> 0.6 and 1/3
    assert metrics.chance_macro_f1([0, 0, 0, 1], 2) == pytest.approx((0.6 + 1 / 3) / 2)
    # three classes, only two ever gold: the third still scores 0 in the mean
    assert metrics.chance_macro_f1([0, 1], 3) == pytest.approx(2 * (2 * 0.5 / 3 / (0.5 + 1 / 3)) / 3)


def test_generated_answers_by_hand():
    rows = [
        {"prediction": "２０２２年", "golds": ["２０２２年", "2022年"], "context": "第１回は２０２２年に開かれ"},
        {"prediction": "2022", "golds": ["２０２２年"], "context": "第１回は２０２２年に開かれ"},
        {"prediction": "", "golds": ["東京"], "context": "東京"},
    ]
    found = scores.extra_metrics("extractive_qa", rows, 0)
    assert found["exact_match_all_golds"] == pytest.approx(100 / 3, abs=1e-3)
    assert found["f1"] == pytest.approx(100 / 3, abs=1e-3)  # "2022" shares no character with "２０２２年"
    assert found["format_rate"] == pytest.approx(100 / 3, abs=1e-3)  # only the first is a span of its context


def test_preset_metric_names_from_lm_eval_results():
    assert scores.preset_metrics({"acc,none": 0.25, "acc_stderr,none": "N/A", "alias": "x"}) == {"accuracy": 25.0}


def test_an_unknown_preset_is_one_line(jglue_bench_cli):
    code, _, stderr = jglue_bench_cli("fewshot", "preset=ja_leaderbord", "show_prompts=1")
    assert code == 2 and "did you mean" in stderr and "ja_leaderboard" in stderr


@pytest.mark.slow
def test_the_real_jcommonsenseqa_dev_run_of_the_issue(real_data, tiny_decoder, jglue_bench_cli, tmp_path):
    """The command of issue #21 on the real v1.3 files: 60 dev questions, 3 shots from train. (real_data comes
    first: jglue_bench_cli unsets JGLUE_DATA_DIR.)"""
    out = tmp_path / "out"
    arguments = issue_command(tiny_decoder, out, tmp_path / "runs.jsonl", 60, f"data.dir={real_data}")
    code, _, stderr = jglue_bench_cli(*arguments)
    assert code == 0, stderr
    record = json.loads((out / "record.json").read_text(encoding="utf-8"))
    assert all(file["matches_pin"] for file in record["task"]["files"])
    assert [file["used"] for file in record["task"]["files"]] == [8939, 60]
    assert len((out / "predictions-valid.jsonl").read_text(encoding="utf-8").splitlines()) == 60


def test_shots_from_another_split_are_labelled_so(tiny_decoder):
    cfg = compose_fewshot_config(["task=jnli", "data.dir=null", "fewshot_split=test"])
    data = prepare(cfg, model_needed=False)
    from jglue_bench.fewshot.presets import protocol_label

    assert protocol_label(data.preset, data.shots) == "fewshot/ja_leaderboard/3shot/shots-from-test"
    assert "test" in data.documents and "train" not in data.documents


def test_a_model_that_cannot_be_loaded_is_one_line(jglue_bench_cli, tmp_path):
    out = tmp_path / "out"
    code, _, stderr = jglue_bench_cli(
        "fewshot", "model.pretrained=nobody/no-such-model", "limit=1", f"output_dir={out}"
    )
    assert code == 2 and len(stderr.strip().splitlines()) == 1
    assert "cannot load model 'causal_lm' from nobody/no-such-model" in stderr and not out.exists()


def test_lm_evals_environment_report_is_skipped_and_restored(monkeypatch, tmp_path, capfd):
    """simple_evaluate's closing report (torch's collect_env, git describe) is skipped while a run evaluates: no
    subprocesses per split, no "fatal: not a git repository" outside a checkout; restored after."""
    import lm_eval.evaluator as evaluator

    from jglue_bench.fewshot.backends import without_environment_report

    monkeypatch.chdir(tmp_path)  # not a git checkout
    originals = evaluator.add_env_info, evaluator.get_git_commit_hash
    with without_environment_report():
        storage = {}
        evaluator.add_env_info(storage)
        assert storage == {} and evaluator.get_git_commit_hash() is None
    assert "fatal" not in capfd.readouterr().err
    assert (evaluator.add_env_info, evaluator.get_git_commit_hash) == originals
    if shutil.which("git"):  # lm-eval's own, outside the context: git's complaint reaches the terminal
        evaluator.get_git_commit_hash()
        assert "not a git repository" in capfd.readouterr().err
