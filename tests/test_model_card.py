"""The model card in every saved model folder: Hugging Face metadata read back by huggingface_hub's own ModelCard
(the record's scores in the model-index, licence, base model, dataset, pipeline tag per kind) and a body whose
reproduce command composes back into the run's settings."""

from __future__ import annotations

import copy
import shlex

import pytest
import yaml
from huggingface_hub import ModelCard

from jglue_bench.records import model_card as cards
from jglue_bench.train.loop import train

# task, pipeline tag, the dataset its card names
JGLUE = "yahoojapan/JGLUE"
KINDS = [
    ("jnli", "text-classification", JGLUE),
    ("jsts", "text-classification", JGLUE),
    ("jcommonsenseqa", "multiple-choice", JGLUE),
    ("jsquad", "question-answering", JGLUE),
    ("jcola", "text-classification", "osekilab/JCoLA"),
]
HUB_MODEL = "line-corporation/line-distilbert-base-japanese"


def tiny_run(make_config, tmp_path, *overrides: str):
    """A tiny model trained on a few bundled-sample examples for one epoch, its model saved."""
    return train(
        make_config(
            f"output_dir={tmp_path / 'run'}",
            "data.max_train_samples=8",
            "data.max_eval_samples=8",
            "num_train_epochs=1",
            "batch_size=8",
            "save_model=true",
            *overrides,
        )
    )


def load_card(run_dir) -> ModelCard:
    return ModelCard.load(run_dir / "model" / "README.md")


def assert_scores_in_model_index(card: ModelCard, record: dict) -> None:
    """Every defined score of every eval split is in the model-index, with its split and value (x100)."""
    found = {
        (result.dataset_split, result.metric_name.removesuffix(" (x100)")): result for result in card.data.eval_results
    }
    expected = {
        (split, metric): value
        for split, metrics in record["eval_metrics"].items()
        for metric, value in metrics.items()
        if cards.defined(value)
    }
    assert set(found) == set(expected)
    for (split, metric), value in expected.items():
        assert found[split, metric].metric_value == value
        assert found[split, metric].metric_type == cards.HUB_METRICS[metric]
        assert found[split, metric].task_type == card.data.pipeline_tag


def overrides_of(command: str) -> list[str]:
    words = shlex.split(command)
    assert words[:2] == ["jglue-bench", "train"]
    return words[2:]


def assert_command_reproduces(card: ModelCard, record: dict, make_config) -> None:
    """The card's command, composed as `jglue-bench train` composes it, gives the run's settings back."""
    command = cards.reproduce_command(record)
    assert f"```bash\n{command}\n```" in card.text
    composed = make_config(*overrides_of(command))
    ran = record["config"]
    for key in (*cards.HYPERPARAMETERS, "protocol"):
        assert composed[key] == ran[key], key
    assert composed.task.name == ran["task"]["name"] and composed.model.name == ran["model"]["name"]
    assert str(composed.data.version) == str(ran["data"]["version"])
    for key in ("train_split", "eval_split", "max_train_samples", "max_eval_samples"):
        assert composed.data[key] == ran["data"][key], key


@pytest.mark.parametrize("task, pipeline_tag, dataset", KINDS, ids=[kind[0] for kind in KINDS])
def test_a_saved_model_carries_a_card_made_from_its_record(make_config, tmp_path, task, pipeline_tag, dataset):
    result = tiny_run(make_config, tmp_path, f"task={task}", *(["max_seq_length=192"] if task == "jsquad" else []))
    record = result.record
    card = load_card(result.output_dir)

    assert card.data.language == "ja" and card.data.library_name == "transformers"
    assert card.data.pipeline_tag == pipeline_tag
    assert card.data.license is None and card.data.base_model is None  # random weights: no licence, no base
    assert card.data.datasets == [dataset]
    assert {result.dataset_type for result in card.data.eval_results} == {dataset}
    assert {result.dataset_split for result in card.data.eval_results} <= set(record["eval_metrics"])
    assert_scores_in_model_index(card, record)
    assert_command_reproduces(card, record, make_config)
    for file in record["task"]["files"]:
        assert file["sha256"] in card.text
    assert "Smoke run" in card.text and "jglue-bench 0.1.0" in card.text
    assert not list((result.output_dir / "model").glob(".README.md.*"))  # no temporary file left behind


