"""stability_ja's JSQuAD (jp-stable's ja8 JSQuAD, 2 shots, generated): prompts and shots equal a transcription of
Stability-AI/lm-evaluation-harness@effdbeaf (jp-stable) lm_eval/tasks/ja/jsquad.py (JSQuADWithFintanPrompt = 0.2,
JSQuADWithJAAlpacaPrompt = 0.3) and its evaluator's draw; its jasquad metric (lm_eval/jasquad/evaluate.py) by hand;
each question's generation length; and the one line when the jp-stable extra (neologdn, emoji) is missing."""

from __future__ import annotations

import json
import random

import pytest
from test_fewshot_llmjp import run_on_the_sample

from jglue_bench.fewshot import jasquad
from jglue_bench.fewshot.command import compose_fewshot_config
from jglue_bench.fewshot.run import build_task, lm_eval_config, prepare, rendered_prompts

DESCRIPTIONS = {
    "0.2": "質問に対する回答を文章から一言で抽出してください。回答は名詞で答えてください。\n\n",
    "0.3": "以下は、タスクを説明する指示と、文脈のある入力の組み合わせです。要求を適切に満たす応答を書きなさい。\n\n",
}


def doc_to_text(version: str, doc: dict) -> str:
    paragraph = doc["context"].split("[SEP]")[-1].strip()
    if version == "0.2":
        return "文章:" + paragraph + "\n" + "質問:" + doc["question"] + "\n" + "回答:"
    input_text = f"文脈：{paragraph}\n質問：{doc['question']}"
    return f"### 指示:\n与えられた文脈から、質問に対する答えを抜き出してください。\n\n### 入力:\n{input_text}\n\n### 応答:\n"


@pytest.mark.parametrize("version", ["0.2", "0.3"])
def test_prompts_and_shots_equal_jp_stables_jsquad(version):
    cfg = compose_fewshot_config(["preset=stability_ja", f"prompt_version={version}", "task=jsquad", "data.dir=null"])
    data = prepare(cfg, model_needed=False)
    shown = rendered_prompts(cfg, 2)
    docs, train = list(data.documents["valid"]), data.documents["train"]
    rnd = random.Random(42)  # jp-stable's evaluator: one generator shuffles the scored documents, then draws
    rnd.shuffle(docs)
    for item, doc in zip(shown, docs[:2], strict=True):
        shots = rnd.sample(train, 2)
        labeled = "\n\n".join(doc_to_text(version, shot) + shot["answers"]["text"][0] for shot in shots)
        assert item["id"] == doc["id"]
        assert item["prompt"] == DESCRIPTIONS[version] + labeled + "\n\n" + doc_to_text(version, doc)


def test_each_question_generates_at_most_its_longest_gold_answer(tiny_decoder):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_decoder)
    cfg = compose_fewshot_config(["preset=stability_ja", "task=jsquad", "data.dir=null", "num_fewshot=0"])
    data = prepare(cfg, model_needed=False)
    task = build_task(lm_eval_config(data, "valid"), 42, tokenizer)
    for doc in list(task.eval_docs)[:3]:
        request = task.construct_requests(doc, "ctx")
        longest = max(
            len(tokenizer(answer, add_special_tokens=False)["input_ids"]) for answer in doc["answers"]["text"]
        )
        assert request.arguments[1]["max_gen_toks"] == longest and request.arguments[1]["until"] == ["\n"]


def test_jasquad_by_hand():
    doc = {"answers": {"text": ["東京タワー", "タワー"]}}
    # emoji dropped, then neologdn (full-width Latin to ASCII, spaces between Japanese characters removed)
    assert jasquad.scores_of(doc, ["東京 タワー😀"]) == {"exact_match": 1.0, "jasquad_f1": 1.0}
    assert jasquad.scores_of({"answers": {"text": ["ABC"]}}, ["ＡＢＣ"])["exact_match"] == 1.0
    # MeCab words 東京/の/タワー against 東京/タワー: precision 2/3, recall 1 -> 0.8
    assert jasquad.scores_of({"answers": {"text": ["東京タワー"]}}, ["東京のタワー"]) == {
        "exact_match": 0.0,
        "jasquad_f1": pytest.approx(0.8),
    }
    # punctuation is dropped from the words, not from the exact-match string
    assert jasquad.scores_of({"answers": {"text": ["東京"]}}, ["東京。"]) == {"exact_match": 0.0, "jasquad_f1": 1.0}


def test_a_missing_jp_stable_extra_is_one_line(jglue_bench_cli, monkeypatch, tmp_path):
    monkeypatch.setattr(jasquad, "find_spec", lambda name: None)
    out = tmp_path / "out"
    code, _, stderr = jglue_bench_cli(
        "fewshot", "preset=stability_ja", "task=jsquad", "model.pretrained=unused", "num_fewshot=0", f"output_dir={out}"
    )
    lines = stderr.strip().splitlines()
    assert code == 2 and len(lines) == 1
    assert "needs neologdn and emoji" in lines[0] and "pip install 'jglue-bench[jp-stable]'" in lines[0]
    code, stdout, _ = jglue_bench_cli("fewshot", "preset=stability_ja", "task=jsquad", "show_prompts=1")
    assert code == 0 and json.loads(stdout.strip().splitlines()[-1])["target"]  # prompts need neither package


def test_a_run_scores_with_jasquad(jglue_bench_cli, tiny_decoder, tmp_path):
    arguments = ["preset=stability_ja", "task=jsquad", "limit=2", "num_fewshot=0"]
    record, rows = run_on_the_sample(jglue_bench_cli, tiny_decoder, tmp_path, *arguments)
    assert record["protocol"] == "fewshot/stability_ja/v0.3/0shot"
    assert {"exact_match", "jasquad_f1", "f1", "format_rate"} <= set(record["metrics"])
    by_hand = [jasquad.scores_of({"answers": {"text": row["golds"]}}, [row["prediction"]]) for row in rows]
    expected = 100 * sum(scores["jasquad_f1"] for scores in by_hand) / len(rows)
    assert record["metrics"]["jasquad_f1"] == pytest.approx(expected, abs=1e-3)
