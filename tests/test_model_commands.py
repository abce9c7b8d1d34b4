"""`jglue-bench tokenize` and `jglue-bench models`, offline: random model folders in each family's real hub
layout (random_families) stand in for the hub repos."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
import yaml

from jglue_bench.cli import main

REPO = Path(__file__).resolve().parent.parent
# Full-width letters and digits, half-width katakana (voiced: ｶﾞ is two characters that NFKC makes one), symbols,
# a space, and an emoji no vocabulary here holds (an unknown token).
TEXTS = [
    "ＡＩと東京",
    "ＡＩ２０２３年のｶﾞｲﾄﾞブック",
    "ｶﾞｲﾄﾞ",
    "ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ",
    "記号「！？」と＆＃％、①㌔",
    "Ｆｕｌｌ－ｗｉｄｔｈ Ｌａｔｉｎ １２３",
    "絵文字😀です",
]
HALF_WIDTH_VOICED = ["ＡＩ２０２３年のｶﾞｲﾄﾞブック", "ｶﾞｲﾄﾞ", "ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ"]
# family -> (model config, the SentencePiece file its ids come from, SentencePiece id -> model id,
#            the special tokens around a single text)
SENTENCEPIECE_LAYOUTS = {
    "xlm_roberta": ("xlm_roberta_base", "sentencepiece.bpe.model", lambda i: 3 if i == 0 else i + 1, ("<s>", "</s>")),
    "deberta_v3": ("mdeberta_v3_base", "spm.model", lambda i: i, ("[CLS]", "[SEP]")),
    "modernbert": ("modernbert_ja_30m", "tokenizer.model", lambda i: i, ("<s>", "</s>")),
}


@pytest.fixture(autouse=True)
def test_cache(cache_dir, monkeypatch):
    """Tokenizer copies go to the session's cache, not the user's."""
    monkeypatch.setenv("JGLUE_BENCH_CACHE", str(cache_dir))


def family_folder(family: str, cache_dir: Path) -> Path:
    from jglue_bench.train.random_families import cached_family

    return cached_family(family, cache_dir)


def run_cli(capsys, *argv: str) -> list[dict]:
    main(list(argv))
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def cli_error(capsys, *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(list(argv))
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("jglue-bench: error: ") and err.count("\n") == 1, err
    return err


def surface(piece: str) -> str:
    """What a SentencePiece piece stands for in the NFKC-normalized text."""
    return unicodedata.normalize("NFKC", piece.replace("\u2581", ""))


# ------------------------------------------------------------------------------------------------------ tokenize


@pytest.mark.parametrize("family", list(SENTENCEPIECE_LAYOUTS))
def test_tokenize_ids_are_sentencepiece_ids(family, cache_dir, capsys):
    import sentencepiece

    config, spm_name, to_model_id, (first, last) = SENTENCEPIECE_LAYOUTS[family]
    folder = family_folder(family, cache_dir)
    processor = sentencepiece.SentencePieceProcessor(model_file=str(folder / spm_name))
    for text in TEXTS:
        [row] = run_cli(capsys, "tokenize", "--model", f"{config}={folder}", text)
        assert row["text"] == text and "pair" not in row and "sequence" not in row
        assert row["tokens"][0] == first and row["tokens"][-1] == last
        assert row["offsets"][0] is None and row["offsets"][-1] is None
        expected = [to_model_id(i) for i in processor.encode(text)]
        assert row["input_ids"][1:-1] == expected, (family, text)
        assert len(row["tokens"]) == len(row["input_ids"]) == len(row["offsets"])
        assert "token_type_ids" not in row  # type_vocab_size 1 (XLM-R), 0 (DeBERTa-v3); ModernBERT has none


def assert_offsets_slice_surfaces(family: str, text: str, capsys) -> None:
    """Each token's offsets slice the original text to what its SentencePiece piece stands for (NFKC), in order,
    covering every character but spaces. A character NFKC expands (㌔ -> キロ) is whole in each of its tokens."""
    import sentencepiece

    config, spm_name, _, _ = SENTENCEPIECE_LAYOUTS[family]
    folder = family_folder(family, Path(os.environ["JGLUE_BENCH_CACHE"]))
    processor = sentencepiece.SentencePieceProcessor(model_file=str(folder / spm_name))
    [row] = run_cli(capsys, "tokenize", "--model", f"{config}={folder}", text)
    pieces, spans = processor.encode(text, out_type=str), row["offsets"][1:-1]
    assert len(spans) == len(pieces)
    covered: list[int] = []
    for index, (piece, piece_id, (start, end)) in enumerate(zip(pieces, processor.encode(text), spans)):
        assert 0 <= start <= end <= len(text)
        if piece == "\u2581":
            # a bare word-start marker stands for no character; at the very start of a text the Rust tokenizer's
            # offsets give it the start of the next token (alignment keeps them as reported)
            following = spans[index + 1]
            assert start == end or (start == following[0] and end <= following[1]), (text, start, end)
            continue
        sliced = unicodedata.normalize("NFKC", text[start:end])
        if piece_id != processor.unk_id():  # an unknown piece stands for what is between its neighbours
            assert sliced == surface(piece) or (surface(piece) in sliced and end - start == 1), (text, piece, sliced)
        assert not covered or start >= covered[-1] or (start, end) == (covered[-1], covered[-1] + 1), text
        covered += [position for position in range(start, end) if position not in covered]
    assert covered == [position for position, char in enumerate(text) if char != " "], (family, text)


@pytest.mark.parametrize("family", list(SENTENCEPIECE_LAYOUTS))
@pytest.mark.parametrize("text", [text for text in TEXTS if text not in HALF_WIDTH_VOICED])
def test_tokenize_offsets_slice_the_original_text(family, text, capsys):
    assert_offsets_slice_surfaces(family, text, capsys)


# The Rust tokenizer's offsets give a composed ｶﾞ -> ガ the span of ｶ alone; alignment widens each span to whole
# characters, so an answer ending in ﾄﾞ is not sliced as ﾄ.
@pytest.mark.parametrize("family", list(SENTENCEPIECE_LAYOUTS))
@pytest.mark.parametrize("text", HALF_WIDTH_VOICED)
def test_tokenize_offsets_keep_half_width_voiced_marks(family, text, capsys):
    assert_offsets_slice_surfaces(family, text, capsys)


def test_tokenize_full_width_offsets_cover_the_original_characters(cache_dir, capsys):
    folder = family_folder("xlm_roberta", cache_dir)
    [row] = run_cli(capsys, "tokenize", "--model", f"xlm_roberta_base={folder}", "ＡＩと東京")
    slices = [
        "ＡＩと東京"[offset[0] : offset[1]]
        for token, offset in zip(row["tokens"], row["offsets"])
        if offset is not None and token != "\u2581"
    ]
    assert "".join(slices) == "ＡＩと東京"
    assert any(piece and "Ａ" in piece for piece in slices)  # the full-width letters, not their NFKC "A"


def test_tokenize_pair_with_sequence_and_token_types(cache_dir, capsys):
    folder = family_folder("tohoku_bert", cache_dir)  # BERT: type_vocab_size 2, so token types are shown
    text, pair = "ＡＩと東京", "ｶﾞｲﾄﾞブック"
    [row] = run_cli(capsys, "tokenize", "--model", f"tohoku_bert_base_v3={folder}", text, "--pair", pair)
    assert row["text"] == text and row["pair"] == pair
    tokens, sequence, offsets = row["tokens"], row["sequence"], row["offsets"]
    assert len(tokens) == len(sequence) == len(offsets) == len(row["input_ids"]) == len(row["token_type_ids"])
    assert [t for t, s in zip(tokens, sequence) if s is None] == ["[CLS]", "[SEP]", "[SEP]"]
    second_at = sequence.index(1)
    assert row["token_type_ids"] == [0] * second_at + [1] * (len(tokens) - second_at)
    for index, source in ((0, text), (1, pair)):
        covered = "".join(
            source[start:end] for (start, end), s in ((o, s) for o, s in zip(offsets, sequence) if s == index)
        )
        assert covered == source


def test_tokenize_xlm_roberta_pair_layout(cache_dir, capsys):
    folder = family_folder("xlm_roberta", cache_dir)
    [row] = run_cli(capsys, "tokenize", "--model", f"xlm_roberta_base={folder}", "質問", "--pair", "ＡＩ２０２３")
    specials = [token for token, s in zip(row["tokens"], row["sequence"]) if s is None]
    assert specials == ["<s>", "</s>", "</s>", "</s>"]  # <s> A </s></s> B </s>
    assert "token_type_ids" not in row
    second = [
        offset
        for token, offset, s in zip(row["tokens"], row["offsets"], row["sequence"])
        if s == 1 and token != "\u2581"
    ]  # a bare word-start marker: see assert_offsets_slice_surfaces
    assert "".join("ＡＩ２０２３"[start:end] for start, end in second) == "ＡＩ２０２３"


def test_tokenize_input_file(cache_dir, capsys, tmp_path):
    folder = family_folder("deberta_v3", cache_dir)
    lines = tmp_path / "texts.txt"
    lines.write_bytes("ＡＩと東京\n\nｶﾞｲﾄﾞ\tブック\r\n記号！？\n".encode())
    rows = run_cli(capsys, "tokenize", "--model", f"mdeberta_v3_base={folder}", "--input", str(lines))
    assert [(row["text"], row.get("pair")) for row in rows] == [
        ("ＡＩと東京", None),
        ("ｶﾞｲﾄﾞ", "ブック"),
        ("記号！？", None),
    ]
    assert "sequence" not in rows[0] and rows[1]["sequence"][0] is None and 1 in rows[1]["sequence"]
    # the same ids as the text given on the command line
    [single] = run_cli(capsys, "tokenize", "--model", f"mdeberta_v3_base={folder}", "ｶﾞｲﾄﾞ", "--pair", "ブック")
    assert single == rows[1]


def test_tokenize_tiny_needs_no_folder(capsys):
    [row] = run_cli(capsys, "tokenize", "--model", "tiny", "ＡＩと東京")
    assert row["tokens"][0] == "[CLS]" and "token_type_ids" not in row
    assert "".join("ＡＩと東京"[start:end] for start, end in row["offsets"][1:-1]) == "ＡＩと東京"


def test_tokenize_errors_are_one_line(cache_dir, capsys, tmp_path):
    assert "did you mean 'xlm_roberta_base'" in cli_error(capsys, "tokenize", "--model", "xlm_roberta_bse", "x")
    assert "is not a folder" in cli_error(capsys, "tokenize", "--model", f"xlm_roberta_base={tmp_path / 'no'}", "x")
    assert "does not exist" in cli_error(capsys, "tokenize", "--model", "tiny", "--input", str(tmp_path / "no.txt"))
    bad = tmp_path / "bad.txt"
    bad.write_text("fine\none\ttwo\tthree\n", encoding="utf-8")
    err = cli_error(capsys, "tokenize", "--model", "tiny", "--input", str(bad))
    assert "line 2" in err and "3 tab-separated fields" in err
    bad.write_bytes(b"fine\n\xff\xfe\n")
    assert "line 2: not UTF-8" in cli_error(capsys, "tokenize", "--model", "tiny", "--input", str(bad))
    assert "nothing to tokenize" in cli_error(capsys, "tokenize", "--model", "tiny")
    assert "not both" in cli_error(capsys, "tokenize", "--model", "tiny", "x", "--input", str(bad))


def test_tokenize_does_not_import_torch(cache_dir):
    folder = family_folder("modernbert", cache_dir)
    script = (
        "import sys; from jglue_bench.cli import main; "
        f"main(['tokenize', '--model', 'modernbert_ja_30m={folder}', 'ＡＩと東京']); "
        "print('torch imported' if 'torch' in sys.modules else 'no torch', file=sys.stderr)"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "JGLUE_BENCH_CACHE": str(cache_dir)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=REPO, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["tokens"][0] == "<s>"
    assert done.stderr.strip().endswith("no torch"), done.stderr


# ------------------------------------------------------------------------------------------------------ models


def test_models_lists_every_config(capsys):
    rows = run_cli(capsys, "models", "--json")
    assert len(rows) >= 25 and len({row["family"] for row in rows}) >= 7
    by_name = {row["name"]: row for row in rows}
    assert by_name["tohoku_bert_base_v3"]["published_rows"] > 0
    assert by_name["tiny"]["published_rows"] == 0 and by_name["tiny"]["pretrained"] is None
    assert by_name["waseda_roberta_base"]["pre_segment"] == "jumanpp"
    assert by_name["xlm_roberta_base"]["recipe"] == "fairseq_sentencepiece"
    main(["models"])
    table = capsys.readouterr().out
    assert "| tohoku_bert_base_v3 " in table and "jumanpp" in table and "published rows" in table


def test_models_counts_parameters_of_a_local_folder(cache_dir, capsys, tmp_path, monkeypatch):
    from transformers import AutoModel

    from jglue_bench.config import config_dir

    folder = family_folder("xlm_roberta", cache_dir)
    expected = sum(parameter.numel() for parameter in AutoModel.from_pretrained(str(folder)).parameters())
    configs = tmp_path / "configs"
    shutil.copytree(config_dir(), configs)
    model_yaml = configs / "model" / "xlm_roberta_base.yaml"
    model = yaml.safe_load(model_yaml.read_text(encoding="utf-8"))
    model_yaml.write_text(yaml.safe_dump({**model, "pretrained": str(folder)}), encoding="utf-8")
    monkeypatch.setenv("JGLUE_BENCH_CONFIG_DIR", str(configs))
    rows = {row["name"]: row for row in run_cli(capsys, "models", "--json")}
    assert rows["xlm_roberta_base"]["parameters"] == expected
    assert rows["xlm_roberta_base"]["parameters_from"] == "config.json"
    # a hub id is not fetched to be listed: its shape: block (config.json's fields) gives the count; the XLM-R
    # card says 560M parameters
    assert rows["xlm_roberta_large"]["parameters_from"] == "shape"
    assert 559e6 < rows["xlm_roberta_large"]["parameters"] < 561e6
    assert rows["ku_deberta_v3_base"]["parameters"] is None  # neither files nor a shape here
    main(["models"])
    from jglue_bench.train.model_list import format_parameters

    line = next(line for line in capsys.readouterr().out.splitlines() if "| xlm_roberta_base " in line)
    assert format_parameters(expected) in line and str(folder) in line


@pytest.mark.parametrize("family", ["tohoku_bert", "deberta_v3", "modernbert", "luke"])
def test_parameter_count_matches_the_built_model(family, cache_dir):
    from transformers import AutoConfig, AutoModel

    from jglue_bench.train.modeling import meta_parameters

    folder = family_folder(family, cache_dir)
    model = AutoModel.from_config(AutoConfig.from_pretrained(str(folder)))
    assert meta_parameters(AutoConfig.from_pretrained(str(folder))) == sum(
        parameter.numel() for parameter in model.parameters()
    )


def test_format_parameters():
    from jglue_bench.train.model_list import format_parameters

    assert [format_parameters(n) for n in (None, 999, 52_300, 68_100_000, 1_200_000_000)] == [
        "-",
        "999",
        "52.3K",
        "68.1M",
        "1.2B",
    ]
