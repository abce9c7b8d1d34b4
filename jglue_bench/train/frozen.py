"""experiment=frozen_embedding: a sentence-pair regression task (JSTS) scored without any training, as JMTEB scores
embedding models: each sentence embedded on its own by the pre-trained encoder (mean of the last hidden states
over real tokens, or the first token's), the cosine similarity of the two embeddings as the prediction, Spearman
(and Pearson) against the gold scores. The number ruri and sarashina-embedding publish for JSTS is of this kind.

The record says so: protocol `frozen_embedding`, run kind `frozen_embedding`, main metric Spearman, the pooling.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from jglue_bench import metrics as metric_functions
from jglue_bench.config import check_run_config, resolved_config
from jglue_bench.errors import UserError, explained_write_errors
from jglue_bench.prepare.stage import read_split, resolve_labels, task_spec
from jglue_bench.records.build import build_record, finish_record
from jglue_bench.records.key import experiment_key
from jglue_bench.records.store import find_record
from jglue_bench.tasks import kind_module
from jglue_bench.tokenization import load_tokenizer, tokenizer_fingerprint
from jglue_bench.tokenization.layout import encode_pairs
from jglue_bench.train.evaluation import write_predictions
from jglue_bench.train.modeling import build_model, max_input_length, model_facts
from jglue_bench.train.preflight import check_output_dir, check_writable_store

POOLINGS = ("mean", "cls")


def score_frozen(cfg: DictConfig, output_dir: str | Path | None = None, sweep: dict[str, Any] | None = None):
    """Score the eval splits of cfg's task with frozen embeddings; the same RunResult and files as train()."""
    from jglue_bench.train.loop import RunResult, default_output_dir, eval_split_names, skipped_run

    started = time.perf_counter()
    cfg = resolved_config(cfg)
    check_run_config(cfg)
    check_writable_store(cfg.results.path)
    pooling = str(cfg.frozen_embedding.pooling)
    if pooling not in POOLINGS:
        raise UserError(f"frozen_embedding.pooling is {pooling!r}; expected one of {', '.join(POOLINGS)}.")
    spec = resolve_labels(task_spec(cfg), cfg.data)
    if spec.kind != "regression" or len(spec.fields["texts"]) != 2:
        raise UserError(
            f"experiment=frozen_embedding scores sentence-pair regression tasks (JSTS); task {spec.name} is "
            f"{spec.kind} over {len(spec.fields['texts'])} text field(s)."
        )
    spec = dataclasses.replace(spec, main_metric="spearman")  # JMTEB's number for STS
    eval_data = [
        read_split(spec, cfg.data, split, cfg.data.max_eval_samples) for split in eval_split_names(cfg.data, spec)
    ]
    tokenizer = load_tokenizer(cfg.model, cfg.data.cache_dir)
    experiment = {"key": experiment_key(cfg, spec, eval_data, tokenizer_fingerprint(tokenizer)), **(sweep or {})}
    if not cfg.get("rerun", False) and (done := find_record(cfg.results.path, experiment["key"])) is not None:
        return skipped_run(done, cfg)
    out = Path(output_dir or cfg.output_dir or default_output_dir(cfg))
    check_output_dir(out, resuming=False, overwrite=bool(cfg.get("overwrite")) or sweep is not None)
    kind = kind_module(spec.kind)
    # the task model's encoder, without its (untrained) head: the same loading code as training
    model = build_model(cfg.model, spec, kind, tokenizer, cfg.seed)
    encoder = getattr(model, model.base_model_prefix).eval()
    device = torch.device("cuda" if torch.cuda.is_available() and cfg.trainer.device != "cpu" else "cpu")
    encoder.to(device)
    max_length = max_input_length(model, cfg.max_seq_length)
    scores, predictions = {}, {}
    for data in eval_data:
        firsts, seconds = ([example.texts[i] for example in data.examples] for i in (0, 1))
        similarities = torch.nn.functional.cosine_similarity(
            embed(encoder, tokenizer, firsts, max_length, pooling, cfg.trainer.eval_batch_size, device),
            embed(encoder, tokenizer, seconds, max_length, pooling, cfg.trainer.eval_batch_size, device),
        ).tolist()
        golds = [example.label for example in data.examples]
        predictions[data.split] = similarities
        scores[data.split] = {
            name: 100.0 * metric_functions.compute([name], golds, similarities)[name]
            for name in ("spearman", "pearson")
        }
    record = build_record(
        cfg,
        spec,
        kind="frozen_embedding",
        splits=eval_data,
        tokenizer=tokenizer,
        metrics=scores,
        history=[],
        device=device,
        num_processes=1,
        model_facts=model_facts(model),
        experiment=experiment,
    )
    record["frozen_embedding"] = {"pooling": pooling, "similarity": "cosine", "trained": False}
    with explained_write_errors(f"the run's outputs into {out} and {cfg.results.path}"):
        for data in eval_data:
            write_predictions(
                out / f"predictions-{data.split}.jsonl", kind, spec, data.examples, predictions[data.split]
            )
        samples = sum(2 * len(data.examples) for data in eval_data)
        finish_record(record, out, cfg.results.path, started, throughput={"embedded_texts": samples})
    return RunResult(record["metrics"], record, out)


@torch.no_grad()
def embed(encoder, tokenizer, texts: list[str], max_length: int, pooling: str, batch_size: int, device) -> torch.Tensor:
    """One embedding per text: each text alone, with the model's own special tokens, in batches."""
    ids = encode_pairs(tokenizer, texts, None, max_length, False)["input_ids"]
    vectors = []
    for start in range(0, len(ids), batch_size):
        batch = tokenizer.pad({"input_ids": ids[start : start + batch_size]}, return_tensors="pt")
        mask = batch["attention_mask"].to(device)
        hidden = encoder(input_ids=batch["input_ids"].to(device), attention_mask=mask).last_hidden_state.float()
        if pooling == "cls":
            vectors.append(hidden[:, 0])
        else:
            weights = mask.unsqueeze(-1).to(hidden.dtype)
            vectors.append((hidden * weights).sum(1) / weights.sum(1).clamp(min=1))
    return torch.cat(vectors).cpu()
