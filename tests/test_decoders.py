"""Decoder LLMs fine-tuned with a head (issue #22, first slice): small random Llama, Qwen2 and Gemma models over the
real llm-jp v3 and sarashina SentencePiece models (jglue_bench.fewshot.tiny) memorise 8 examples of classification,
regression and multiple choice, fully or with LoRA; LoRA changes the adapters and the head only; the head reads the last real
token whatever the padding; a saved adapter scores again as it did, and folded into the base weights gives the
same predictions."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from conftest import MEMORISE_EIGHT, shared_models_dir

from jglue_bench.errors import UserError
from jglue_bench.fewshot.tiny import FAMILY_TOKENIZERS
from jglue_bench.tasks import kind_module
from jglue_bench.train import loop as train_loop
from jglue_bench.train.decoders import decoder_auto_class, decoder_head, ready_tokenizer
from jglue_bench.train.loop import train
from jglue_bench.train.modeling import load_pretrained, load_weights, weights_dtype
from jglue_bench.train.preflight import check_training_dtype
from jglue_bench.train.saved_runs import evaluate_saved_run, load_saved_run, saved_model

FAMILIES = FAMILY_TOKENIZERS  # family -> (SentencePiece model, pad token); Mistral's QA class keeps model.'s names
KINDS = {
    "classification": ("jnli", "accuracy"),
    "regression": ("jsts", "pearson"),
    "multiple_choice": ("jcommonsenseqa", "accuracy"),
    "extractive_qa": ("jsquad", "f1"),
}
QUICK = {("llama", "classification", "lora")}
NO_QA_CLASS = {"gemma"}  # transformers 5 has no GemmaForQuestionAnswering: a one-line error (tested below)
CASES = [
    pytest.param(
        family,
        kind,
        method,
        marks=() if (family, kind, method) in QUICK else pytest.mark.slow,
        id=f"{family}-{kind}-{method or 'full'}",
    )
    for family in FAMILIES
    for kind in KINDS
    for method in ("lora", None)
    if not (kind == "extractive_qa" and family in NO_QA_CLASS)
]


@pytest.fixture(scope="session")
def decoder_folders(tmp_path_factory):
    """family -> a folder with a random 2-layer causal LM (hidden 32) and its tokenizer, built once per session."""
    from jglue_bench.fewshot.tiny import build_tiny_decoder

    built: dict[str, Path] = {}

    def folder(family: str) -> Path:
        if family not in built:
            (subfolder, name), pad = FAMILIES[family]
            model_file = shared_models_dir() / subfolder / name
            if not model_file.is_file():
                pytest.skip(f"SentencePiece model not found at {model_file} (set JGLUE_MODELS_DIR)")
            target = tmp_path_factory.mktemp(f"decoder-{family}")
            built[family] = build_tiny_decoder(model_file, target, hidden=32, architecture=family, pad_token=pad)
        return built[family]

    return folder


def decoder_overrides(folder: Path, task: str, method: str | None) -> list[str]:
    return [
        "model=causal_lm",
        f"model.pretrained={folder}",
        f"task={task}",
        *MEMORISE_EIGHT,
        "save_model=true",
        *(["model.peft.method=lora", "model.peft.r=4", "learning_rate=1e-2"] if method else []),
    ]


@pytest.mark.parametrize("family, kind, method", CASES)
def test_decoder_memorises_saves_and_scores_again(make_config, decoder_folders, family, kind, method):
    task, metric = KINDS[kind]
    extra = ["model.merge_adapter=true"] if method else []
    # transformers 5 loads any qwen2 folder's tokenizer as Qwen2Tokenizer, a byte-level BPE built here from the
    # sarashina unigram pieces (a real Qwen2 checkpoint ships that BPE itself): its offsets miss characters, which
    # QA slices answers by; the unigram recipe reads the folder's tokenizer.json as it is
    extra += ["model.tokenizer.recipe=unigram"] if (family, kind) == ("qwen2", "extractive_qa") else []
    result = train(
        make_config(*decoder_overrides(decoder_folders(family), task, method), "num_train_epochs=60", *extra)
    )
    assert result.metrics[metric] >= 85.0, (family, kind, method, result.record["history"][-2:])
    facts = result.record["model"]
    if method:
        assert facts["peft"] == {
            "method": "lora",
            "r": 4,
            "alpha": 16,
            "dropout": 0.0,
            "target_modules": ["k_proj", "o_proj", "q_proj", "v_proj"],
        }
        assert 0 < facts["trainable_parameters"] < facts["num_parameters"] / 10
        assert (result.output_dir / "model" / "adapter_config.json").is_file()
        assert not (result.output_dir / "model" / "model.safetensors").exists()  # the adapter only, not a copy
    else:
        assert facts["peft"] is None and facts["trainable_parameters"] == facts["num_parameters"]
    again = evaluate_saved_run(result.output_dir, ["data.eval_split=train"])
    assert again.metrics[metric] == pytest.approx(result.metrics[metric], abs=1e-6)
    assert again.record["model"]["peft"] == facts["peft"]  # the evaluate record names the LoRA run it scored
    if method:
        assert_merged_predicts_as_unmerged(result.output_dir)
    if kind in ("classification", "extractive_qa"):
        assert_predict_gives_the_runs_predictions(result.output_dir, task)


def assert_predict_gives_the_runs_predictions(run_dir: Path, task: str) -> None:
    """`predict` (base weights + the saved adapter, or the saved model) labels the training rows as the run did."""
    import json

    import jglue_bench
    from jglue_bench.train.saved_runs import predict_file

    sample = Path(jglue_bench.__file__).parent / "sample_data" / f"{task}-v1.3" / "train-v1.3.json"
    predicted = {row["id"]: row["prediction"] for row in predict_file(run_dir, sample)}
    lines = (run_dir / "predictions-train.jsonl").read_text(encoding="utf-8").splitlines()
    during_training = {row["id"]: row["prediction"] for row in map(json.loads, lines)}
    assert len(during_training) == 8
    assert {key: predicted[key] for key in during_training} == during_training


def assert_merged_predicts_as_unmerged(run_dir: Path) -> None:
    """merged/ (the adapter folded into the base weights, a plain transformers model) gives the adapter's logits."""
    saved = load_saved_run(run_dir)
    kind_name = saved.spec.kind
    kind = kind_module(kind_name)
    from jglue_bench.tokenization import load_tokenizer

    tokenizer = ready_tokenizer(saved.cfg.model, load_tokenizer(saved.cfg.model))
    unmerged = saved_model(saved, kind, torch.device("cpu"), tokenizer).eval()
    merged, missing = load_weights(kind, run_dir / "merged", auto_class=decoder_auto_class(saved.cfg.model, kind_name))
    assert missing == set(), missing  # merged/ loads whole with its own class, as a user would load it
    merged = merged.eval()
    unmerged = getattr(unmerged, "scorer", unmerged)  # multiple choice: the sequence scorer inside ChoiceScores
    batch = tokenizer(["犬が公園で遊んでいる。", "今日は晴れです", "東京タワーは港区にある電波塔です。"], padding=True)
    inputs = {name: torch.tensor(batch[name]) for name in ("input_ids", "attention_mask")}
    with torch.no_grad():
        expected, found = unmerged(**inputs), merged(**inputs)
    for name in ("start_logits", "end_logits") if kind_name == "extractive_qa" else ("logits",):
        torch.testing.assert_close(found[name], expected[name], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_the_head_reads_the_last_real_token_whatever_the_padding(decoder_folders, family):
    """Right padding, left padding and each text alone (no padding at all) give the same logits: the head reads
    the last real token, with eos as the pad token (Llama, Qwen2) or a pad token of its own (Gemma)."""
    from jglue_bench.tokenization import load_tokenizer

    folder = decoder_folders(family)
    model_cfg = {"name": "causal_lm", "family": "decoder", "pretrained": str(folder), "tokenizer": {"recipe": "auto"}}
    tokenizer = ready_tokenizer(model_cfg, load_tokenizer(model_cfg))
    assert tokenizer.pad_token == (FAMILIES[family][1] or tokenizer.eos_token)
    kind = kind_module("classification")
    torch.manual_seed(0)
    model = load_pretrained(kind, folder, num_labels=3, **decoder_head(model_cfg, tokenizer, "classification")).eval()
    texts = [
        "犬が公園で遊んでいる。",
        "今日は晴れです",
        "東京タワーは港区にある電波塔で、高さは三百三十三メートルです。",
    ]
    logits = {}
    for side in ("right", "left"):
        tokenizer.padding_side = side
        batch = tokenizer(texts, padding=True, return_tensors="pt")
        assert (batch["attention_mask"] == 0).any()  # the texts differ in length: some are padded
        with torch.no_grad():
            logits[side] = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    with torch.no_grad():
        alone = torch.cat([model(**tokenizer([text], return_tensors="pt")).logits for text in texts])
    torch.testing.assert_close(logits["left"], logits["right"], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(logits["right"], alone, atol=1e-5, rtol=1e-4)


def test_lora_trains_the_adapters_and_the_head_only(make_config, decoder_folders, monkeypatch):
    """Every tensor of the base model is bit-for-bit what it was before training; every adapter matrix B (zeros
    at the start) and the head's trained copy changed."""
    snapshots = {}
    real_add_adapter = train_loop.add_adapter

    def spy(model, settings):
        wrapped = real_add_adapter(model, settings)
        snapshots["model"] = wrapped
        snapshots["before"] = {name: tensor.detach().clone() for name, tensor in wrapped.state_dict().items()}
        return wrapped

    monkeypatch.setattr(train_loop, "add_adapter", spy)
    overrides = decoder_overrides(decoder_folders("llama"), "jnli", "lora")
    train(make_config(*overrides, "num_train_epochs=2", "save_model=false"))
    after = snapshots["model"].state_dict()
    before = snapshots["before"]
    assert set(after) == set(before)
    trained = [name for name in after if "lora_" in name or ".modules_to_save." in name]
    frozen = [name for name in after if name not in trained]
    assert any("lora_B" in name for name in trained) and any("modules_to_save" in name for name in trained)
    assert len(frozen) > 10
    for name in frozen:
        assert torch.equal(after[name], before[name]), f"{name} changed: LoRA must leave the base weights as they are"
    for name in (name for name in trained if "lora_B" in name or ".modules_to_save." in name):
        assert not torch.equal(after[name], before[name]), f"{name} did not train"


@pytest.mark.parametrize(
    "overrides, message",
    [
        (
            ["task=jnli", "model.peft.method=qlora"],
            "model.peft.method=qlora (4-bit base weights) needs a CUDA GPU (this run is on the CPU)",
        ),
        (["task=jnli", "model.peft.method=dora"], "model.peft.method is 'dora'; expected null, lora or qlora."),
        (["task=jnli", "model.peft.method=lora", "model.peft.r=0"], "model.peft.r is 0; expected a positive"),
    ],
)
def test_unsupported_decoder_settings_are_one_line(jglue_bench_cli, decoder_folders, overrides, message):
    code, out, err = jglue_bench_cli(
        "train", "model=causal_lm", f"model.pretrained={decoder_folders('llama')}", *overrides
    )
    assert code == 2, err
    assert message in err and len(err.strip().splitlines()) == 1, err


def test_lora_needs_pretrained_weights(jglue_bench_cli):
    code, out, err = jglue_bench_cli("train", "model=tiny", "+model.peft.method=lora")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert "model.peft.method=lora needs pretrained base weights (model.pretrained); model 'tiny' is built" in err


def test_lora_settings_are_part_of_the_experiment(make_config, decoder_folders):
    """A LoRA run and a full fine-tune of the same base are different experiments (neither skips the other); a
    run without model.peft keeps the key it had before the setting existed."""
    from jglue_bench.config import resolved_config
    from jglue_bench.prepare.stage import read_split, task_spec
    from jglue_bench.records.key import experiment_parts

    folder = decoder_folders("llama")
    parts = {}
    for method in ("lora", None):
        cfg = resolved_config(make_config(*decoder_overrides(folder, "jnli", method)))
        spec = task_spec(cfg)
        parts[method] = experiment_parts(cfg, spec, [read_split(spec, cfg.data, "train", 8)], "same tokenizer")
    assert parts["lora"]["peft"]["method"] == "lora" and parts["lora"]["peft"]["r"] == 4
    assert "peft" not in parts[None]


def test_extractive_qa_on_a_family_without_a_question_answering_class_is_one_line(jglue_bench_cli, decoder_folders):
    code, out, err = jglue_bench_cli(
        "train", "model=causal_lm", f"model.pretrained={decoder_folders('gemma')}", "task=jsquad"
    )
    assert code == 2, err
    assert "needs a question-answering class for model type 'gemma'" in err and len(err.strip().splitlines()) == 1, err
    from jglue_bench.errors import UserError
    from jglue_bench.train.decoders import checkpoint_key_mapping

    with pytest.raises(UserError, match="model type 'gemma'"):  # the load-time check a hub id gets
        checkpoint_key_mapping({"family": "decoder", "pretrained": str(decoder_folders("gemma"))}, "extractive_qa")


def test_lora_extractive_qa_starts_from_the_base_weights_and_a_saved_adapter_predicts_as_the_run_did(
    make_config, decoder_folders, caplog
):
    """Llama's question-answering class keeps its body under `transformer`, the causal LM checkpoint under `model`:
    every base tensor must come from the checkpoint (not a random body), the run's answers come back from `evaluate`
    and `predict` on base + adapter and from merged/, and loading logs no transformers load report and warns no
    peft FutureWarning."""
    import logging
    import warnings

    from safetensors.torch import load_file

    folder = decoder_folders("llama")
    result = train(
        make_config(*decoder_overrides(folder, "jsquad", "lora"), "num_train_epochs=3", "model.merge_adapter=true")
    )
    saved = load_saved_run(result.output_dir)
    tokenizer = ready_tokenizer(saved.cfg.model, load_tokenizer_for(saved))
    caplog.clear()
    with caplog.at_level(logging.WARNING), warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = saved_model(saved, kind_module("extractive_qa"), torch.device("cpu"), tokenizer)
        again = evaluate_saved_run(result.output_dir, ["data.eval_split=train"])
    assert "LOAD REPORT" not in caplog.text, caplog.text
    assert not [warning for warning in caught if "is_gradient_checkpointing" in str(warning.message)]
    checkpoint = load_file(folder / "model.safetensors")
    body = model.get_base_model().transformer.state_dict()
    assert body["layers.0.mlp.up_proj.weight"].equal(checkpoint["model.layers.0.mlp.up_proj.weight"])
    assert again.metrics == pytest.approx(result.metrics, abs=1e-6)
    assert again.record["model"]["peft"] == result.record["model"]["peft"] is not None
    assert_predict_gives_the_runs_predictions(result.output_dir, "jsquad")
    assert_merged_predicts_as_unmerged(result.output_dir)  # merged/ saved under the class's own names (`transformer.`)
    assert result.record["model"]["peft"]["target_modules"] == ["k_proj", "o_proj", "q_proj", "v_proj"]


def load_tokenizer_for(saved):
    from jglue_bench.tokenization import load_tokenizer

    return load_tokenizer(saved.cfg.model)


def test_sharded_lora_wraps_the_decoder_layer_and_refuses_to_merge(tiny_decoder):
    """FSDP2 shards each parameter on its own, so frozen base weights and trained adapters share a unit (FSDP1's
    use_orig_params is not needed); the unit is the decoder layer inside the PeftModel. Merging needs whole
    weights: one line under fsdp or deepspeed, none under ddp."""
    from jglue_bench.errors import UserError
    from jglue_bench.train.distributed import transformer_layer_classes
    from jglue_bench.train.peft_adapters import add_adapter, check_merge

    base = load_pretrained(kind_module("classification"), tiny_decoder, num_labels=3)
    settings = {"method": "lora", "r": 4, "alpha": 16, "dropout": 0.0, "target_modules": None}
    assert transformer_layer_classes(add_adapter(base, settings)) == ["LlamaDecoderLayer"]
    model_cfg = {
        "name": "causal_lm",
        "pretrained": str(tiny_decoder),
        "peft": {"method": "lora"},
        "merge_adapter": True,
    }
    check_merge(model_cfg, "ddp", sharded=False)
    with pytest.raises(UserError, match=r"model.merge_adapter=true needs whole weights .* trainer.distributed=fsdp"):
        check_merge(model_cfg, "fsdp", sharded=True)
    check_merge({**model_cfg, "merge_adapter": False}, "fsdp", sharded=True)


def test_bf16_on_the_cpu_trains_and_scores_a_lora_decoder_with_float32_weights(make_config, tiny_decoder, monkeypatch):
    """trainer.precision=bf16 on the CPU: the forward runs under bf16 autocast (the head's outputs are bf16), the
    weights and the saved adapter and head stay float32 (autocast casts per operation), and a saved run scores
    again as it did (QA: bf16 logits go to numpy as float32)."""
    from safetensors.torch import load_file

    output_dtypes = set()
    real_add_adapter = train_loop.add_adapter

    def spy(model, settings):
        model.qa_outputs.register_forward_hook(lambda module, args, output: output_dtypes.add(output.dtype))
        return real_add_adapter(model, settings)

    monkeypatch.setattr(train_loop, "add_adapter", spy)
    overrides = decoder_overrides(tiny_decoder, "jsquad", "lora")
    result = train(make_config(*overrides, "num_train_epochs=1", "trainer.precision=bf16", "trainer.device=cpu"))
    assert output_dtypes == {torch.bfloat16}
    saved = load_file(result.output_dir / "model" / "adapter_model.safetensors")
    assert {tensor.dtype for tensor in saved.values()} == {torch.float32}
    assert any("qa_outputs" in name for name in saved)
    again = evaluate_saved_run(result.output_dir, ["data.eval_split=train"])
    assert again.metrics == pytest.approx(result.metrics, abs=1e-6)


def test_qlora_loads_the_base_as_nf4_with_double_quantisation_computing_in_bf16(monkeypatch):
    """What can be checked without a GPU: the quantisation settings handed to from_pretrained, and which missing
    piece the one-line error names. The 4-bit load and training themselves run only on CUDA (not here)."""
    from jglue_bench.errors import UserError
    from jglue_bench.train import peft_adapters
    from jglue_bench.train.peft_adapters import check_merge, check_qlora, four_bit_config, four_bit_loading

    config = four_bit_config()
    assert (config.load_in_4bit, config.bnb_4bit_quant_type, config.bnb_4bit_use_double_quant) == (True, "nf4", True)
    assert config.bnb_4bit_compute_dtype == torch.bfloat16 and not config.load_in_8bit
    model_cfg = {"name": "causal_lm", "pretrained": "/some/folder", "peft": {"method": "lora"}}
    assert four_bit_loading(model_cfg) == {}
    qlora = {"method": "qlora", "r": 8, "alpha": 16, "dropout": 0.0, "target_modules": None}
    monkeypatch.setattr(peft_adapters.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UserError, match=r"needs bitsandbytes \(pip install 'jglue-bench\[qlora\]'\); use model"):
        check_qlora(qlora, on_cpu=False)
    monkeypatch.setattr(peft_adapters.importlib.util, "find_spec", lambda name: object())
    check_qlora(qlora, on_cpu=False)  # a GPU and bitsandbytes: nothing missing
    with pytest.raises(UserError, match=r"needs a CUDA GPU \(this run is on the CPU\); use model.peft.method=lora"):
        check_qlora(qlora, on_cpu=True)
    with pytest.raises(UserError, match=r"would fold the adapters into 4-bit weights"):
        check_merge({**model_cfg, "peft": {"method": "qlora"}, "merge_adapter": True}, "ddp", sharded=False)


def test_lora_trains_and_saves_every_head_module_the_checkpoint_lacks(cache_dir):
    """DeBERTa's classification head has a pooler the base checkpoint lacks (as DistilBERT's has a pre_classifier):
    initialised at random, it must train and be saved with the adapter (else `evaluate` would score a new random
    pooler); a module the checkpoint fills stays frozen."""
    from jglue_bench.train.modeling import fresh_modules, in_modules
    from jglue_bench.train.peft_adapters import add_adapter
    from jglue_bench.train.random_families import cached_family

    model, missing = load_weights(kind_module("classification"), cached_family("deberta_v3", cache_dir), num_labels=3)
    assert fresh_modules(model, missing) == ("classifier", "pooler")
    assert in_modules("classifier.weight", ["classifier"]) and not in_modules(
        "deberta.encoder.x.weight", ["classifier"]
    )
    model.jglue_fresh_modules = fresh_modules(model, missing)
    wrapped = add_adapter(model, {"method": "lora", "r": 4, "alpha": 16, "dropout": 0.0, "target_modules": None})
    trained = {name for name, parameter in wrapped.named_parameters() if parameter.requires_grad}
    assert any(".pooler.modules_to_save." in name for name in trained)
    assert not any("deberta.embeddings" in name for name in trained)
    assert fresh_modules(model, {"deberta.encoder.rel_embeddings.weight"}) == ("deberta.encoder.rel_embeddings",)


def test_a_bfloat16_checkpoint_trains_with_float32_weights_unless_model_dtype_says_otherwise(
    make_config, decoder_folders, tmp_path, monkeypatch, capsys
):
    """transformers 5 loads a checkpoint in its own dtype and the loop keeps no float32 master copy: a bfloat16
    checkpoint is loaded as float32 (model.dtype's default), so a full fine-tune updates float32 weights;
    model.dtype=bfloat16 keeps a LoRA run's frozen base in bfloat16, and says so for a full fine-tune."""
    import shutil

    from transformers import AutoModelForCausalLM

    source = decoder_folders("llama")
    checkpoint = tmp_path / "bf16"
    shutil.copytree(source, checkpoint)
    AutoModelForCausalLM.from_pretrained(str(source)).to(torch.bfloat16).save_pretrained(str(checkpoint))
    dtypes = {}
    real_build_model = train_loop.build_model

    def spy(*args, **kwargs):
        model = real_build_model(*args, **kwargs)
        dtypes["weights"] = {parameter.dtype for parameter in model.parameters()}
        return model

    monkeypatch.setattr(train_loop, "build_model", spy)
    settings = [*decoder_overrides(checkpoint, "jnli", None), "num_train_epochs=1", "save_model=false"]
    train(make_config(*settings))
    assert dtypes["weights"] == {torch.float32}
    train(make_config(*settings, "model.dtype=bfloat16", "model.peft.method=lora", "overwrite=true"))
    assert dtypes["weights"] == {torch.bfloat16}  # the base as loaded; peft adds float32 adapters on it
    trained = {}
    real_make_loop = train_loop.make_loop

    def loop_spy(cfg, accelerator, model, *rest):
        trained["dtypes"] = {p.dtype for p in model.parameters() if p.requires_grad}
        return real_make_loop(cfg, accelerator, model, *rest)

    monkeypatch.setattr(train_loop, "make_loop", loop_spy)
    lora_bf16 = [*settings, "model.dtype=bfloat16", "model.peft.method=lora", "trainer.precision=bf16"]
    train(make_config(*lora_bf16, "overwrite=true"))
    assert trained["dtypes"] == {torch.float32}  # under autocast the head copies train in float32 as LoRA's do
    capsys.readouterr()
    assert weights_dtype({"dtype": "bfloat16"}) == {"dtype": torch.bfloat16}
    check_training_dtype({"dtype": "bfloat16"}, None)
    assert "model.dtype=bfloat16 with every weight fine-tuned" in capsys.readouterr().err
    with pytest.raises(UserError, match="model.dtype='int8': expected float32, bfloat16 or float16"):
        weights_dtype({"dtype": "int8"})
    with pytest.raises(UserError, match="model.dtype=float16 with every weight fine-tuned: float16 weights cannot"):
        check_training_dtype({"dtype": "float16"}, None)  # fp16's scaler refuses float16 gradients at the first step
    check_training_dtype({"dtype": "float16"}, {"method": "lora"})  # LoRA trains float32 tensors: no refusal
    assert weights_dtype({"dtype": "float16"}) == {"dtype": torch.float16}


def test_an_adapter_without_a_module_the_checkpoint_lacks_is_refused_naming_the_adapter(make_config, cache_dir):
    # an adapter saved before LoRA kept the pooler (DeBERTa): loaded, the pooler would be new random weights
    from types import SimpleNamespace

    from jglue_bench.train.modeling import load_base
    from jglue_bench.train.random_families import cached_family

    spec = SimpleNamespace(kind="classification", labels=("entailment", "contradiction", "neutral"))
    model_cfg = {"name": "deberta_v3", "pretrained": str(cached_family("deberta_v3", cache_dir))}
    with pytest.raises(UserError, match="unfilled .*; the saved adapter does not hold them either .*train it again"):
        load_base(model_cfg, spec, kind_module("classification"), None, supplied=("classifier",))
