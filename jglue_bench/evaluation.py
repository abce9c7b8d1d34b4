"""Predict with a model over features, decode per example, score, and write the predictions file."""

from __future__ import annotations

import time
from pathlib import Path
from types import ModuleType
from typing import Any, Sequence

import torch
from tqdm.auto import tqdm

from jglue_bench.batching import collate, evaluation_batches, feature_length
from jglue_bench.results import write_jsonl_atomic
from jglue_bench.tasks import TaskSpec
from jglue_bench.tasks.common import Example

PERCENT = 100.0  # records and tables use the published tables' scale: accuracy 88.9, Pearson 89.2, F1 93.3


@torch.no_grad()
def predict(model, features: Sequence[dict], kind: ModuleType, input_names: Sequence[str], pad_token_id: int,
            batch_size: int, device: torch.device, autocast, pad_to_multiple_of: int | None = None,
            progress: bool = True, desc: str = "predict") -> tuple[list[Any], float]:
    """Per-feature outputs in feature order, and the wall time spent."""
    started = time.perf_counter()
    model.eval()
    outputs_by_index: list[Any] = [None] * len(features)
    batches = evaluation_batches([feature_length(feature) for feature in features], batch_size)
    for indices in tqdm(batches, desc=desc, unit="batch", leave=False, disable=None if progress else True):
        batch = collate([features[i] for i in indices], input_names, pad_token_id, pad_to_multiple_of)
        inputs = {name: tensor.to(device) for name, tensor in batch.items() if name in input_names}
        with autocast():
            outputs = model(**inputs)
        for i, row in zip(indices, kind.batch_outputs(outputs, inputs)):
            outputs_by_index[i] = row
    return outputs_by_index, time.perf_counter() - started


def score_outputs(kind: ModuleType, spec: TaskSpec, outputs: Sequence[Any], features: Sequence[dict],
                  examples: Sequence[Example]) -> tuple[list[Any], dict[str, float]]:
    """Decoded predictions per example and the metrics on the published tables' scale (x100)."""
    predictions = kind.decode(outputs, features, examples, spec)
    scores = kind.score(examples, predictions, spec)
    return predictions, {name: round(value * PERCENT, 4) for name, value in scores.items()}


def write_predictions(path: Path, kind: ModuleType, spec: TaskSpec, examples: Sequence[Example],
                      predictions: Sequence[Any]) -> None:
    write_jsonl_atomic(path, kind.prediction_rows(examples, predictions, spec))


def evaluate_saved_run(run_dir: Path, overrides: Sequence[str] = ()):
    """Score the fine-tuned model saved in `run_dir` (by `train`) on a split; writes eval-<split>/ there."""
    import json

    from accelerate import Accelerator
    from omegaconf import OmegaConf

    from jglue_bench.data.examples import load_split
    from jglue_bench.errors import UserError
    from jglue_bench.modeling import count_parameters, forward_input_names, load_pretrained
    from jglue_bench.records import build_record, finish_record
    from jglue_bench.tasks import kind_module
    from jglue_bench.tokenization import load_tokenizer
    from jglue_bench.tokenization.recipes import RECIPE_FILE
    from jglue_bench.training import RunResult

    started = time.perf_counter()
    run_dir = Path(run_dir)
    model_dir = run_dir / "model"
    if not (run_dir / "config.yaml").is_file() or not (model_dir / RECIPE_FILE).is_file():
        raise UserError(f"{run_dir} is not a jglue-bench run folder with a saved model (config.yaml and "
                        f"model/{RECIPE_FILE} are expected; was the run made with save_model=false?).")
    cfg = OmegaConf.merge(OmegaConf.load(run_dir / "config.yaml"), OmegaConf.from_dotlist(list(overrides)))
    cfg.model.pretrained, cfg.model.revision = str(model_dir), None
    cfg.model.tokenizer = json.loads((model_dir / RECIPE_FILE).read_text(encoding="utf-8"))
    spec = TaskSpec.from_config(OmegaConf.to_container(cfg.task, resolve=True))
    kind = kind_module(spec.kind)
    examples, split_file = load_split(cfg.data, spec, cfg.data.eval_split, cfg.data.max_eval_samples)
    accelerator = Accelerator(cpu=cfg.trainer.device == "cpu" or not torch.cuda.is_available(),
                              mixed_precision={"fp32": "no"}.get(cfg.trainer.precision, cfg.trainer.precision))
    tokenizer = load_tokenizer(cfg.model)
    model = accelerator.prepare(load_pretrained(kind, model_dir))
    input_names = forward_input_names(model)
    features = kind.featurize(examples, tokenizer, spec, cfg.max_seq_length, "token_type_ids" in input_names)
    outputs, seconds = predict(model, features, kind, input_names, tokenizer.pad_token_id,
                               cfg.trainer.eval_batch_size, accelerator.device, accelerator.autocast,
                               cfg.trainer.pad_to_multiple_of, cfg.trainer.progress_bar)
    predictions, scores = score_outputs(kind, spec, outputs, features, examples)
    out = run_dir / f"eval-{cfg.data.eval_split}-v{cfg.data.version}"
    write_predictions(out / f"predictions-{cfg.data.eval_split}.jsonl", kind, spec, examples, predictions)
    cfg.data.train_split = None
    record = build_record(cfg, spec, kind="evaluate", files=[split_file], tokenizer=tokenizer, metrics=scores,
                          history=[], device=accelerator.device, num_processes=accelerator.num_processes,
                          num_parameters=count_parameters(model))
    finish_record(record, out, cfg.results.path, started, throughput={
        "eval_samples_per_s": round(len(features) / max(seconds, 1e-9), 2), "eval_features": len(features)})
    return RunResult(scores, record, out)
