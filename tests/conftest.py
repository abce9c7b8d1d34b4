"""Shared test setup: offline, tiny models, the bundled sample, and the real JGLUE files when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

# Offline before anything imports huggingface_hub: a hub miss would otherwise retry for ~25 s.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
# pytest-xdist workers share the machine's cores: each takes its share of threads before torch is imported (and
# passes it on to the subprocesses its tests start), or N workers would each run a thread per core.
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    os.environ.setdefault(
        "OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"])))
    )

REPO = Path(__file__).resolve().parent.parent


def jglue_data_dir() -> Path:
    """The real JGLUE datasets/ folder: $JGLUE_DATA_DIR, else ../shared/jglue/datasets beside the repo."""
    configured = os.environ.get("JGLUE_DATA_DIR")
    return Path(configured) if configured else (REPO.parent / "shared" / "jglue" / "datasets")


def jcola_data_dir() -> Path:
    """JCoLA's folder (holding jcola-v1.0/): $JCOLA_DATA_DIR, else ../shared/jcola beside the repo."""
    configured = os.environ.get("JCOLA_DATA_DIR")
    return Path(configured) if configured else (REPO.parent / "shared" / "jcola")


def shared_models_dir() -> Path:
    configured = os.environ.get("JGLUE_MODELS_DIR")
    return Path(configured) if configured else (REPO.parent / "shared" / "models")


@pytest.fixture
def real_data() -> Path:
    root = jglue_data_dir()
    if not root.is_dir():
        pytest.skip(f"real JGLUE files not found at {root} (set JGLUE_DATA_DIR to run the real-data tests)")
    return root.resolve()


@pytest.fixture
def jcola_dir() -> Path:
    root = jcola_data_dir()
    if not (root / "jcola-v1.0").is_dir():
        pytest.skip(f"JCoLA files not found at {root} (set JCOLA_DATA_DIR to a folder holding jcola-v1.0/)")
    return root.resolve()


@pytest.fixture
def bandainamco_dir() -> Path:
    folder = shared_models_dir() / "bandainamco-mirai-distilbert-base-japanese"
    if not (folder / "vocab.txt").is_file():
        pytest.skip(f"BandaiNamco vocab.txt not found under {folder} (set JGLUE_MODELS_DIR)")
    return folder.resolve()


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("jglue-bench-cache")


# Train and score on the same 8 sample examples: a model that learns at all memorises them
MEMORISE_EIGHT = (
    "data.train_split=train",
    "data.eval_split=train",
    "data.max_train_samples=8",
    "data.max_eval_samples=8",
    "batch_size=8",
    "learning_rate=3e-3",
    "trainer.warmup_ratio=0.0",
)


@pytest.fixture
def make_config(tmp_path, cache_dir):
    """Compose the real config tree with test-safe paths; extra overrides come last and win."""
    from jglue_bench.config import compose_config

    def make(*overrides: str):
        return compose_config(
            [
                f"output_dir={tmp_path / 'run'}",
                f"results.path={tmp_path / 'runs.jsonl'}",
                f"data.cache_dir={cache_dir}",
                "trainer.progress_bar=false",
                "data.dir=null",
                "trainer.save_checkpoints=false",  # tests of resuming turn them on themselves
                *overrides,
            ]
        )

    return make


@pytest.fixture
def jglue_bench_cli(capsys, monkeypatch, tmp_path, cache_dir):
    """Run `jglue-bench ARGS...` in this process (the CLI's own main, without an interpreter start) from
    tmp_path/work, with the test cache; returns (exit code, stdout, stderr)."""
    from jglue_bench.cli import main

    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    monkeypatch.chdir(work)
    monkeypatch.setenv("JGLUE_BENCH_CACHE", str(cache_dir))
    # The bundled sample unless a test names its data: CI sets these for the real-data tests.
    monkeypatch.delenv("JGLUE_DATA_DIR", raising=False)
    monkeypatch.delenv("JCOLA_DATA_DIR", raising=False)

    def run(*args: str) -> tuple[int, str, str]:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        out, err = capsys.readouterr()
        return code, out, err

    return run


SPM_SENTENCES = [
    "日本語の文を単語に分けます。",
    "東京タワーは港区にある電波塔です。",
    "がぎぐげご、ざじずぜぞ。",
    "今日は晴れて暖かいです。",
    "JGLUE は日本語理解のベンチマークです。",
    "犬と猫が公園で遊んでいる。",
]


def train_spm(folder: Path, **settings) -> Path:
    """A small SentencePiece model written as folder/spiece.model, with LINE DistilBERT's special-token ids."""
    import io

    import sentencepiece

    folder.mkdir(parents=True, exist_ok=True)
    model = io.BytesIO()
    defaults = dict(
        model_type="unigram",
        vocab_size=120,
        character_coverage=1.0,
        hard_vocab_limit=False,
        pad_id=0,
        unk_id=1,
        bos_id=-1,
        eos_id=-1,
        user_defined_symbols=["[CLS]", "[SEP]", "[MASK]"],
        num_threads=1,
        minloglevel=2,
    )
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(SPM_SENTENCES * 20), model_writer=model, **{**defaults, **settings}
    )
    (folder / "spiece.model").write_bytes(model.getvalue())
    return folder / "spiece.model"