def test_licence_and_hub_base_model_come_from_the_model_config_and_evaluate_still_works(
    make_config, tmp_path, jglue_bench_cli
):
    result = tiny_run(make_config, tmp_path, "task=jnli", "model.license=apache-2.0")
    card = load_card(result.output_dir)
    assert card.data.license == "apache-2.0" and card.data.base_model is None

    before = (result.output_dir / "model" / "README.md").read_bytes()
    code, out, err = jglue_bench_cli("evaluate", str(result.output_dir), f"results.path={tmp_path / 'runs.jsonl'}")
    assert code == 0, err
    assert (result.output_dir / "model" / "README.md").read_bytes() == before

    # The same record as a hub model's run would have it (line_distilbert's id and licence): base_model is the id.
    record = copy.deepcopy(result.record)
    record["model"].update(name="line_distilbert", pretrained=HUB_MODEL, revision="main")
    record["config"]["model"].update(name="line_distilbert", pretrained=HUB_MODEL, license="apache-2.0")
    folder = tmp_path / "hub_model"
    folder.mkdir()
    hub_card = ModelCard.load(cards.write_model_card(record, folder))
    assert hub_card.data.base_model == HUB_MODEL and hub_card.data.license == "apache-2.0"
    assert f"https://huggingface.co/{HUB_MODEL}" in hub_card.text
    assert_scores_in_model_index(hub_card, record)
    command = cards.reproduce_command(record)
    assert "model=line_distilbert" in command and "model.pretrained" not in command

    # A local folder is no base model on the hub; the command names the folder.
    record["model"]["pretrained"] = record["config"]["model"]["pretrained"] = str(folder)
    local_card = ModelCard.load(cards.write_model_card(record, folder))
    assert local_card.data.base_model is None
    assert f"model.pretrained={folder}" in cards.reproduce_command(record)


def test_a_users_own_task_gets_a_card_without_a_dataset_entry(make_config, tmp_path):
    (tmp_path / "data").mkdir()
    rows = [("サッカーの試合で勝った。", "スポーツ"), ("株価が上がった。", "経済")] * 6
    for split in ("train", "dev"):
        (tmp_path / "data" / f"{split}.csv").write_text(
            "text,label\n" + "".join(f"{text},{label}\n" for text, label in rows), encoding="utf-8"
        )
    task = tmp_path / "topic.yaml"
    task.write_text(
        yaml.safe_dump(
            {
                "name": "topic",
                "kind": "classification",
                "files": {"train": "data/train.csv", "valid": "data/dev.csv"},
                "fields": {"texts": ["text"], "label": "label"},
                "labels": ["スポーツ", "経済"],
                "metrics": ["accuracy", "macro_f1"],
                "max_seq_length": 32,
            },
            allow_unicode=True,
        ),
        encoding="utf-8",
    )
    result = tiny_run(make_config, tmp_path, f"task={task}")
    card = load_card(result.output_dir)

    assert card.data.datasets is None and card.data.pipeline_tag == "text-classification"
    assert {(entry.task_name, entry.dataset_type, entry.dataset_split) for entry in card.data.eval_results} == {
        ("topic", "topic", "valid")
    }
    assert_scores_in_model_index(card, result.record)
    assert f"task={task}" in cards.reproduce_command(result.record)
    assert_command_reproduces(card, result.record, make_config)
    assert str(task) in card.text and "data.version" not in cards.reproduce_command(result.record)


