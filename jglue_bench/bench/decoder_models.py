"""Decoders in `bench train --model FAMILY[=FOLDER]`: a random causal LM of a decoder family (the builder and
family table of jglue_bench/fewshot/tiny.py) over a real SentencePiece tokenizer in $JGLUE_MODELS_DIR, at the benchmark's size
(4 layers x 256, 4 heads, feed-forward 512), or FOLDER, any decoder in its hub layout. `--peft lora` puts the
same LoRA adapters (model.peft's settings) on every side: ours through train(cfg), HF Trainer's on a copy of the
PeftModel built as train(cfg) builds it."""

from __future__ import annotations

from pathlib import Path

from jglue_bench.errors import UserError
from jglue_bench.fewshot.tiny import FAMILY_TOKENIZERS

# family -> (its SentencePiece model under $JGLUE_MODELS_DIR, pad token): fewshot/tiny.py's table
DECODER_FAMILIES = FAMILY_TOKENIZERS
BENCH_LAYERS, BENCH_HIDDEN = 4, 256  # the encoder benchmark's 4 x 256 (tiny.py: 4 heads, feed-forward 2 x hidden)
PEFT_CHOICES = ("none", "lora")


def is_decoder_family(family: str) -> bool:
    return family in DECODER_FAMILIES


def decoder_overrides(family: str, folder: str, work: Path, peft: str) -> tuple[list[str], str]:
    """Config overrides for a decoder under test (model=causal_lm), and its label for the table."""
    path = Path(folder).expanduser() if folder else random_decoder(family, work / "models")
    if not (path / "config.json").is_file():
        raise UserError(
            f"bench train --model {family}={folder}: {path} holds no config.json (expected a decoder in its hub layout)."
        )
    adapter = ["model.peft.method=lora"] if peft == "lora" else []
    what = "LoRA r=8 on q/k/v/o + head" if peft == "lora" else "every weight"
    label = (
        f"decoder at {path}, {what}"
        if folder
        else f"random {family} decoder {BENCH_LAYERS} x {BENCH_HIDDEN} over {DECODER_FAMILIES[family][0][0]}, {what}"
    )
    return [
        "model=causal_lm",
        f"model.pretrained={path}",
        f"model.name=random_{family}_decoder" if not folder else "model.name=causal_lm",
        *adapter,
    ], label


def random_decoder(family: str, folder: Path) -> Path:
    """A random `family` decoder at the benchmark's size over its real tokenizer, written into `folder`."""
    from jglue_bench.bench.common import models_dir_file
    from jglue_bench.fewshot.tiny import build_tiny_decoder

    (subfolder, name), pad = DECODER_FAMILIES[family]
    instead = f"--model {family}=FOLDER (a decoder in its hub layout)"
    model_file = models_dir_file(subfolder, name, f"bench train --model {family}", instead)
    return build_tiny_decoder(
        model_file, folder, layers=BENCH_LAYERS, hidden=BENCH_HIDDEN, architecture=family, pad_token=pad
    )


def with_adapter(model, model_cfg):
    """`model` with model.peft's adapters, as train(cfg) adds them (unchanged when model.peft.method is null)."""
    from jglue_bench.train.peft_adapters import add_adapter, peft_settings

    settings = peft_settings(model_cfg)
    return model if settings is None else add_adapter(model, settings)