# --- the tokenizers the QA tests run over (built once per session, on first use) ---

LINE_SPECIALS = {
    "unk_token": "<unk>",
    "pad_token": "<pad>",
    "cls_token": "[CLS]",
    "sep_token": "[SEP]",
    "mask_token": "[MASK]",
}
# A hand-written WordPiece vocabulary over IPADIC words: small, so [UNK] and "##" pieces are predictable.
HAND_VOCAB = [
    "[PAD]",
    "[UNK]",
    "[CLS]",
    "[SEP]",
    "[MASK]",
    "東京",
    "タワー",
    "へ",
    "行っ",
    "た",
    "。",
    "京都",
    "の",
    "寺",
    "を",
    "訪れ",
    "JGLUE",
    "は",
    "日本語",
    "評価",
    "ベンチ",
    "##マーク",
    "です",
    "ガイド",
    "##ブック",
    "読む",
    "キロ",
    "1",
    "番",
    "彼",
    "ペン",
    "Hello",
    "World",
    "本文",
    "タイトル",
    "質問",
    "答え",
]
TOKENIZER_NAMES = ("tiny", "line_like", "hand_wordpiece", "bandainamco", "albert")


def model_config(name: str) -> dict:
    return yaml.safe_load((REPO / "configs" / "model" / f"{name}.yaml").read_text(encoding="utf-8"))


def build_tokenizer(name: str, folder: Path, cache_dir: Path):
    """tiny: MeCab(unidic-lite) + the bundled-sample SentencePiece (no "▁"); line_like: the same recipe over
    a SentencePiece model that emits "▁" like LINE's; hand_wordpiece / bandainamco: MeCab(IPADIC) + WordPiece;
    albert: Laboro's AlbertTokenizer recipe (tokenizers-backed, so it reports offsets itself)."""
    from jglue_bench.tokenization import load_tokenizer  # not at the top: the offline variables come first

    if name == "tiny":
        return load_tokenizer(model_config("tiny"), cache_dir)
    if name == "line_like":
        train_spm(folder)  # add_dummy_prefix is on by default: pieces come with "▁"
        return load_tokenizer(
            {
                "name": name,
                "pretrained": str(folder),
                "tokenizer": {
                    "recipe": "mecab_sentencepiece",
                    "spm_file": "spiece.model",
                    "mecab_dic": "unidic_lite",
                    "do_lower_case": True,
                    "special_tokens": LINE_SPECIALS,
                },
            }
        )
    if name == "hand_wordpiece":
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "vocab.txt").write_text("\n".join(HAND_VOCAB) + "\n", encoding="utf-8")
        return load_tokenizer(
            {"name": name, "pretrained": str(folder), "tokenizer": model_config("bandainamco_distilbert")["tokenizer"]}
        )
    if name == "bandainamco":
        models = shared_models_dir() / "bandainamco-mirai-distilbert-base-japanese"
        if not (models / "vocab.txt").is_file():
            pytest.skip(f"BandaiNamco vocab.txt not found under {models} (set JGLUE_MODELS_DIR)")
        return load_tokenizer({**model_config("bandainamco_distilbert"), "pretrained": str(models)})
    if name == "albert":
        train_spm(folder)
        return load_tokenizer(
            {"name": name, "pretrained": str(folder), "tokenizer": model_config("laboro_distilbert")["tokenizer"]}
        )
    raise ValueError(name)


def tokenizer_factory(tmp_path_factory, cache_dir):
    """`get(name)` builds each tokenizer once, on first use (test files share it through their fixture)."""
    built = {}

    def get(name: str):
        if name not in built:
            built[name] = build_tokenizer(name, tmp_path_factory.mktemp(name), cache_dir)
        return built[name]

    return get


@pytest.fixture(scope="session")
def tokenizers(tmp_path_factory, cache_dir):
    return tokenizer_factory(tmp_path_factory, cache_dir)


@pytest.fixture(scope="session")
def tiny_decoder(tmp_path_factory) -> Path:
    """A random 2-layer Llama over the real llm-jp v3 SentencePiece model (ids as SentencePiece gives them)."""
    model_file = shared_models_dir() / "llm-jp-tokenizer-v3" / "llm-jp-tokenizer-100k.ver3.0b1.model"
    if not model_file.is_file():
        pytest.skip(f"llm-jp v3 SentencePiece model not found at {model_file} (set JGLUE_MODELS_DIR)")
    from jglue_bench.fewshot.tiny import build_tiny_decoder

    return build_tiny_decoder(model_file, tmp_path_factory.mktemp("tiny-decoder"))
