"""`bench fewshot`: the two lm-eval backends on one model (here the tests' random Llama), each a `jglue-bench
fewshot` run: the hf side's record throughput is in the table and the JSON, a backend that cannot run here (vLLM:
not installed, or no GPU) is a row saying why, and the ratio line says it was not measured rather than inventing
one."""

from __future__ import annotations

import json

import pytest

from jglue_bench.bench import fewshot_backends
from jglue_bench.errors import UserError

TINY = {"layers": 2, "hidden": 64, "heads": 4, "intermediate": 128}


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
    if "refused" in sides["vllm"]:
        assert lines[-1].startswith("vllm / hf: not measured") and "backend=vllm needs" in sides["vllm"]["refused"]


def test_a_folder_without_a_config_is_one_line(tmp_path):
    with pytest.raises(UserError, match="no config.json there"):
        fewshot_backends.run(None, "ja_leaderboard", "jnli", 2, ["hf"], tmp_path, TINY, "float32", 4, tmp_path)
