"""What every benchmark shares: where the data and the vocabulary are, the environment a result was measured
in, the table it prints and the JSON file it saves. Heavy imports (torch, transformers) stay inside functions,
so `jglue-bench --help` does not pay for them."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from jglue_bench.errors import UserError
from jglue_bench.support.markdown import markdown_table

DEFAULT_OUT_DIR = Path("results/bench")
BANDAINAMCO_FOLDER = "bandainamco-mirai-distilbert-base-japanese"


def data_dir(given: str | Path | None) -> Path:
    """The real JGLUE datasets/ folder: --data-dir, else $JGLUE_DATA_DIR."""
    folder = given or os.environ.get("JGLUE_DATA_DIR")
    if not folder:
        raise UserError(
            "the benchmarks run on the real JGLUE files: pass --data-dir PATH/TO/JGLUE/datasets or set JGLUE_DATA_DIR."
        )
    path = Path(folder).expanduser().resolve()
    if not path.is_dir():
        raise UserError(f"--data-dir {path} is not a folder (expected JGLUE's datasets/ with jsts-v1.3/ etc.).")
    return path


def models_dir_file(subfolder: str, name: str, command: str, instead: str) -> Path:
    """$JGLUE_MODELS_DIR/<subfolder>/<name> (a real tokenizer file a random model is built over), or one line
    naming the variable and `instead`, the option that takes a model folder."""
    models = os.environ.get("JGLUE_MODELS_DIR")
    path = Path(models).expanduser() / subfolder / name if models else None
    if path is None or not path.is_file():
        raise UserError(
            f"{command}: the tokenizer {subfolder}/{name} is not in $JGLUE_MODELS_DIR ({models or 'not set'}); set "
            f"JGLUE_MODELS_DIR to the folder holding {subfolder}/, or pass {instead}."
        )
    return path


def vocab_file(given: str | Path | None) -> Path | None:
    """BandaiNamco's vocab.txt: --vocab, else $JGLUE_MODELS_DIR/<model folder>/vocab.txt; None: the hub's copy."""
    if given:
        path = Path(given).expanduser().resolve()
        if not path.is_file():
            raise UserError(f"--vocab {path} does not exist (expected BandaiNamco DistilBERT's vocab.txt).")
        return path
    models = os.environ.get("JGLUE_MODELS_DIR")
    candidate = Path(models).expanduser() / BANDAINAMCO_FOLDER / "vocab.txt" if models else None
    return candidate.resolve() if candidate is not None and candidate.is_file() else None


def local_vocab_file(given: str | Path | None) -> Path:
    """vocab_file(given), else the hub's copy of BandaiNamco's vocab.txt (cached; offline only if already there)."""
    found = vocab_file(given)
    if found is not None:
        return found
    from jglue_bench.tokenization.recipes import model_file

    return model_file(_bandainamco_model_config(), "vocab.txt")


def _bandainamco_model_config() -> dict[str, Any]:
    import yaml

    from jglue_bench.config import config_dir

    return yaml.safe_load((config_dir() / "model" / "bandainamco_distilbert.yaml").read_text(encoding="utf-8"))


def bandainamco_tokenizer(vocab: Path | None):
    """BandaiNamco DistilBERT's tokenizer from its recipe (MeCab IPADIC + WordPiece), over `vocab` when given."""
    from jglue_bench.tokenization import load_tokenizer

    model_cfg = _bandainamco_model_config()
    if vocab is not None:
        model_cfg["tokenizer"]["vocab_file"] = str(vocab)
    return load_tokenizer(model_cfg)


def task_config(task: str, data: Path, version: str, *overrides: str):
    """The composed config of `task` reading the local files of `data` (never downloading)."""
    from jglue_bench.config import compose_config

    return compose_config(
        [f"task={task}", f"data.dir={data}", "data.source=local", f"data.version={version}", *overrides]
    )


def random_distilbert_overrides(vocab: Path, architecture: dict[str, int], name: str) -> list[str]:
    """Config overrides for a DistilBERT built at random (the `tiny` model's recipe) over BandaiNamco's vocabulary,
    tokenized as BandaiNamco's model is (MeCab IPADIC + WordPiece, cased)."""
    return [
        "model=tiny",
        f"model.name={name}",
        "model.tokenizer.recipe=mecab_wordpiece",
        f"+model.tokenizer.vocab_file={vocab}",
        "model.tokenizer.mecab_dic=ipadic",
        "model.tokenizer.do_lower_case=false",
        "~model.tokenizer.build_tiny_spm",
        "~model.tokenizer.special_tokens",
        *(f"model.architecture.{key}={value}" for key, value in architecture.items()),
    ]


def present_splits(spec, data: Path, splits=("train", "valid", "test")) -> list[str]:
    """The splits of `spec` whose file is under `data` (the JGLUE release has no JNLI/JSQuAD train there)."""
    return [split for split in splits if split in spec.files and (data / str(spec.files[split].path)).is_file()]


def inputs(data: Path, vocab: Path | None, version: str) -> dict[str, str]:
    """The files a result was measured on, for its JSON."""
    return {"data_dir": str(data), "jglue_version": version, "vocab": str(vocab) if vocab else "hub (bandainamco)"}


def environment() -> dict[str, Any]:
    """Where a number was measured: the device (GPU name, else CPU model), threads and package versions."""
    import torch

    from jglue_bench.records.store import git_state, package_versions

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {
        "device": gpu or cpu_model(),
        "device_type": "cuda" if gpu else "cpu",
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "packages": package_versions(),
        "git": git_state(),
    }


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo on Linux; platform's answer elsewhere)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def save_result(name: str, result: dict[str, Any], out_dir: str | Path | None) -> Path:
    """results/bench/<name>-<timestamp>.json (a suffix keeps two results of the same second apart)."""
    from jglue_bench.records.store import write_json_atomic

    folder = Path(out_dir) if out_dir is not None else DEFAULT_OUT_DIR
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path, number = folder / f"{name}-{stamp}.json", 1
    while path.exists():
        number += 1
        path = folder / f"{name}-{stamp}-{number}.json"
    write_json_atomic(
        path,
        {
            "benchmark": name,
            "measured_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "environment": environment(),
            **result,
        },
    )
    return path


def report(
    name: str,
    title: str,
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    result: dict[str, Any],
    ratio_line: str,
    out_dir: str | Path | None,
    notes: Sequence[str] = (),
) -> Path:
    """Print the title, the table and notes, save the JSON, and print the ratio as the LAST line."""
    print(title)
    print(markdown_table(headers, rows))
    for note in notes:
        print(note)
    path = save_result(name, {**result, "ratio_line": ratio_line}, out_dir)
    print(f"saved {path}")
    print(ratio_line, flush=True)
    return path


def ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else float("inf")
