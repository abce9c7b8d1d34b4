"""The stability_ja preset: prompts pinned to Stability AI's jp-stable templates (prompt versions 0.2 and 0.3), and
its shots drawn as the jp-stable evaluator draws them (one Random(42): the scored documents shuffled, then each
document's shots in that order; stratified by gold for JNLI and MARC-ja).

The expected values are written here from Stability-AI/lm-evaluation-harness@effdbeaf (jp-stable)
lm_eval/tasks/ja/{jcommonsenseqa,jnli,marc_ja}.py, lm_eval/base.py and lm_eval/evaluator.py."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from jglue_bench.fewshot.command import compose_fewshot_config
from jglue_bench.fewshot.run import prepare, rendered_prompts

ALPACA = "以下は、タスクを説明する指示と、文脈のある入力の組み合わせです。要求を適切に満たす応答を書きなさい。\n\n"
JNLI_02 = (
    "前提と仮説の関係を含意、矛盾、中立の中から回答してください。\n\n制約:\n"
    "- 前提から仮説が、論理的知識や常識的知識を用いて導出可能である場合は含意と出力\n"
    "- 前提と仮説が両立しえない場合は矛盾と出力\n- そのいずれでもない場合は中立と出力\n\n"
)
CHOICES = {
    ("0.2", "jnli"): ["含意", "矛盾", "中立"],
    ("0.3", "jnli"): ["含意", "矛盾", "中立"],
    ("0.2", "marc_ja"): ["positive", "negative"],
    ("0.3", "marc_ja"): ["ポジティブ", "ネガティブ"],
}


def description(version: str, task: str) -> str:
    if version == "0.3":
        return ALPACA
    return {
        "jcommonsenseqa": "質問と回答の選択肢を入力として受け取り、選択肢から回答を選択してください。"
        "なお、回答は選択肢の番号(例:0)でするものとします。 \n\n",
        "jnli": JNLI_02,
        "marc_ja": "製品レビューをnegativeかpositiveのいずれかのセンチメントに分類してください。出力は小文字化してください。 \n\n",
    }[task]


def doc_to_text(version: str, task: str, doc: dict) -> str:
    """jp-stable's doc_to_text of each prompt class."""
    if task == "jcommonsenseqa":
        if version == "0.2":
            choices = ",".join(f"{i}.{choice}" for i, choice in enumerate(doc["choices"]))
            return f"質問:{doc['question']}\n選択肢:{choices}\n回答:"
        choices = "\n".join(f"- {choice}" for choice in doc["choices"])
        instruction = (
            "与えられた選択肢の中から、最適な答えを選んでください。" + f"出力は以下から選択してください：\n{choices}"
        )
        return f"### 指示:\n{instruction}\n\n### 入力:\n{doc['question']}\n\n### 応答:\n"
    if task == "jnli":
        if version == "0.2":
            return f"前提:{doc['sentence1']}\n仮説:{doc['sentence2']}\n関係:"
        instruction = (
            "与えられた前提と仮説の関係を回答してください。\n\n出力は以下から選択してください：\n含意\n矛盾\n中立"
        )
        return (
            f"### 指示:\n{instruction}\n\n### 入力:\n前提：{doc['sentence1']}\n仮説：{doc['sentence2']}\n\n### 応答:\n"
        )
    if task == "jcola":
        instruction = (
            "与えられた文が文法的であるかを回答してください。\n\n出力は以下から選択してください：\nはい\nいいえ"
        )
        return f"### 指示:\n{instruction}\n\n### 入力:\n{doc['sentence']}\n\n### 応答:\n"
    if version == "0.2":
        return f"製品レビュー:{doc['sentence']}\nセンチメント:"
    instruction = "以下の製品レビューを、ポジティブまたはネガティブの感情クラスのいずれかに分類してください。"
    return f"### 指示:\n{instruction}\n\n### 入力:\n{doc['sentence']}\n\n### 応答:\n"


def doc_to_target(version: str, task: str, doc: dict) -> str:
    if task == "jcommonsenseqa":
        return str(doc["label"]) if version == "0.2" else doc["choices"][doc["label"]]
    if task == "jcola":
        return " " + {1: "はい", 0: "いいえ"}[doc["label"]]
    return CHOICES[(version, task)][doc["label"]]


def jp_stable_contexts(version: str, task: str, train: list, valid: list, k: int, limit: int) -> list[tuple]:
    """jp-stable's evaluator loop, transcribed: shuffle with Random(42), keep `limit`, draw shots per document.
    Written out on purpose rather than calling samplers.py (`duplicates` pairs them): the test is the source's
    algorithm, stratified by target text as jp-stable does, not ours by label."""
    docs = list(valid)
    rnd = random.Random()
    rnd.seed(42)
    rnd.shuffle(docs)
    stratified = task in ("jnli", "marc_ja", "jcola")
    contexts = []
    for doc in docs[:limit]:
        if stratified:
            by_target = defaultdict(list)
            for candidate in train:
                by_target[doc_to_target(version, task, candidate)].append(candidate)
            ratio = {target: len(group) / len(train) for target, group in by_target.items()}
            counts = {target: int(share * k) for target, share in ratio.items()}
            for _ in range(k - sum(counts.values())):
                counts[min(counts, key=counts.get)] += 1
            shots = []
            for target, count in counts.items():
                shots.extend(rnd.sample(by_target[target], count))
            rnd.shuffle(shots)
        else:
            shots = rnd.sample(train, k)
        labeled = "\n\n".join(doc_to_text(version, task, s) + doc_to_target(version, task, s) for s in shots)
        contexts.append((doc["id"], description(version, task) + labeled + "\n\n" + doc_to_text(version, task, doc)))
    return contexts


@pytest.mark.parametrize(
    ("version", "task"),
    [(v, t) for v in ("0.2", "0.3") for t in ("jcommonsenseqa", "jnli", "marc_ja")] + [("0.3", "jcola")],
)
def test_stability_prompts_and_shots_equal_jp_stable(version, task):
    cfg = compose_fewshot_config(["preset=stability_ja", f"prompt_version={version}", f"task={task}", "data.dir=null"])
    data = prepare(cfg, model_needed=False)
    shown = rendered_prompts(cfg, 3)
    expected = jp_stable_contexts(version, task, data.documents["train"], data.documents["valid"], 3, 3)
    assert [(item["id"], item["prompt"]) for item in shown] == expected


def test_stability_records_name_the_prompt_version():
    from jglue_bench.config import config_dir
    from jglue_bench.fewshot.presets import load_preset, protocol_label

    preset = load_preset("stability_ja", config_dir(), "0.2")
    assert protocol_label(preset, 3) == "fewshot/stability_ja/v0.2/3shot"
    with pytest.raises(Exception, match="no prompt version '0.9'"):
        load_preset("stability_ja", config_dir(), "0.9")
