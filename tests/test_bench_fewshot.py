"""`bench fewshot`: the two lm-eval backends on one model (here the tests' random Llama), each a `jglue-bench
fewshot` run in its own process: the hf side's record (kept under the benchmark's folder) and its throughput in the
table and the JSON, a backend that cannot run here (vLLM: not installed, or no GPU) is a row saying why, and the
ratio line says it was not measured rather than inventing one."""

from __future__ import annotations

import json

import pytest

from jglue_bench.bench import fewshot_backends
from jglue_bench.errors import UserError

TINY = {"layers": 2, "hidden": 64, "heads": 4, "intermediate": 128}


@pytest.mark.slow  # 12 s: each side is a process of its own (.ci/run runs it with the multi-process tests)
def test_both_backends_run_or_say_why(tiny_decoder, tmp_path, capsys):
    sides = fewshot_backends.run(
        None, "ja_leaderboard", "jcommonsenseqa", 3, ["hf", "vllm"], tiny_decoder, TINY, "float32", 4, tmp_path
    )
    hf = sides["hf"]
    assert hf["throughput"]["backend"] == "hf" and hf["throughput"]["examples"] == 3
    assert hf["throughput"]["tokens"] > 0 and hf["protocol"] == "fewshot/ja_leaderboard/3shot"
    assert "refused" in sides["vllm"] or sides["vllm"]["throughput"]["backend"] == "vllm"
    lines = capsys.readouterr().out.strip().splitlines()
    (saved,) = tmp_path.glob("fewshot-backends-*.json")
    result = json.loads(saved.read_text(encoding="utf-8"))
    assert result["sides"]["hf"]["throughput"] == hf["throughput"] and lines[-1] == result["ratio_line"]
    record = json.loads((tmp_path / result["runs"].split("/")[-1] / "hf" / "record.json").read_text(encoding="utf-8"))
    assert record["throughput"] == hf["throughput"] and record["fewshot"]["backend"] == "hf"  # kept, in its folder
    assert "3 documents each" in lines[-1] or "not measured" in lines[-1]
    if "refused" in sides["vllm"]:
        assert lines[-1].startswith("vllm / hf: not measured") and "backend=vllm needs" in sides["vllm"]["refused"]


def test_a_folder_without_a_config_is_one_line(tmp_path):
    with pytest.raises(UserError, match="no config.json there"):
        fewshot_backends.run(None, "ja_leaderboard", "jnli", 2, ["hf"], tmp_path, TINY, "float32", 4, tmp_path)


def test_the_ratio_is_printed_only_when_both_sides_ran(monkeypatch, tmp_path, capsys):
    """The table and the last line from the sides' records: a ratio of tokens/s when both ran, else "not measured"."""

    def side(backend, *_):
        if backend == "vllm" and not both:
            return {"refused": "backend=vllm needs a CUDA GPU"}
        speed = {
            "examples": 3,
            "tokens": 300,
            "seconds": 1.0,
            "examples_per_s": 3.0,
            "tokens_per_s": {"hf": 100.0, "vllm": 250.0}[backend],
        }
        device = {"device": "cuda", "precision": "bfloat16"}
        return {"throughput": speed, "device": device, "metrics": {"accuracy": 20.0}, "main_metric": "accuracy"}

    monkeypatch.setattr(fewshot_backends, "one_side", side)
    model = tmp_path / "model"  # a folder with a config.json: the sides never read it here
    model.mkdir()
    (model / "config.json").write_text("{}", encoding="utf-8")
    for both, last in ((True, "vllm / hf: 2.50x tokens/s (ja_leaderboard, jnli, 3 documents each)"),
                       (False, "vllm / hf: not measured (vllm did not run here; see the table)")):  # fmt: skip
        fewshot_backends.run(None, "ja_leaderboard", "jnli", 3, ["hf", "vllm"], model, TINY, "bfloat16", 4, tmp_path)
        output = capsys.readouterr().out.strip().splitlines()
        assert output[-1] == last
        assert any(line.startswith("| vllm") and ("250" in line if both else "did not run" in line) for line in output)
