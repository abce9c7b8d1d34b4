"""The recipes over the real tokenizer files of real models ($JGLUE_MODELS_DIR, default ../shared/models: copies
from public repositories, each with its SOURCE.md), against the reference each model declares: quick tests on a
spread of the JGLUE and JCoLA texts and on hand-written hard cases, slow ones on every text here."""

from __future__ import annotations

import functools
import json
import shutil
import unicodedata
from pathlib import Path

import pytest
import sentencepiece
from conftest import MEMORISE_EIGHT, model_config, shared_models_dir
from test_fast_tokenization import EDGE_TEXTS, corpus_groups

from jglue_bench.tokenization import load_tokenizer
from jglue_bench.tokenization.layout import encode_pairs, pair_template
from jglue_bench.tokenization.view import tokenize_row
from jglue_bench.train.model_list import REAL_FILE_PROOFS, model_rows

QUICK_EVERY = 80  # the quick tests take every 80th text: about two hundred
NO_LIMIT = 100_000


def real_folder(name: str) -> Path:
    folder = shared_models_dir() / REAL_FILE_PROOFS[name]
    if not folder.is_dir():
        pytest.skip(f"{folder} not found (set JGLUE_MODELS_DIR to the folder of real tokenizer files)")
    return folder.resolve()


def config_over(name: str, folder: Path, **tokenizer) -> dict:
    cfg = model_config(name)
    cfg.update(pretrained=str(folder), revision=None)
    cfg["tokenizer"] = {**cfg["tokenizer"], **tokenizer}
    return cfg


@pytest.fixture(params=[pytest.param(QUICK_EVERY, id="spread"), pytest.param(1, marks=pytest.mark.slow, id="all")])
def real_texts(request, real_data) -> list[str]:
    """Distinct texts of every JGLUE file here and of JCoLA (when present), then the hard cases."""
    try:
        jcola = request.getfixturevalue("jcola_dir")
    except pytest.skip.Exception:
        jcola = None
    texts = [text for items in corpus_groups(real_data, jcola).values() for item in items for text in item if text]
    return list(dict.fromkeys(texts[:: request.param] + EDGE_TEXTS))


def copy_declared_files(folder: Path, target: Path, names: tuple[str, ...]) -> Path:
    """The named files alone (no tokenizer.json of unknown origin beside them), for the reference tokenizer."""
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(folder / name, target / name)
    return target


# --- MeCab / basic words + WordPiece / characters: ids equal BertJapaneseTokenizer as the files declare it ---


