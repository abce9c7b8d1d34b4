"""The llm_jp_eval and nejumi presets (prompts pinned to llm-jp-eval's template, its answer extraction and metrics
by hand, a run end to end), the v1.3 test split under every preset, and the vLLM backend's one-line refusals.

The expected prompts are written here from llm-jp/llm-jp-eval v1.3.x as read (configs/fewshot/presets/
llm_jp_eval.yaml says what was read and what recalled): "以下は、…書きなさい。\n\n### 指示:\n{instruction}", then per
shot "\n\n### 入力:\n{input}\n\n### 応答:\n{output}", then "\n\n### 入力:\n{input}\n\n### 応答:\n"; the shots are the
first k of its train split (`random.seed(42); random.shuffle(train)`, the first 90%)."""

from __future__ import annotations

import hashlib
import json
import random
import shutil

import pytest

from jglue_bench.data.sources import sample_dir
from jglue_bench.fewshot import llm_jp_eval, scores
from jglue_bench.fewshot.backends import check_backend
from jglue_bench.fewshot.command import compose_fewshot_config
from jglue_bench.fewshot.presets import load_preset, preset_names, protocol_label
from jglue_bench.fewshot.run import prepare, rendered_prompts

HEAD = "以下は、タスクを説明する指示と、文脈のある入力の組み合わせです。要求を適切に満たす応答を書きなさい。\n\n### 指示:\n"
INSTRUCTIONS = {
    "jnli": "前提と仮説の関係をentailment、contradiction、neutralの中から回答してください。それ以外には何も含めないこと"
    "を厳守してください。\n\n制約：\n- 前提から仮説が、論理的知識や常識的知識を用いて導出可能である場合はentailmentと出力\n"
    "- 前提と仮説が両立しえない場合はcontradictionと出力\n- そのいずれでもない場合はneutralと出力",
    "jsts": "日本語の文ペアの意味がどのくらい近いかを判定し、類似度を0.0〜5.0までの間の値で付与してください。0.0に近いほど"
    "文ペアの意味が異なり、5.0に近いほど文ペアの意味が似ていることを表しています。整数値のみを返し、それ以外には何も含めな"
    "いことを厳守してください。",
    "jcommonsenseqa": "質問と回答の選択肢を入力として受け取り、選択肢から回答を選択してください。なお、回答は選択肢の番号"
    "（例：0）でするものとします。 回答となる数値をint型で返し、他には何も含めないことを厳守してください。",
    "jsquad": "質問に対する回答を文章から一言で抽出してください。回答は名詞で答えてください。 それ以外には何も含めないこと"
    "を厳守してください。",
}


def sample_of(task: str, doc: dict) -> tuple[str, str]:
    """llm-jp-eval's (input, output) of one JGLUE row."""
    if task == "jnli":
        return f"前提：{doc['sentence1']}\n仮説：{doc['sentence2']}", doc["label_name"]
    if task == "jsts":
        return f"文1：{doc['sentence1']}\n文2：{doc['sentence2']}", str(doc["label"])
    if task == "jcommonsenseqa":
        choices = ",".join(f"{index}.{doc[f'choice{index}']}" for index in range(5))
        return f"質問：{doc['question']}\n選択肢：{choices}", str(doc["label"])
    return f"文章：{doc['context']}\n質問：{doc['question']}", doc["answers"]["text"][0]


def expected_prompt(task: str, doc: dict, train: list[dict], shots: int) -> str:
    pool = list(train)
    random.seed(42)  # as llm-jp-eval's preprocessing does, through the global generator
    random.shuffle(pool)
    prompt = HEAD + INSTRUCTIONS[task]
    for shot in pool[: int(len(pool) * 0.9)][:shots]:
        shot_input, shot_output = sample_of(task, shot)
        prompt += f"\n\n### 入力:\n{shot_input}\n\n### 応答:\n{shot_output}"
    return prompt + f"\n\n### 入力:\n{sample_of(task, doc)[0]}\n\n### 応答:\n"


@pytest.mark.parametrize(("task", "shots"), [("jsts", 4), ("jcommonsenseqa", 4), ("jnli", 0), ("jsquad", 0)])
def test_prompts_equal_llm_jp_evals_template(task, shots):
    overrides = ["preset=llm_jp_eval", f"task={task}", "data.dir=null", f"num_fewshot={shots}"]
    cfg = compose_fewshot_config(overrides)
    shown = rendered_prompts(cfg, 2)
    data = prepare(cfg, model_needed=False)
    train = data.documents.get("train", [])
    for shown_one, doc in zip(shown, data.documents["valid"][:2], strict=True):
        assert shown_one["prompt"] == expected_prompt(task, doc, train, shots)
        assert shown_one["target"] == sample_of(task, doc)[1]


