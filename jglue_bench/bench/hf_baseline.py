"""The HF Trainer baselines of `bench train`: transformers' Trainer + TrainingArguments as a user of
run_glue.py would set them up, with every pair padded to max_seq_length (JGLUE's official setup: padding=
"max_length" and the default collator) or with dynamic padding (DataCollatorWithPadding) and the
length-grouped sampler (transformers 5: train_sampling_strategy="group_by_length")."""

from __future__ import annotations

import copy
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def hf_trainer_run(
    model_template,
    tokenizer,
    train_examples: Sequence,
    eval_examples: Sequence,
    settings: dict[str, Any],
    pad_to_max: bool,
    work_dir: Path,
    input_names: Sequence[str] = ("input_ids", "attention_mask"),
) -> dict[str, Any]:
    """Tokenize, train one model copied from `model_template`, predict the dev pairs; times and Pearson x100.
    `input_names`: what the model takes (token types where it has them, as ours gets)."""
    import torch

    from jglue_bench import metrics

    started = time.perf_counter()
    max_length = settings["max_seq_length"]
    train_set = tokenized_pairs(tokenizer, train_examples, max_length, pad_to_max, input_names)
    eval_set = tokenized_pairs(tokenizer, eval_examples, max_length, pad_to_max, input_names)
    trainer = make_trainer(
        copy.deepcopy(model_template), tokenizer, train_set, eval_set, settings, pad_to_max, work_dir
    )
    train_started = time.perf_counter()
    trainer.train()
    train_seconds = time.perf_counter() - train_started
    eval_started = time.perf_counter()
    output = trainer.predict(eval_set)
    eval_seconds = time.perf_counter() - eval_started
    predictions = torch.as_tensor(output.predictions).reshape(-1).tolist()
    return {
        "train_samples_per_s": len(train_set) * settings["epochs"] / train_seconds,
        "train_seconds": train_seconds,
        "eval_seconds": eval_seconds,
        "wall_seconds": time.perf_counter() - started,
        "pearson": 100 * metrics.pearson(list(output.label_ids.reshape(-1)), predictions),
    }


def tokenized_pairs(
    tokenizer,
    examples: Sequence,
    max_length: int,
    pad_to_max: bool,
    input_names: Sequence[str] = ("input_ids", "attention_mask"),
) -> list[dict]:
    """run_glue's preprocessing: the tokenizer's own __call__ over the sentence pairs, labels as floats."""
    encoded = tokenizer(
        [example.texts[0] for example in examples],
        [example.texts[1] for example in examples],
        truncation=True,
        max_length=max_length,
        padding="max_length" if pad_to_max else False,
        return_token_type_ids="token_type_ids" in input_names,
    )
    return [
        {**{name: encoded[name][i] for name in input_names}, "labels": float(example.label)}
        for i, example in enumerate(examples)
    ]


def make_trainer(
    model,
    tokenizer,
    train_set: list[dict],
    eval_set: list[dict],
    settings: dict[str, Any],
    pad_to_max: bool,
    work_dir: Path,
):
    import torch
    from accelerate.state import AcceleratorState, GradientState
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments, default_data_collator
    from transformers.trainer_callback import PrinterCallback

    # Accelerate keeps its state process-wide; start afresh like our own runs do, so the order of the
    # benchmark's runs does not matter.
    AcceleratorState._reset_state(reset_partial_state=True)
    GradientState._reset_state()
    args = TrainingArguments(
        output_dir=str(work_dir),
        per_device_train_batch_size=settings["batch_size"],
        per_device_eval_batch_size=settings["eval_batch_size"],
        num_train_epochs=settings["epochs"],
        learning_rate=settings["learning_rate"],
        warmup_steps=settings["warmup_ratio"],  # < 1: a ratio in v5
        lr_scheduler_type="linear",
        weight_decay=0.0,
        adam_epsilon=1e-8,
        max_grad_norm=1.0,
        seed=settings["seed"],
        train_sampling_strategy="random" if pad_to_max else "group_by_length",
        report_to="none",
        save_strategy="no",
        eval_strategy="no",
        logging_strategy="no",
        disable_tqdm=True,
        use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0,
    )
    collator = default_data_collator if pad_to_max else DataCollatorWithPadding(tokenizer)
    datasets = {"train_dataset": train_set, "eval_dataset": eval_set}
    trainer = Trainer(model=model, args=args, data_collator=collator, processing_class=tokenizer, **datasets)
    trainer.remove_callback(PrinterCallback)  # it prints the final metrics dict; the benchmark prints its table
    return trainer
