"""The ja_leaderboard preset equals lm-eval's own `japanese_leaderboard` tasks: the unmodified YAML files of the
installed lm-eval package, fed the same documents (only the data source is swapped, since their hub dataset
`Rakuten/JGLUE` is a loading script datasets 5 refuses), give the same prompts, the same log-likelihoods and
the same generations and exact match as `jglue-bench fewshot preset=ja_leaderboard`.

Documents: the bundled sample (JGLUE's own file formats, every split present), converted by our documents
module; the real JCommonsenseQA v1.3 train and dev when present."""

from __future__ import annotations

from pathlib import Path

import lm_eval
import pytest
from lm_eval.models.huggingface import HFLM
from lm_eval.tasks import TaskManager
from lm_eval.tasks._yaml_loader import load_yaml

from jglue_bench.fewshot.command import compose_fewshot_config
from jglue_bench.fewshot.documents import as_dataset_dict
from jglue_bench.fewshot.run import build_task, lm_eval_config, prepare

LEADERBOARD = Path(lm_eval.__file__).parent / "tasks" / "japanese_leaderboard"
LIMIT = 2  # quick: two documents per task (`-m slow` runs 8 on the real files)


class ShortGenerationsHFLM(HFLM):
    """HFLM generating at most 12 tokens (its fixed 256 makes a random model slow on a CPU); a model setting,
    the same on both sides, so the task configs stay as they are."""

    @property
    def max_gen_toks(self) -> int:
        return 12


@pytest.fixture(scope="module")
def model(tiny_decoder):
    return ShortGenerationsHFLM(pretrained=str(tiny_decoder), dtype="float32", device="cpu", batch_size=8)


def their_config(task: str, documents: dict[str, list[dict]], shots_from: str = "train") -> dict:
    """lm-eval's own task config, as its YAML file says, reading `documents` instead of the hub dataset (its
    train split: our `shots_from` split)."""
    config = load_yaml(LEADERBOARD / f"ja_leaderboard_{task}.yaml")
    splits = {"train": documents[shots_from], "validation": documents["valid"]}
    return {**config, "custom_dataset": lambda **_: as_dataset_dict(splits)}


def samples_of(model, task_object_or_config, limit: int, seed: int = 1234) -> list[dict]:
    results = lm_eval.simple_evaluate(
        model=model,
        tasks=[task_object_or_config],
        task_manager=TaskManager(include_defaults=False),
        limit=limit,
        log_samples=True,
        bootstrap_iters=0,
        fewshot_random_seed=seed,
    )
    (samples,) = results["samples"].values()
    return sorted(samples, key=lambda sample: sample["doc_id"])


def both_sides(model, task: str, *overrides: str, limit: int = LIMIT, shots_from: str = "train"):
    cfg = compose_fewshot_config(["preset=ja_leaderboard", f"task={task}", "data.eval_split=valid", *overrides])
    data = prepare(cfg, model_needed=False)
    ours = samples_of(model, build_task(lm_eval_config(data, "valid"), data.preset.fewshot_seed), limit)
    theirs = samples_of(model, their_config(task, data.documents, shots_from), limit)
    assert len(ours) == len(theirs) == limit
    return ours, theirs


def assert_same_loglikelihoods(ours, theirs):
    for mine, reference in zip(ours, theirs, strict=True):
        assert [list(argument) for argument in mine["arguments"]] == [list(a) for a in reference["arguments"]]
        mine_ll = [response[0] for response in mine["filtered_resps"]]
        their_ll = [response[0] for response in reference["filtered_resps"]]
        assert mine_ll == pytest.approx(their_ll, abs=1e-4)
        assert mine["acc"] == reference["acc"]
        assert mine["target"] == reference["target"]


def test_jcommonsenseqa_matches_lm_eval_on_the_sample(model):
    ours, theirs = both_sides(model, "jcommonsenseqa", "data.dir=null")
    assert_same_loglikelihoods(ours, theirs)
    assert ours[0]["arguments"][0][0].count("### 応答：") == 4  # 3 shots + the question
    assert len(ours[0]["arguments"]) == 5


def test_jnli_matches_lm_eval_with_string_labels_mapped_to_indices(model):
    """JGLUE's JNLI file says "entailment"/"contradiction"/"neutral"; lm-eval's template wants the index into
    含意, 矛盾, 中立, so the gold continuation is the label's own word."""
    ours, theirs = both_sides(model, "jnli", "data.dir=null")
    assert_same_loglikelihoods(ours, theirs)
    words = ["含意", "矛盾", "中立"]
    for sample in ours:
        gold = sample["target"]
        assert ["entailment", "contradiction", "neutral"][gold] == sample["doc"]["label_name"]
        assert sample["arguments"][gold][1] == "\n" + words[gold]


def test_jsquad_generations_and_exact_match_match_lm_eval(model):
    ours, theirs = both_sides(model, "jsquad", "data.dir=null")
    for mine, reference in zip(ours, theirs, strict=True):
        assert mine["arguments"] == reference["arguments"]
        assert mine["resps"] == reference["resps"]
        assert mine["filtered_resps"] == reference["filtered_resps"]
        assert mine["exact_match"] == reference["exact_match"]
        assert mine["target"] == reference["target"]
    # one row per question: the prompt holds the paragraph without its "<title> [SEP]" prefix
    assert "[SEP]" not in ours[0]["arguments"][0][0]


@pytest.mark.slow
def test_jcommonsenseqa_matches_lm_eval_on_the_real_files(model, real_data):
    if not (real_data / "jcommonsenseqa-v1.3" / "train-v1.3.json").is_file():
        pytest.skip(f"JCommonsenseQA v1.3 train not under {real_data}")
    ours, theirs = both_sides(model, "jcommonsenseqa", f"data.dir={real_data}", "data.version=1.3", limit=8)
    assert_same_loglikelihoods(ours, theirs)


@pytest.mark.slow
def test_jnli_matches_lm_eval_on_the_real_files_with_shots_from_test(model, real_data):
    """JNLI's train file is absent here: both sides draw the shots from the v1.3 test file and score dev."""
    if not (real_data / "jnli-v1.3" / "test-v1.3.json").is_file():
        pytest.skip(f"JNLI v1.3 test not under {real_data}")
    ours, theirs = both_sides(
        model, "jnli", f"data.dir={real_data}", "data.version=1.3", "fewshot_split=test", limit=8, shots_from="test"
    )
    assert_same_loglikelihoods(ours, theirs)