def test_the_real_train_split_gives_the_shots_llm_jp_eval_draws(real_data):
    """On the real JSTS v1.1 train file (12,451 pairs): the shots are the first four of the shuffled 90%."""
    cfg = compose_fewshot_config(["preset=llm_jp_eval", "task=jsts", f"data.dir={real_data}", "data.version=1.1"])
    (shown,) = rendered_prompts(cfg, 1)
    data = prepare(cfg, model_needed=False)
    assert len(data.documents["train"]) == 12451
    assert shown["prompt"] == expected_prompt("jsts", data.documents["valid"][0], data.documents["train"], 4)


def test_nejumi_is_llm_jp_evals_datasets_at_two_and_zero_shots_on_its_three_jglue_tasks():
    nejumi, base = load_preset("nejumi", _config_root()), load_preset("llm_jp_eval", _config_root())
    # Nejumi 3's jaster list has jnli, jcommonsenseqa and jsquad; its "jsts" is commented out
    assert {task: nejumi.shots(task) for task in nejumi.tasks} == dict.fromkeys(["jnli", "jcommonsenseqa", "jsquad"], 2)
    assert nejumi.limit == 100 and base.limit is None  # its first 100 test samples per dataset
    assert nejumi.chat and not base.chat
    assert nejumi.tasks["jnli"]["config"]["doc_to_text"] == "前提：{{ sentence1 }}\n仮説：{{ sentence2 }}"
    assert nejumi.tasks["jnli"]["chat_lead"] == NEJUMI_INTRO + "\n" + INSTRUCTIONS["jnli"] + "\n\n"
    generation = nejumi.tasks["jsquad"]["config"]["generation_kwargs"]
    assert generation == {
        "until": [],
        "do_sample": True,
        "temperature": 0.1,
        "top_p": 1.0,
        "top_k": 0,
        "max_gen_toks": 25,
    }
    assert protocol_label(nejumi, 2) == "fewshot/nejumi/2shot" and protocol_label(nejumi, 0) == "fewshot/nejumi/0shot"
    assert protocol_label(base, 4) == "fewshot/llm_jp_eval/4shot"
    for overrides, limit in (([], 100), (["limit=3"], 3)):
        cfg = compose_fewshot_config(["preset=nejumi", "task=jnli", "data.dir=null", "num_fewshot=0", *overrides])
        assert prepare(cfg, model_needed=False).limit == limit


NEJUMI_INTRO = (
    "以下に、あるタスクを説明する指示があり、それに付随する入力が更なる文脈を提供しています。リクエストを適切に完了するための"
    "回答を記述してください。"
)
# A chat template with no whitespace control, so that plain jinja2 (Nejumi's prompt.py) and transformers'
# apply_chat_template (trim_blocks) render it alike
CHAT_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}ユーザー: {{ message['content'] }}"
    "\n{% else %}アシスタント: {{ message['content'] }}{{ eos_token }}\n{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}アシスタント: {% endif %}"
)


def nejumi_expected_prompt(task: str, doc: dict, train: list[dict], shots: int) -> str:
    """Nejumi 3's prompt (jaster.py, evaluate_n_shot): shots as user/assistant messages, then the input; intro,
    instruction and a blank line in front of the first message; rendered with the template as prompt.py renders
    it (plain jinja2; for this template the same text as the served rendering)."""
    from jinja2 import Template

    pool = list(train)
    random.seed(42)
    random.shuffle(pool)
    messages = []
    for shot in pool[: int(len(pool) * 0.9)][:shots]:
        shot_input, shot_output = sample_of(task, shot)
        messages += [{"role": "user", "content": shot_input}, {"role": "assistant", "content": shot_output}]
    messages.append({"role": "user", "content": sample_of(task, doc)[0]})
    instruction = "\n".join([NEJUMI_INTRO, INSTRUCTIONS[task]])
    messages[0]["content"] = f"{instruction}\n\n{messages[0]['content']}"
    return Template(CHAT_TEMPLATE).render(
        messages=messages, add_generation_prompt=True, bos_token="<s>", eos_token="</s>"
    )


@pytest.fixture
def chat_template_file(tmp_path):
    path = tmp_path / "chat.jinja"
    path.write_text(CHAT_TEMPLATE, encoding="utf-8")
    return path