def record_of(**changes) -> dict:
    """A record with only what the card reads (no training)."""
    files = [
        {
            "split": split,
            "name": f"jsts-v1.3/{split}-v1.3.json",
            "sha256": digit * 64,
            "matches_pin": True,
            "examples": 9,
            "used": 9,
        }
        for split, digit in (("train", "a"), ("valid", "b"))
    ]
    record = {
        "run_id": "abc",
        "task": {
            "name": "jsts",
            "kind": "regression",
            "data_version": "1.3",
            "data_source": "local",
            "origin": None,
            "labels": None,
            "files": files,
        },
        "model": {"name": "tiny", "pretrained": None, "revision": None, "tokenizer_recipe": {"recipe": "x"}},
        "split": "valid",
        "eval_metrics": {"valid": {"pearson": None, "spearman": 12.5}},
        "main_metric": "pearson",
        "protocol": "paper",
        "experiment": {"key": "k"},
        "packages": {},
        "config": {
            "task": {
                "name": "jsts",
                "versions": ["1.3"],
                "source": {"url": "https://raw.githubusercontent.com/yahoojapan/JGLUE/v1.3.0/datasets"},
            },
            "model": {"name": "tiny", "pretrained": None, "license": None},
            "data": {"version": "1.3", "train_split": "train", "eval_split": "valid"},
            "learning_rate": 3e-5,
            "num_train_epochs": 4,
            "batch_size": 32,
            "max_seq_length": 128,
            "seed": 42,
            "trainer": {"precision": "bf16"},
        },
    }
    record.update(changes)
    return record


def test_an_undefined_score_is_left_out_of_the_model_index_and_pinned_data_names_its_release():
    card = cards.model_card(record_of())
    card = ModelCard(str(card))  # read back as the hub reads it
    [result] = card.data.eval_results
    assert (result.metric_type, result.metric_value, result.dataset_revision) == ("spearmanr", 12.5, "v1.3.0")
    assert "| valid | pearson (main) | undefined |" in card.text
    command = cards.reproduce_command(record_of())
    assert command.startswith("jglue-bench train experiment=paper task=jsts model=tiny trainer=gpu_bf16 ")
    assert "learning_rate=3e-05 num_train_epochs=4" in command and "data.eval_split=valid" in command


def test_the_card_is_written_whole_or_not_at_all(tmp_path, monkeypatch):
    path = cards.write_model_card(record_of(), tmp_path)
    before = path.read_text(encoding="utf-8")

    def broken(record):
        raise OSError("No space left on device")

    monkeypatch.setattr(cards, "model_card", broken)
    with pytest.raises(OSError):
        cards.write_model_card(record_of(), tmp_path)
    assert path.read_text(encoding="utf-8") == before
    assert [item.name for item in tmp_path.iterdir()] == ["README.md"]


def test_a_lora_run_card_names_the_base_model_and_peft_and_reproduces_the_adapters(make_config, tmp_path, tiny_decoder):
    """A LoRA run's folder holds an adapter, not a model: the card says so and names the base it goes on, the PEFT
    settings and modules wrapped, the parameter counts; its command asks for the same adapters (same experiment)."""
    from jglue_bench.config import resolved_config

    lora = (
        "model=causal_lm",
        f"model.pretrained={tiny_decoder}",
        "model.peft.method=lora",
        "model.peft.r=4",
        "task=jnli",
    )
    result = tiny_run(make_config, tmp_path, *lora)
    record, card = result.record, load_card(result.output_dir)
    assert card.data.library_name == "peft" and {"peft", "lora"} <= set(card.data.tags)
    assert (
        f"LORA adapters and the task head in PEFT's format, not a whole model: they go on the base model, the local model folder `{tiny_decoder}`"
        in card.text
    )
    assert "- method: `lora` (peft), rank r = 4, alpha = 16" in card.text
    assert "- adapted modules: `k_proj`, `o_proj`, `q_proj`, `v_proj`" in card.text
    model = record["model"]
    assert f"- trainable parameters: {model['trainable_parameters']} of {model['num_parameters']}" in card.text
    assert "PeftModel.from_pretrained(base" in card.text and "AutoModelForSequenceClassification" in card.text
    assert_command_reproduces(card, record, make_config)
    composed = resolved_config(make_config(*overrides_of(cards.reproduce_command(record))))
    assert composed.model.peft == resolved_config(make_config(*lora)).model.peft
    assert "model.peft.method=lora" in cards.reproduce_command(record)
