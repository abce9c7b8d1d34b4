"""lm-eval's model backends for a decoder config (transformers' HFLM; vLLM as an optional extra), their one-line
refusals, and the throughput a run records for either."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from contextlib import contextmanager
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from jglue_bench.errors import UserError, first_line
from jglue_bench.fewshot.tokenizers import tokenizer_trap

BACKENDS = ("hf", "vllm")


def check_backend(backend: str) -> None:
    """The backend's one-line refusal before any data or weights are read: an unknown name, or vLLM without its
    package or without a GPU (vLLM runs on CUDA only)."""
    if backend not in BACKENDS:
        raise UserError(f"backend={backend!r}: expected one of {', '.join(BACKENDS)}.")
    if backend != "vllm":
        return
    if find_spec("vllm") is None:
        raise UserError(
            "backend=vllm needs the vllm package, which is not installed: pip install 'jglue-bench[vllm]' "
            "(lm-eval[vllm]==0.4.13; best in its own environment, as vLLM brings its own CUDA build of torch), "
            "or run backend=hf."
        )
    import torch

    if not torch.cuda.is_available():
        raise UserError(
            "backend=vllm needs a CUDA GPU and torch sees none (torch.cuda.is_available() is False); "
            "run backend=hf on this machine."
        )


def load_model(cfg: DictConfig, chat: bool = False):
    """lm-eval's model backend for `cfg.model`: HFLM (transformers; CPU, or GPU in the model's dtype, batched)
    or vLLM (optional extra). `chat`: prompts are rendered chat templates, encoded without the tokenizer's own BOS
    (the template writes it if the model wants one), as a chat endpoint encodes them."""
    model_cfg = cfg.model
    backend = cfg.backend
    check_backend(backend)
    device = _device(cfg.device)
    local = Path(str(model_cfg.pretrained)).expanduser()
    if local.is_dir() and (trap := tokenizer_trap(local)) is not None:
        raise UserError(trap)
    arguments = {
        "pretrained": str(local) if local.is_dir() else str(model_cfg.pretrained),
        "revision": model_cfg.get("revision") or "main",
        "dtype": model_cfg.get("dtype") or "auto",
        "trust_remote_code": bool(model_cfg.get("trust_remote_code", False)),
        # rinna's SentencePiece models were evaluated with their slow tokenizer (jp-stable's use_fast=False)
        "use_fast_tokenizer": bool(model_cfg.get("use_fast_tokenizer", True)),
    }
    if chat:
        arguments["add_bos_token"] = False
    quiet_lm_eval()
    if backend == "vllm":
        from lm_eval.models.vllm_causallms import VLLM

        slow = not arguments.pop("use_fast_tokenizer")
        return VLLM(**arguments, batch_size=cfg.batch_size, tokenizer_mode="slow" if slow else "auto")
    from lm_eval.models.huggingface import HFLM

    try:
        return HFLM(**arguments, device=device, batch_size=cfg.batch_size)
    except OSError as error:  # not on the hub, not in the cache offline, or a folder without weights
        raise UserError(
            f"cannot load model {model_cfg.name!r} from {arguments['pretrained']}: {first_line(error)}"
        ) from None


def hub_commit(pretrained: str, revision: str | None) -> str | None:
    """The hub commit a model's weights were read at, from the cache its load just filled (snapshots/COMMIT/...);
    None for a local folder or a file not in the cache: the pin for a config whose `revision` is unpinned."""
    if Path(pretrained).expanduser().is_dir():
        return None
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(pretrained, "config.json", revision=revision or "main")
    return Path(cached).parent.name if isinstance(cached, str) else None


def _device(choice: str) -> str:
    if choice != "auto":
        return choice
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def quiet_lm_eval() -> None:
    logging.getLogger("lm_eval").setLevel(logging.ERROR)


@contextmanager
def without_environment_report():
    """lm-eval's simple_evaluate ends by asking torch's collect_env about the machine (subprocesses: pip, conda,
    nvidia-smi, on every call) and git about the working directory (printing git's "fatal: not a git repository"
    outside one), inside the time a run counts as evaluation. Records keep their own device, package and git
    blocks, so both are skipped."""
    import lm_eval.evaluator as evaluator

    saved = evaluator.add_env_info, evaluator.get_git_commit_hash
    evaluator.add_env_info, evaluator.get_git_commit_hash = (lambda storage: None), (lambda: None)
    try:
        yield
    finally:
        evaluator.add_env_info, evaluator.get_git_commit_hash = saved


def count_throughput(totals: dict[str, Any], lm, rows: list[dict[str, Any]], seconds: float) -> None:
    """Examples and tokens the model processed: each prompt's tokens (once per choice for log-likelihoods, the
    choice's own tokens left out) plus the generated tokens."""
    tokenizer = getattr(lm, "tokenizer", None)

    def count(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"]) if tokenizer is not None else 0

    for row in rows:
        totals["tokens"] += count(row["prompt"]) * len(row.get("choices") or [None])
        totals["tokens"] += count(row["generation"]) if "generation" in row else 0
    totals["examples"] += len(rows)
    totals["seconds"] += seconds


def throughput_record(totals: Mapping[str, Any], backend: str) -> dict[str, Any]:
    seconds = max(float(totals["seconds"]), 1e-9)
    return {
        "backend": backend,
        "examples": totals["examples"],
        "tokens": totals["tokens"],
        "seconds": round(float(totals["seconds"]), 3),
        "examples_per_s": round(totals["examples"] / seconds, 3),
        "tokens_per_s": round(totals["tokens"] / seconds, 1),
    }