@pytest.mark.parametrize(("task", "shots"), [("jcommonsenseqa", 2), ("jnli", 2), ("jsquad", 0)])
def test_nejumi_prompts_are_its_chat_messages_under_the_models_template(tiny_decoder, chat_template_file, task, shots):
    overrides = ["preset=nejumi", f"task={task}", "data.dir=null", f"num_fewshot={shots}"]
    cfg = compose_fewshot_config(
        [*overrides, f"model.pretrained={tiny_decoder}", f"model.chat_template={chat_template_file}"]
    )
    shown = rendered_prompts(cfg, 2)
    data = prepare(cfg, model_needed=False)
    for shown_one, doc in zip(shown, data.documents["valid"][:2], strict=True):
        assert shown_one["prompt"] == nejumi_expected_prompt(task, doc, data.documents.get("train", []), shots)
        assert shown_one["target"] == sample_of(task, doc)[1]


def test_nejumi_answers_by_hand():
    answer = llm_jp_eval.nejumi_answer
    assert answer(" Entailment\n\nbecause", "jnli") == "entailment"  # lower-cased, first block
    assert answer("答え: 'ＮＨＫ'\n\n説明", "jsquad") == "nhk"  # head removed, lower-cased, quotes, then NFKC
    assert answer("回答:「東京」", "jsquad") == "「東京」"  # only ' and " quotes are stripped
    assert answer("\n\n2", "jcommonsenseqa") == "2"  # stripped before the blank-line cut
    assert answer("\n\n1", "jcola-in-domain") == ""  # text_formatter leaves this task as it is
    assert llm_jp_eval.extract_answer("\n\n2") == ""  # llm-jp-eval's own rule cuts first


def test_a_nejumi_run_scores_its_answers(jglue_bench_cli, tiny_decoder, chat_template_file, tmp_path):
    arguments = ["preset=nejumi", "task=jcommonsenseqa", "model.dtype=float32", "limit=3"]
    record, rows = run_on_the_sample(
        jglue_bench_cli, tiny_decoder, tmp_path, *arguments, f"model.chat_template={chat_template_file}"
    )
    assert record["protocol"] == "fewshot/nejumi/2shot"
    assert record["fewshot"]["chat_template"]["sha256"] == hashlib.sha256(chat_template_file.read_bytes()).hexdigest()
    cfg = compose_fewshot_config(["preset=nejumi", "task=jcommonsenseqa", "data.dir=null", f"model.pretrained={tiny_decoder}",
                                  f"model.chat_template={chat_template_file}"])  # fmt: skip
    assert [row["prompt"] for row in rows] == [shown["prompt"] for shown in rendered_prompts(cfg, 3)]
    assert all(row["prediction"] == llm_jp_eval.nejumi_answer(row["generation"], "jcommonsenseqa") for row in rows)
    hits = [row["prediction"] == str(row["gold"]) for row in rows]
    assert record["metrics"]["exact_match"] == pytest.approx(100 * sum(hits) / 3, abs=1e-3)


def test_chat_prompts_get_no_second_bos_and_the_recipe_keys_the_run(tiny_decoder, chat_template_file):
    from dataclasses import replace

    from jglue_bench.fewshot.backends import load_model
    from jglue_bench.fewshot.chat import use_chat_template
    from jglue_bench.fewshot.run import experiment_key

    overrides = ["preset=nejumi", "task=jnli", "data.dir=null", f"model.pretrained={tiny_decoder}", "device=cpu"]
    cfg = compose_fewshot_config([*overrides, f"model.chat_template={chat_template_file}"])
    lm = load_model(cfg, chat=True)
    bos = lm.tokenizer.bos_token_id
    from transformers import AutoTokenizer

    assert AutoTokenizer.from_pretrained(tiny_decoder)("ユーザー: x")["input_ids"][0] == bos  # its default adds one
    assert lm.tok_batch_encode(["ユーザー: x"])[0][0].tolist()[0] != bos  # a template without BOS gets none
    assert lm.tok_batch_encode(["<s>ユーザー: x"])[0][0].tolist()[:2].count(bos) == 1  # its own BOS, once
    # lm-eval's vLLM backend keeps the template it resolved at load: the file replaces that one too
    backend = type("Backend", (), {"tokenizer": lm.tokenizer, "hf_chat_template": "{{ 'own' }}"})()
    recorded = use_chat_template(backend, cfg.model)
    assert backend.hf_chat_template == CHAT_TEMPLATE == lm.tokenizer.chat_template
    assert recorded["sha256"] == hashlib.sha256(chat_template_file.read_bytes()).hexdigest()
    data = prepare(cfg, model_needed=False)
    entry = dict(data.preset.task_entry("jnli"))
    other = replace(data, preset=replace(data.preset, tasks={"jnli": {**entry, "chat_lead": "前置き\n\n"}}))
    assert experiment_key(cfg, data) != experiment_key(cfg, other)  # another recipe under the same label reruns


