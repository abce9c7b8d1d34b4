"""Smoke tests of the benchmarks at tiny sizes on the real JGLUE files: each runs, prints a table whose last
line is a ratio, and writes its JSON. They report measurements; nothing here asserts a speed."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from conftest import shared_models_dir

from jglue_bench.bench.common import save_result
from jglue_bench.support.markdown import markdown_table

TASK = (("jsts", "train"),)


def last_line(capsys) -> str:
    return capsys.readouterr().out.strip().splitlines()[-1]


def saved(out_dir: Path, name: str) -> dict:
    files = sorted(out_dir.glob(f"{name}-*.json"))
    assert len(files) == 1, files
    result = json.loads(files[0].read_text(encoding="utf-8"))
    assert result["benchmark"] == name
    assert {"device", "torch_threads", "packages"} <= set(result["environment"])
    assert result["environment"]["packages"]["torch"]
    return result


def test_bench_tokenize(real_data, bandainamco_dir, tmp_path, capsys):
    from jglue_bench.bench import tokenize

    tokenize.run(real_data, bandainamco_dir / "vocab.txt", limit=200, out_dir=tmp_path)
    line = last_line(capsys)
    assert line.startswith("ratio fast/slow") and "identical ids on all 200 pairs: yes" in line
    result = saved(tmp_path, "tokenize")
    assert result["identical"] and result["pairs"] == 200


def test_bench_padding(real_data, bandainamco_dir, tmp_path, capsys):
    from jglue_bench.bench import padding

    padding.run(
        real_data,
        bandainamco_dir / "vocab.txt",
        limit=64,
        out_dir=tmp_path,
        tasks=(("jcommonsenseqa", "train"), ("jsquad", "valid")),
    )
    assert last_line(capsys).startswith("ratio ours/pad-to-max padding efficiency")
    measures = saved(tmp_path, "padding")["tasks"]
    assert [m["task"] for m in measures] == ["jcommonsenseqa", "jsquad"]
    for m in measures:
        assert 0 < m["pad_to_max"] <= m["grouped"] <= 1


def test_padding_efficiency_counts_every_choice():
    from jglue_bench.bench.padding import padding_efficiency

    features = [{"input_ids": [[1] * 4, [1] * 2]}, {"input_ids": [[1] * 3, [1] * 3]}]
    measured = padding_efficiency(features, batch_size=2, max_seq_length=8, seed=0)
    assert measured["real_tokens"] == 12 and measured["sequences"] == 4
    assert measured["computed"] == {"pad_to_max": 32, "dynamic_random": 16, "grouped": 16}
    # in two choice groups, the lengths 2, 3 | 3, 4: 2 x 3 + 2 x 4
    grouped = padding_efficiency(features, batch_size=2, max_seq_length=8, seed=0, choice_groups=2)
    assert grouped["computed"]["grouped"] == 14 and grouped["grouped"] == round(12 / 14, 3)


def test_bench_cache(real_data, bandainamco_dir, tmp_path, capsys):
    from jglue_bench.bench import cache

    cache.run(real_data, bandainamco_dir / "vocab.txt", limit=32, out_dir=tmp_path, tasks=TASK)
    assert last_line(capsys).startswith("ratio no-cache/warm-cache")
    (measure,) = saved(tmp_path, "cache")["tasks"]
    assert not measure["no_cache"]["cache_hit"] and not measure["cold"]["cache_hit"] and measure["warm"]["cache_hit"]


def test_bench_gpu_without_a_gpu_says_so_and_succeeds(capsys, monkeypatch):
    from jglue_bench.bench import gpu
    from jglue_bench.bench.cli import add_bench_parser

    monkeypatch.setattr(gpu, "gpu_visible", lambda: False)
    parser = argparse.ArgumentParser()
    add_bench_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["bench", "gpu"])
    args.handler(args)  # returns: exit status 0
    assert "no GPU" in last_line(capsys)


@pytest.mark.parametrize("task, pad_to_max_tokens", [(TASK, 32 * 128), ((("jcommonsenseqa", "valid"),), 64 * 5 * 64)])
def test_bench_gpu_measurements_run_on_the_cpu(real_data, bandainamco_dir, tmp_path, capsys, task, pad_to_max_tokens):
    from jglue_bench.bench import gpu

    small = [
        "model.architecture.dim=32",
        "model.architecture.n_layers=1",
        "model.architecture.n_heads=2",
        "model.architecture.hidden_dim=64",
    ]
    gpu.run(
        real_data,
        bandainamco_dir / "vocab.txt",
        overrides=small,
        steps=1,
        device="cpu",
        peak_tflops=1.0,
        out_dir=tmp_path,
        tasks=task,
        limit=64,
    )
    assert last_line(capsys).startswith("ratio ours/pad-to-max samples/s")
    modes = saved(tmp_path, "gpu")["tasks"][0]["modes"]
    assert modes["pad_to_max"]["computed_tokens"] == pad_to_max_tokens  # one batch: questions x choices x 64
    assert modes["grouped"]["real_tokens"] <= modes["grouped"]["computed_tokens"] < pad_to_max_tokens
    assert modes["grouped"]["mfu"] > 0


@pytest.mark.slow
def test_bench_train(real_data, bandainamco_dir, tmp_path, capsys):
    from jglue_bench.bench import train

    train.run(real_data, bandainamco_dir / "vocab.txt", train_samples=32, eval_samples=16, out_dir=tmp_path)
    line = last_line(capsys)
    assert line.startswith("ratio train samples/s: ours/best HF") and "ours/HF pad-to-max" in line
    sides = saved(tmp_path, "train")["sides"]
    assert set(sides) == {"hf_pad_to_max", "hf_dynamic", "ours"}
    assert all(side["train_samples_per_s"] > 0 for side in sides.values())


def test_results_of_the_same_second_do_not_overwrite_each_other(tmp_path):
    first, second = save_result("demo", {}, tmp_path), save_result("demo", {}, tmp_path)
    assert first != second and first.is_file() and second.is_file()


def test_markdown_table_aligns_numbers_right():
    table = markdown_table(["name", "value"], [["a", 1234.5], ["bb", 0.5]])
    assert table.splitlines()[2] == "| a    | 1,234 |"
    assert table.splitlines()[1].endswith("-:|")


@pytest.mark.slow
def test_bench_train_decoder_with_lora_starts_both_sides_from_the_same_peft_model(real_data, tmp_path, capsys):
    """A random Llama over the llm-jp v3 tokenizer with LoRA: both sides run and print their ratio, and the model
    HF Trainer copies is, tensor for tensor, the one train(cfg) starts from (same adapters, same head)."""
    from unittest import mock

    import torch

    from jglue_bench.bench import train
    from jglue_bench.train import loop as train_loop

    if not (shared_models_dir() / "llm-jp-tokenizer-v3").is_dir():
        pytest.skip("the llm-jp v3 tokenizer is not under JGLUE_MODELS_DIR")
    built, started = {}, {}
    make_loop, shared_inputs = train_loop.make_loop, train.shared_inputs

    def spy_ours(cfg, accelerator, model, *rest, **settings):
        started["ours"] = {name: tensor.detach().clone() for name, tensor in model.named_parameters()}
        started["ours_trainable"] = {name for name, tensor in model.named_parameters() if tensor.requires_grad}
        return make_loop(cfg, accelerator, model, *rest, **settings)

    def spy_shared(cfg):
        built["inputs"] = shared_inputs(cfg)
        return built["inputs"]

    with mock.patch.object(train_loop, "make_loop", spy_ours), mock.patch.object(train, "shared_inputs", spy_shared):
        train.run(
            real_data,
            None,
            train_samples=32,
            eval_samples=16,
            out_dir=tmp_path,
            sides=("hf_dynamic", "ours"),
            model="llama",
            peft="lora",
        )
    assert last_line(capsys).startswith("ratio train samples/s: ours/best HF (hf_dynamic)")
    result = saved(tmp_path, "train")
    assert result["settings"]["peft"] == "lora" and "llama" in result["settings"]["model"]
    assert all(side["train_samples_per_s"] > 0 for side in result["sides"].values())
    template = dict(built["inputs"][0].named_parameters())
    assert set(template) == set(started["ours"])
    assert {name for name, tensor in template.items() if tensor.requires_grad} == started["ours_trainable"]
    assert any("lora_A" in name for name in started["ours_trainable"])
    for name, tensor in template.items():
        assert torch.equal(tensor, started["ours"][name]), name


def test_bench_train_lora_on_an_encoder_is_one_line(tmp_path):
    from jglue_bench.bench import train
    from jglue_bench.errors import UserError

    with pytest.raises(UserError, match="--peft lora: LoRA is benchmarked on decoders; add --model FAMILY"):
        train.model_choice("tohoku_bert", None, tmp_path, "lora")
    with pytest.raises(UserError, match="one of .*llama, qwen2, gemma"):
        train.model_choice("gpt9", None, tmp_path, "none")