@pytest.mark.parametrize(
    "name, files",
    [
        ("tohoku_bert_base_v3", ("vocab.txt", "tokenizer_config.json")),
        ("ku_deberta_v2_large_char_wwm", ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json")),
    ],
)
def test_bert_japanese_recipes_equal_the_declared_tokenizer(tmp_path, cache_dir, real_texts, name, files):
    from transformers import BertJapaneseTokenizer

    folder = real_folder(name)
    reference = BertJapaneseTokenizer.from_pretrained(str(copy_declared_files(folder, tmp_path / "declared", files)))
    ours = load_tokenizer(config_over(name, folder), cache_dir)
    seconds = real_texts[::-1]
    expected = reference(real_texts, seconds, truncation=True, max_length=512, return_token_type_ids=True)
    assert encode_pairs(ours, real_texts, seconds, 512, True) == {key: list(value) for key, value in expected.items()}


def test_bandainamco_recipe_equals_its_declared_mecab_ipadic_wordpiece(cache_dir, real_texts):
    """BandaiNamco ships no tokenizer config; its README declares MeCab (IPADIC) words, then WordPiece."""
    from transformers import BertJapaneseTokenizer

    folder = real_folder("bandainamco_distilbert")
    reference = BertJapaneseTokenizer(
        str(folder / "vocab.txt"), word_tokenizer_type="mecab", mecab_kwargs={"mecab_dic": "ipadic"}
    )
    ours = load_tokenizer(config_over("bandainamco_distilbert", folder), cache_dir)
    assert encode_pairs(ours, real_texts, None, 512, False)["input_ids"] == list(
        reference(real_texts, truncation=True, max_length=512)["input_ids"]
    )


def test_tokenize_input_file_equals_bert_japanese_tokenizer(tmp_path, jglue_bench_cli):
    from transformers import BertJapaneseTokenizer

    folder = real_folder("tohoku_bert_base_v3")
    reference = BertJapaneseTokenizer.from_pretrained(
        str(copy_declared_files(folder, tmp_path / "declared", ("vocab.txt", "tokenizer_config.json")))
    )
    # full-width, half-width, emoji, control characters; one text a line, or two tab-separated texts
    lines = [text for text in EDGE_TEXTS if text.strip() and "\n" not in text and "\r" not in text and "\t" not in text]
    lines += ["ｶﾞｲﾄﾞ\x07と\x1bと\x7f\u0085", "😀🎌\tＡＢＣ１２３"]
    path = tmp_path / "texts.txt"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    code, out, err = jglue_bench_cli("tokenize", "--model", f"tohoku_bert_base_v3={folder}", "--input", str(path))
    assert code == 0, err
    rows = [json.loads(line) for line in out.rstrip("\n").split("\n")]  # splitlines would cut at U+0085
    assert len(rows) == len(lines)
    for row, line in zip(rows, lines):
        first, _, second = line.partition("\t")
        assert row["input_ids"] == reference(first, second or None)["input_ids"], line


# --- ModernBERT-ja (= sarashina2.2's tokenizer.model): <s> A </s>, SentencePiece's ids ---


def without_literal_specials(tokenizer, texts: list[str]) -> list[str]:
    """A special token written in a text ("<unk>と<pad>") is that token to the released tokenizers, as to ours,
    and plain characters to SentencePiece: such texts are compared elsewhere."""
    return [text for text in texts if not any(token in text for token in tokenizer.all_special_tokens)]


def sentencepiece_ids(folder: Path, filename: str):
    processor = sentencepiece.SentencePieceProcessor(model_file=str(folder / filename))
    return lambda text: processor.encode(text)


@pytest.mark.parametrize(
    "name",
    # the four sizes share one tokenizer.model and one tokenizer config: the quick suite checks one of them
    [
        pytest.param("modernbert_ja_30m", marks=pytest.mark.slow),
        pytest.param("modernbert_ja_70m", marks=pytest.mark.slow),
        "modernbert_ja_130m",
        pytest.param("modernbert_ja_310m", marks=pytest.mark.slow),
    ],
)
def test_modernbert_ja_is_bos_sentencepiece_eos_as_its_files_declare(cache_dir, real_texts, name):
    folder = real_folder(name)
    pieces = sentencepiece_ids(folder, "tokenizer.model")
    ours = load_tokenizer(config_over(name, folder), cache_dir)
    real_texts = without_literal_specials(ours, real_texts)
    bos, eos = 1, 2  # <s>, </s> in tokenizer.model
    singles = encode_pairs(ours, real_texts, None, NO_LIMIT, False)["input_ids"]
    assert [ids for ids in singles] == [[bos, *pieces(text), eos] for text in real_texts]
    seconds = real_texts[::-1]
    pairs = encode_pairs(ours, real_texts, seconds, NO_LIMIT, False)["input_ids"]
    assert pairs == [[bos, *pieces(a), eos, bos, *pieces(b), eos] for a, b in zip(real_texts, seconds)]


def test_the_layout_comes_from_the_files_without_the_configs_layout_key(tmp_path, cache_dir):
    """The config states the layout; the files alone (tokenizer_config.json's add_bos/eos_token) give the same, and
    without them the recipe falls back to <cls> A <sep>."""
    folder = real_folder("modernbert_ja_130m")
    bare = {"name": "bare", "pretrained": str(folder), "tokenizer": {"recipe": "unigram"}}
    tokenizer = load_tokenizer(bare, cache_dir)
    assert tokenizer.jglue_layout_source == "tokenizer_config.json add_bos/eos_token"
    assert tokenizer("質問です", "文脈です")["input_ids"] == [1, 47014, 2, 1, 61628, 355, 2]
    only_model = copy_declared_files(folder, tmp_path / "only-model", ("tokenizer.model",))
    guessed = load_tokenizer({**bare, "pretrained": str(only_model)}, cache_dir)
    assert guessed.jglue_layout_source == "the unigram recipe's default"
    assert guessed("質問です")["input_ids"] == [6, 47014, 4]  # <cls> ... <sep>


def test_modernbert_ja_offsets_cover_each_text_once(cache_dir):
    folder = real_folder("modernbert_ja_130m")
    tokenizer = load_tokenizer(config_over("modernbert_ja_130m", folder), cache_dir)
    for text in [*EDGE_TEXTS, "質問です", "ＡＩと２０２３年のｶﾞｲﾄﾞ😀"]:
        row = tokenize_row(tokenizer, text, "文脈です", False)
        spans = [span for span, seq in zip(row["offsets"], row["sequence"]) if seq == 0]
        # the byte-fallback tokens of characters the vocabulary lacks (😀) share those characters' span
        distinct = list(dict.fromkeys(tuple(span) for span in spans))
        covered = [i for start, end in distinct for i in range(start, end)]
        assert covered == sorted(set(covered)), (text, spans)  # in order, no character in two spans
        # every character that is not a space falls in some token (spaces become ▁ or vanish)
        assert {i for i, char in enumerate(text) if not char.isspace() and unicodedata.category(char) != "Cf"} <= set(
            covered
        ), (text, spans)
        assert row["tokens"][0] == "<s>" and row["tokens"][-1] == "</s>"


# --- llm-jp tokenizer v3 (llm-jp-modernbert): the unigram recipe equals SentencePiece ---


def test_llm_jp_v3_through_the_unigram_recipe_equals_sentencepiece(cache_dir, real_texts):
    folder = real_folder("llm_jp_modernbert_base")
    filename = "llm-jp-tokenizer-100k.ver3.0b1.model"
    pieces = sentencepiece_ids(folder, filename)
    # the v3.0b1 SentencePiece model names the special pieces <CLS> and <SEP> (v3.0b2's tokenizer.json renames
    # them <CLS|LLM-jp> and <SEP|LLM-jp>, the same ids 5 and 6)
    layout = {"single": "<CLS> $A <SEP>", "pair": "<CLS> $A <SEP> $B:1 <SEP>:1"}
    ours = load_tokenizer(config_over("llm_jp_modernbert_base", folder, spm_file=filename, layout=layout), cache_dir)
    assert ours("こんにちは")["input_ids"] == [5, 39801, 6]  # the example of llm-jp-modernbert's card
    real_texts = without_literal_specials(ours, real_texts)
    singles = encode_pairs(ours, real_texts, None, NO_LIMIT, False)["input_ids"]
    assert singles == [[5, *pieces(text), 6] for text in real_texts]


# --- ku-nlp DeBERTa-v2-large: its tokenizer.json over Juman++-style words, the NFKC map kept ---


@functools.cache
def wakati():
    import fugashi
    import unidic_lite

    return fugashi.GenericTagger(f"-r /dev/null -d {unidic_lite.DICDIR} -Owakati")


def mecab_words(text: str) -> list[str]:
    """Words as a stand-in for Juman++ (the recipe's input is words either way; Juman++ is not installed here)."""
    return wakati().parse(text).split()


def test_ku_deberta_v2_large_recipe_gives_its_tokenizer_json_ids(cache_dir, real_texts):
    from tokenizers import Tokenizer

    folder = real_folder("ku_deberta_v2_large")
    assert not (folder / "spm.model").exists()  # the recipe reads tokenizer.json: that is what this test is about
    own = Tokenizer.from_file(str(folder / "tokenizer.json"))
    cfg = config_over("ku_deberta_v2_large", folder)
    del cfg["tokenizer"]["pre_segment"], cfg["tokenizer"]["jumanpp_command"]
    ours = load_tokenizer(cfg, cache_dir)
    assert pair_template(ours).before == (1,) and pair_template(ours).between == (2,)  # [CLS] A [SEP] B [SEP]
    # NFKC first, so that the file's map (character by character) and ours (then NFC) have nothing to compose
    words = [mecab_words(unicodedata.normalize("NFKC", text)) for text in real_texts]
    words = [w for w in words if w]
    expected = [own.encode(w, is_pretokenized=True).ids for w in words]
    assert [ours(w, is_split_into_words=True)["input_ids"] for w in words] == expected
    # the NFKC map is kept (DebertaV2Tokenizer drops it: full-width letters become [UNK]), and ｶﾞ is composed
    assert (
        ours(["ＡＢＣ", "１２３"], is_split_into_words=True)["input_ids"]
        == ours(["ABC", "123"], is_split_into_words=True)["input_ids"]
    )
    assert ours(["ｶﾞｲﾄﾞ"], is_split_into_words=True)["input_ids"] == own.encode(["ガイド"], is_pretokenized=True).ids


# --- a random ModernBERT in the real ModernBERT-ja layout trains ---


@pytest.fixture(scope="module")
def random_modernbert_ja(tmp_path_factory) -> Path:
    """The real ModernBERT-ja tokenizer files beside a small random ModernBERT with its config's special ids."""
    from transformers import AutoModelForMaskedLM, ModernBertConfig

    source = shared_models_dir() / REAL_FILE_PROOFS["modernbert_ja_130m"]
    if not source.is_dir():
        pytest.skip(f"{source} not found (set JGLUE_MODELS_DIR)")
    folder = copy_declared_files(
        source,
        tmp_path_factory.mktemp("modernbert-ja"),
        ("tokenizer.model", "tokenizer_config.json", "special_tokens_map.json"),
    )
    config = ModernBertConfig(
        vocab_size=102_400,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        max_position_embeddings=128,
        pad_token_id=3,
        bos_token_id=1,
        eos_token_id=2,
        sep_token_id=4,
        cls_token_id=6,
    )
    AutoModelForMaskedLM.from_config(config).save_pretrained(folder)
    return folder


@pytest.mark.parametrize("task, metric", [("jsts", "pearson"), ("jcommonsenseqa", "accuracy")])
def test_a_random_modernbert_in_the_real_layout_trains(make_config, random_modernbert_ja, task, metric):
    from jglue_bench.train.loop import train

    cfg = make_config(
        "model=modernbert_ja_30m",
        f"model.pretrained={random_modernbert_ja}",
        "model.revision=null",
        f"task={task}",
        *MEMORISE_EIGHT,
        "num_train_epochs=40",
    )
    result = train(cfg)
    assert result.metrics[metric] >= 85.0, result.record["history"][-2:]
    assert result.record["model"]["tokenizer_recipe"]["layout"]["single"] == "<s> $A </s>"
    assert result.record["model"]["tokenizer_layout"] == "model.tokenizer.layout"


# --- the proof column ---


def test_models_says_how_each_tokenizer_is_proven():
    rows = {row["name"]: row["tokenizer_proven"] for row in model_rows()}
    assert {name for name, proof in rows.items() if proof == "real files"} == set(REAL_FILE_PROOFS)
    assert rows["xlm_roberta_base"] == "random files"  # random fairseq SentencePiece files (test_model_zoo)
    assert rows["nict_bert_base"] == "none"  # jumandic: no recipe here loads it
    # every real-file proof is a test in this file, over a folder named in ../shared/models' README
    source = Path(__file__).read_text(encoding="utf-8")
    assert all(f'"{name}"' in source for name in REAL_FILE_PROOFS)