def test_a_model_without_a_chat_template_is_one_line(jglue_bench_cli, tiny_decoder, tmp_path):
    code, stdout, stderr = jglue_bench_cli(
        "fewshot", "preset=nejumi", "task=jnli", f"model.pretrained={tiny_decoder}", "data.dir=null", "limit=2",
        f"output_dir={tmp_path / 'out'}", f"results.path={tmp_path / 'runs.jsonl'}",
    )  # fmt: skip
    assert code == 2 and "has no chat template" in stderr and "model.chat_template=FILE" in stderr
    assert "Traceback" not in stderr and not (tmp_path / "runs.jsonl").exists()
    code, _, stderr = jglue_bench_cli("fewshot", "preset=nejumi", "task=jnli", f"model.pretrained={tiny_decoder}",
                                      "data.dir=null", "model.chat_template=/no/such.jinja", "show_prompts=1")  # fmt: skip
    assert code == 2 and "model.chat_template=/no/such.jinja: no such file" in stderr


def _config_root():
    from jglue_bench.config import config_dir

    return config_dir()


def test_answer_extraction_and_parsing_by_hand():
    assert llm_jp_eval.extract_answer(" ｅｎｔａｉｌｍｅｎｔ \n\n### 入力:") == "entailment"  # NFKC, first block
    assert llm_jp_eval.extract_answer("3\n4") == "3\n4"  # only a blank line ends the answer
    assert llm_jp_eval.parse_float("約3.5点") == 3.5 and llm_jp_eval.parse_float("４.０") == -2.0  # not NFKC'd here
    assert llm_jp_eval.parse_float("abc") == -2.0 and llm_jp_eval.parse_float("3.5.1") == -2.0


def test_char_f1_is_fuzzywuzzys_token_sort_ratio_by_hand():
    ratio = llm_jp_eval.token_sort_ratio
    assert ratio("東京都", "東京") == 80  # common subsequence 2, lengths 3 + 2: 2 * 2 / 5
    assert ratio("東京 タワー", "タワー、東京") == 100  # "、" is a separator; sorted tokens then agree
    assert ratio("ABC", "abd") == 67  # lower-cased; 2 * 2 / 6 rounds to 67
    assert ratio("", "東京") == 0 and ratio("。", "。") == 0  # empty after processing: 0, even for both
    assert ratio("café", "cafe") == 86  # characters 128-255 dropped first: "caf" vs "cafe", 2 * 3 / 7


def test_correlations_of_constant_answers_are_zero_as_llm_jp_eval_reports():
    assert llm_jp_eval.pearson_of_pairs([(1.0, 3.0), (2.0, 3.0), (4.0, 3.0)]) == 0.0
    assert llm_jp_eval.spearman_of_pairs([(1.0, 1.0), (2.0, -2.0), (4.0, 3.0)]) == pytest.approx(0.5)


def test_format_rate_counts_answers_the_instruction_asks_for():
    from jglue_bench.prepare.stage import task_spec

    jnli = task_spec(compose_fewshot_config(["task=jnli"]))
    rows = [{"prediction": "entailment"}, {"prediction": "含意"}, {"prediction": "neutral"}, {"prediction": ""}]
    assert scores.llm_jp_eval_format_rate(rows, "exact_match", jnli) == 50.0
    jsts = task_spec(compose_fewshot_config(["task=jsts"]))
    rows = [{"prediction": "3.5"}, {"prediction": "約3"}, {"prediction": "7"}, {"prediction": "0"}]
    assert scores.llm_jp_eval_format_rate(rows, "correlation", jsts) == 50.0


def run_on_the_sample(jglue_bench_cli, model, tmp_path, *arguments: str) -> tuple[dict, list[dict]]:
    """`jglue-bench fewshot ARGUMENTS` over the bundled sample with `model`: its record and dev predictions."""
    out = tmp_path / "out"
    code, _, stderr = jglue_bench_cli(
        "fewshot", f"model.pretrained={model}", "data.dir=null", *arguments, f"output_dir={out}",
        f"results.path={tmp_path / 'runs.jsonl'}",
    )  # fmt: skip
    assert code == 0, stderr
    record = json.loads((out / "record.json").read_text(encoding="utf-8"))
    rows = [json.loads(line) for line in (out / "predictions-valid.jsonl").read_text(encoding="utf-8").splitlines()]
    return record, rows


