"""`jglue-bench evaluate`: score a fine-tuned model saved by `train` (its run folder) on any split."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Sequence

from omegaconf import OmegaConf

from jglue_bench.config import apply_overrides, check_run_config
from jglue_bench.data.examples import load_split
from jglue_bench.errors import UserError
from jglue_bench.evaluation import predict, score_outputs, write_predictions
from jglue_bench.modeling import count_parameters, forward_input_names, load_pretrained
from jglue_bench.records import build_record, finish_record
from jglue_bench.tasks import TaskSpec, kind_module
from jglue_bench.tokenization import load_tokenizer
from jglue_bench.tokenization.recipes import RECIPE_FILE
from jglue_bench.training import RunResult, accelerator_for


def evaluate_saved_run(run_dir: Path, overrides: Sequence[str] = ()) -> RunResult:
    """Score the fine-tuned model saved in `run_dir` (by `train`) on a split; writes eval-<split>/ there."""
    started = time.perf_counter()
    run_dir = Path(run_dir)
    model_dir = run_dir / "model"
    if not (run_dir / "config.yaml").is_file() or not (model_dir / RECIPE_FILE).is_file():
        raise UserError(f"{run_dir} is not a jglue-bench run folder with a saved model (config.yaml and "
                        f"model/{RECIPE_FILE} are expected; was the run made with save_model=false?).")
    cfg = apply_overrides(OmegaConf.load(run_dir / "config.yaml"), overrides)
    cfg.model.pretrained, cfg.model.revision = str(model_dir), None
    cfg.model.tokenizer = json.loads((model_dir / RECIPE_FILE).read_text(encoding="utf-8"))
    check_run_config(cfg)
    spec = TaskSpec.from_config(OmegaConf.to_container(cfg.task, resolve=True))
    kind = kind_module(spec.kind)
    examples, split_file = load_split(cfg.data, spec, cfg.data.eval_split, cfg.data.max_eval_samples)
    accelerator = accelerator_for(cfg.trainer)
    tokenizer = load_tokenizer(cfg.model)
    # Inference needs no DDP wrapper (whose forward hides the input names); every process predicts it all.
    model = load_pretrained(kind, model_dir).to(accelerator.device)
    input_names = forward_input_names(model)
    features = kind.featurize(examples, tokenizer, spec, cfg.max_seq_length, "token_type_ids" in input_names)
    outputs, seconds = predict(model, features, kind, input_names, tokenizer.pad_token_id,
                               cfg.trainer.eval_batch_size, accelerator.device, accelerator.autocast,
                               cfg.trainer.pad_to_multiple_of, cfg.trainer.progress_bar)
    predictions, scores = score_outputs(kind, spec, outputs, features, examples)
    out = run_dir / f"eval-{cfg.data.eval_split}-v{cfg.data.version}"
    if accelerator.is_main_process:
        write_predictions(out / f"predictions-{cfg.data.eval_split}.jsonl", kind, spec, examples, predictions)
    cfg.data.train_split = None
    record = build_record(cfg, spec, kind="evaluate", files=[split_file], tokenizer=tokenizer, metrics=scores,
                          history=[], device=accelerator.device, num_processes=accelerator.num_processes,
                          num_parameters=count_parameters(model))
    finish_record(record, out, cfg.results.path, started, throughput={
        "eval_samples_per_s": round(len(features) / max(seconds, 1e-9), 2), "eval_features": len(features)},
        write=accelerator.is_main_process)
    return RunResult(scores, record, out, accelerator.is_main_process)