def test_a_run_scores_generations_as_llm_jp_eval_does(jglue_bench_cli, tiny_decoder, tmp_path):
    arguments = ["preset=llm_jp_eval", "task=jsts", "model.dtype=float32", "limit=4"]
    record, rows = run_on_the_sample(jglue_bench_cli, tiny_decoder, tmp_path, *arguments)
    assert record["protocol"] == "fewshot/llm_jp_eval/4shot"
    assert record["fewshot"]["source_data_version"] == "1.1" and record["task"]["data_version"] == "1.3"
    assert set(record["metrics"]) == {"pearson", "spearman", "format_rate"}
    assert len(rows) == 4 and all(row["prompt"].endswith("### 応答:\n") for row in rows)
    assert all(row["prediction"] == llm_jp_eval.extract_answer(row["generation"]) for row in rows)
    pairs = [(float(row["gold"]), llm_jp_eval.parse_float(row["prediction"])) for row in rows]
    assert record["metrics"]["pearson"] == pytest.approx(100 * llm_jp_eval.pearson_of_pairs(pairs), abs=1e-3)
    assert record["chance"]["valid"]["pearson"] == 0.0
    throughput = record["throughput"]
    assert throughput["backend"] == "hf" and throughput["examples"] == 4
    assert throughput["examples_per_s"] > 0 and throughput["tokens_per_s"] > 0
    # the device block of a training record, so report's efficiency table names device and precision
    assert record["device"]["type"] == "cpu" and record["device"]["precision"] == "float32"
    assert record["device"]["num_processes"] == 1 and record["device"]["name"]


@pytest.mark.slow  # 2 s; char_f1 goes through the same metric wiring as the JSTS run above
def test_jsquad_answers_are_scored_with_llm_jp_evals_char_f1(jglue_bench_cli, tiny_decoder, tmp_path):
    arguments = ["preset=llm_jp_eval", "task=jsquad", "limit=1", "num_fewshot=0", "max_gen_toks=6"]
    record, (row,) = run_on_the_sample(jglue_bench_cli, tiny_decoder, tmp_path, *arguments)
    expected = llm_jp_eval.token_sort_ratio(row["prediction"], llm_jp_eval.normalize(row["gold"]))
    assert record["metrics"]["char_f1"] == pytest.approx(expected, abs=1e-3)
    assert {"f1", "exact_match_all_golds", "format_rate"} <= set(record["metrics"])


def test_jnli_without_its_train_file_is_one_line_and_zero_shot_works(jglue_bench_cli, tmp_path):
    data = tmp_path / "datasets"
    (data / "jnli-v1.1").mkdir(parents=True)
    shutil.copy(sample_dir() / "jnli-v1.3" / "valid-v1.3.json", data / "jnli-v1.1" / "valid-v1.1.json")
    arguments = ["fewshot", "preset=llm_jp_eval", "task=jnli", f"data.dir={data}", "data.version=1.1"]
    code, _, stderr = jglue_bench_cli(*arguments, "model.pretrained=unused", f"output_dir={tmp_path / 'out'}")
    lines = stderr.strip().splitlines()
    assert code == 2 and len(lines) == 1
    assert "train-v1.1.json does not exist" in lines[0] and "num_fewshot=0" in lines[0]
    code, stdout, stderr = jglue_bench_cli(*arguments, "num_fewshot=0", "show_prompts=1")
    assert code == 0, stderr
    assert json.loads(stdout.strip().splitlines()[-1])["prompt"].startswith(HEAD + INSTRUCTIONS["jnli"])


def v13_test_cases() -> list:
    """Every (preset, prompt version, task) whose task has a v1.3 test file in JGLUE (JCoLA and MARC-ja have none)."""
    cases = []
    for name in preset_names(_config_root()):
        document = load_preset(name, _config_root())
        versions = [None] if document.prompt_version is None else ["0.2", "0.3"] if name == "stability_ja" else [None]
        for version in versions:
            for task in load_preset(name, _config_root(), version).tasks:
                if task in ("jnli", "jsts", "jsquad", "jcommonsenseqa"):
                    # quick: llm_jp_eval's three small files; JSQuAD's (1 s each) and the other presets' with -m slow
                    marks = () if name == "llm_jp_eval" and task != "jsquad" else (pytest.mark.slow,)
                    cases.append(pytest.param(name, version, task, marks=marks))
    return cases


@pytest.mark.parametrize(("preset", "version", "task"), v13_test_cases())
def test_every_preset_scores_the_v13_test_split(real_data, request, tmp_path, preset, version, task):
    test_file = real_data / f"{task}-v1.3" / "test-v1.3.json"
    if not test_file.is_file():
        pytest.skip(f"{test_file} not found")
    overrides = [f"preset={preset}", f"task={task}", f"data.dir={real_data}", "data.version=1.3"]
    overrides += ["data.eval_split=test", "num_fewshot=0", *([f"prompt_version={version}"] if version else [])]
    if load_preset(preset, _config_root()).chat:  # its prompts are rendered by a tokenizer's chat template
        template = tmp_path / "chat.jinja"
        template.write_text(CHAT_TEMPLATE, encoding="utf-8")
        overrides += [f"model.pretrained={request.getfixturevalue('tiny_decoder')}", f"model.chat_template={template}"]
    cfg = compose_fewshot_config(overrides)
    (shown,) = rendered_prompts(cfg, 1)
    data = prepare(cfg, model_needed=False)
    assert data.eval_splits == ["test"] and data.splits["test"].file.path.name == "test-v1.3.json"
    first = data.documents["test"][0]
    assert shown["id"] == first["id"] or preset == "stability_ja"  # jp-stable scores its documents shuffled
    assert str(first.get("question") or first.get("sentence1"))[:10] in shown["prompt"] or preset == "stability_ja"


def test_vllm_without_its_package_is_one_line_naming_the_install(jglue_bench_cli, monkeypatch, tmp_path):
    import jglue_bench.fewshot.backends as backends

    monkeypatch.setattr(backends, "find_spec", lambda name: None)
    code, _, stderr = jglue_bench_cli(
        "fewshot", "backend=vllm", "model.pretrained=unused", "limit=1", f"output_dir={tmp_path / 'out'}"
    )
    lines = stderr.strip().splitlines()
    assert code == 2 and len(lines) == 1
    assert "needs the vllm package" in lines[0] and "pip install 'jglue-bench[vllm]'" in lines[0]


def test_vllm_without_a_gpu_is_one_line(monkeypatch):
    import torch

    import jglue_bench.fewshot.backends as backends
    from jglue_bench.errors import UserError

    monkeypatch.setattr(backends, "find_spec", lambda name: object())
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(UserError, match=r"needs a CUDA GPU .* run backend=hf"):
        check_backend("vllm")


def test_a_vllm_records_device_is_the_gpu(monkeypatch):
    """lm-eval's vLLM wrapper has a `device` attribute, None: the record names the GPU the engine runs on."""
    from types import SimpleNamespace

    import torch
    from omegaconf import OmegaConf

    from jglue_bench.fewshot.run import fewshot_device

    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device: "NVIDIA H200")
    cfg = OmegaConf.create({"backend": "vllm", "model": {"dtype": "bfloat16"}})
    device = fewshot_device(SimpleNamespace(device=None, model=None), cfg)
    assert (device["device"], device["type"], device["name"], device["precision"]) == (
        "cuda",
        "cuda",
        "NVIDIA H200",
        "bfloat16",
    )


def test_malformed_generated_answers_are_one_invalid_class_in_macro_f1():
    from jglue_bench.fewshot import scores

    rows = [
        {"gold": gold, "prediction": answer, "generation": answer}
        for gold, answer in [("entailment", "entailment"), ("entailment", "entail"), ("neutral", "neutral"),
                             ("contradiction", "矛盾")]
    ]  # fmt: skip
    found = scores.extra_metrics("classification", rows, 3)
    # by hand: entailment F1 2/3 (P 1, R 1/2), neutral 1, contradiction 0, the invalid class 0 (two answers, no
    # gold): (2/3 + 1) / 4; with each malformed answer a class of its own it would be (2/3 + 1) / 5
    assert found["macro_f1"] == pytest.approx(100 * (2 / 3 + 1) / 4, abs=1e-4)  # records keep 4 decimals
    # balanced accuracy: the recall of each gold class, (1/2 + 1 + 0) / 3
    assert found["balanced_accuracy"] == pytest.approx(100 * (1 / 2 + 1 + 0) / 3, abs=1e-4)
