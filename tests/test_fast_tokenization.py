"""The fast tokenization path gives the reference tokenizer's ids exactly: on every text of the real JGLUE and
JCoLA files (slow test), on a spread of them (quick test), and on hand-written hard cases."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from jglue_bench.tokenization.fast import FastEncoder, assemble, evenly_spaced, fast_encoder, reference_encode

QUICK_EVERY = 60  # the quick test takes every 60th item of each group: a few hundred texts in all


def read_json_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def corpus_groups(real_data: Path, jcola_dir: Path | None) -> dict[tuple[str, int], list]:
    """Every distinct input of every file, all versions, by (kind, the task's max length): pairs (first,
    second), singles (first, None) and QA texts (tokenized alone, as the QA featurizer does)."""
    groups: dict[tuple[str, int], dict] = {
        ("pairs", 128): {},
        ("pairs", 64): {},
        ("pairs", 384): {},
        ("singles", 128): {},
        ("texts", 0): {},
    }
    for path in sorted(real_data.glob("*/*.json")):
        task = path.parent.name.split("-v")[0]
        if task in ("jsts", "jnli"):
            rows = read_json_lines(path)
            groups["pairs", 128].update(dict.fromkeys((row["sentence1"], row["sentence2"]) for row in rows))
        elif task == "jcommonsenseqa":
            groups["pairs", 64].update(
                dict.fromkeys((row["question"], row[f"choice{k}"]) for row in read_json_lines(path) for k in range(5))
            )
        elif task == "jsquad":
            for article in json.loads(path.read_text(encoding="utf-8"))["data"]:
                for paragraph in article["paragraphs"]:
                    groups["texts", 0].update(
                        dict.fromkeys([paragraph["context"], *(qa["question"] for qa in paragraph["qas"])])
                    )
                    groups["pairs", 384].update(
                        dict.fromkeys((qa["question"], paragraph["context"]) for qa in paragraph["qas"])
                    )
    if jcola_dir is not None:
        for path in sorted((jcola_dir / "jcola-v1.0").glob("*.json")):
            groups["singles", 128].update(dict.fromkeys((row["sentence"], None) for row in read_json_lines(path)))
    return {key: list(items) for key, items in groups.items()}


def differing_items(encoder: FastEncoder, groups: dict, every: int = 1) -> dict[str, list]:
    """The items of each group whose fast ids differ from the reference's (empty lists when all match)."""
    tokenizer, found = encoder.tokenizer, {}
    for (kind, max_length), items in groups.items():
        items = items[::every]
        if kind == "texts":
            wrong = [
                text for text in items if encoder.ids(text) != tokenizer(text, add_special_tokens=False)["input_ids"]
            ]
        else:
            firsts = [first for first, _ in items]
            seconds = [second for _, second in items] if kind == "pairs" else None
            wrong = [items[i] for i in encoder.mismatches(firsts, seconds, max_length, with_token_types=True)]
        found[f"{kind}@{max_length} ({len(items)} items)"] = wrong[:5]
    return found


@pytest.fixture
def jcola_or_none(request):
    try:
        return request.getfixturevalue("jcola_dir")
    except pytest.skip.Exception:
        return None


@pytest.mark.parametrize("name", ["tiny", "bandainamco"])
def test_fast_ids_match_on_a_spread_of_real_texts(tokenizers, real_data, jcola_or_none, name):
    encoder = fast_encoder(tokenizers(name))
    assert encoder is not None
    differing = differing_items(encoder, corpus_groups(real_data, jcola_or_none), every=QUICK_EVERY)
    assert all(not wrong for wrong in differing.values()), differing


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tiny", "bandainamco"])
def test_fast_ids_match_on_every_real_text(tokenizers, real_data, jcola_or_none, name):
    encoder = fast_encoder(tokenizers(name))
    differing = differing_items(encoder, corpus_groups(real_data, jcola_or_none))
    assert all(not wrong for wrong in differing.values()), differing


# --- hand-written hard cases, on every tokenizer family the tests build ---

EDGE_TEXTS = [
    "ｶﾞｲﾄﾞﾌﾞｯｸを読む。ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟとｶ\u3099",  # half-width kana, a combining dakuten
    "ＪＧＬＵＥ　Ｂｅｎｃｈｍａｒｋ　１２３",
    "Hello World ＨＥＬＬＯ",  # full-width Latin and digits, case
    "絵文字😀🎌と𠮷野家と☃と\U0010ffff",  # emoji and characters no vocabulary has
    "ａ" * 100,
    "ａ" * 101,
    "x" * 300 + "です",
    "ー" * 150,  # WordPiece's max_input_chars_per_word is 100
    "",
    " ",
    "\u3000",
    "\t\n",
    "\u200b",
    "\u3099",  # empty, or nothing left but spaces after NFKC
    "東京タワー [SEP] 東京タワーは港区にある電波塔です。",
    "[SEP]",
    "a[SEP]b[CLS][MASK][PAD][UNK]",
    "［ＳＥＰ］",
    "<unk>と<pad>",
    "1,000円と2,500円",
    "``引用''と\"引用\"",
    "改行\nと\rとタブ\tと\x85と\u2028",
    "Ⅻ㌔㍉ﬁ①",
    "ΣΑΣ ΟΔΟΣ İstanbul",
    "東京 タワー  へ   行った",
    "零幅\u200b空白\ufeff",
]
FAMILIES = ["tiny", "line_like", "hand_wordpiece", "bandainamco"]


@pytest.mark.parametrize("name", FAMILIES)
def test_fast_ids_match_on_hard_texts(tokenizers, name):
    tokenizer = tokenizers(name)
    encoder = fast_encoder(tokenizer)
    assert encoder is not None
    for text in EDGE_TEXTS:
        assert encoder.ids(text) == tokenizer(text, add_special_tokens=False)["input_ids"], text
    pairs_second = EDGE_TEXTS[::-1]
    for max_length in (8, 16, 128):
        assert encoder.mismatches(EDGE_TEXTS, pairs_second, max_length, with_token_types=True) == []
        assert encoder.mismatches(EDGE_TEXTS, None, max_length, with_token_types=False) == []
    assert encoder.mismatches(EDGE_TEXTS, None, 32, with_token_types=None) == []


@pytest.mark.parametrize("name", FAMILIES)
def test_word_pieces_match_the_reference_subword_splitter(tokenizers, name):
    """Per word, below MeCab: MeCab never yields a word over ~25 characters, so WordPiece's 100-character limit
    (max_input_chars_per_word) and the SentencePiece wrapper's rewrites are checked on the words themselves."""
    tokenizer = tokenizers(name)
    encoder = fast_encoder(tokenizer)
    words = [
        "ア" * 99,
        "ア" * 100,
        "ア" * 101,
        "東京" * 60,
        "x" * 300,
        "1,",
        "12,5",
        "``",
        "''",
        "a b",
        "",
        "\u3000",
        "😀",
        "タワー",
        "ﾀﾜｰ",
    ]
    for word in words:
        expected = tokenizer.convert_tokens_to_ids(tokenizer.subword_tokenizer.tokenize(word))
        assert encoder.pieces(word) == expected, word


def test_call_gives_what_encode_gives(tokenizers):
    from jglue_bench.tasks.common import encode

    tokenizer = tokenizers("tiny")
    encoder = fast_encoder(tokenizer)
    firsts, seconds = EDGE_TEXTS, EDGE_TEXTS[::-1]
    assert encoder(firsts, seconds, 16, True) == encode(tokenizer, firsts, seconds, 16, True)
    assert encoder(firsts, None, 16, False) == encode(tokenizer, firsts, None, 16, False)
    with pytest.raises(ValueError):  # the reference refuses an empty batch; so does the fast path, through it
        encoder([], None, 16, False)


@pytest.mark.parametrize("max_length", [5, 8, 9, 12, 20])
def test_truncation_matches_the_reference_for_every_length_pair(tokenizers, max_length, caplog):
    caplog.set_level(logging.ERROR, logger="transformers.tokenization_python")  # a warning per truncated pair
    tokenizer = tokenizers("hand_wordpiece")
    for first_length in range(0, 12):
        for second_length in [None, *range(0, 12)]:
            first = list(range(10, 10 + first_length))
            second = None if second_length is None else list(range(50, 50 + second_length))
            expected = tokenizer.prepare_for_model(
                first, second, truncation="longest_first", max_length=max_length, return_token_type_ids=True
            )
            ids, types = assemble(first, second, max_length, tokenizer.cls_token_id, tokenizer.sep_token_id)
            assert (ids, types) == (expected["input_ids"], expected["token_type_ids"]), (first_length, second_length)


def test_fast_tokenizers_and_other_recipes_get_no_fast_encoder(tokenizers):
    assert fast_encoder(tokenizers("albert")) is None


def test_a_failing_self_check_gives_no_fast_encoder(tokenizers, monkeypatch):
    from jglue_bench.tokenization import fast

    monkeypatch.setattr(fast.WordPieceIds, "__call__", lambda self, word: [])
    assert fast_encoder(tokenizers("hand_wordpiece")) is None


def test_a_call_whose_checked_items_differ_is_redone_by_the_reference(tokenizers):
    tokenizer = tokenizers("hand_wordpiece")
    encoder = fast_encoder(tokenizer)
    texts = ["東京タワーへ行った。", "京都の寺を訪れた。", "彼はペンを読む。"] * 5
    encoder.cache["。"] = [999]  # a wrong cached surface that every text holds
    assert encoder(texts, None, 32, True) == reference_encode(tokenizer, texts, None, 32, True)
    assert encoder.fallbacks == 1


def test_processes_give_the_serial_result(tokenizers):
    encoder = FastEncoder(tokenizers("bandainamco"), num_proc=2, parallel_threshold=10)
    firsts = [f"{text}その{i}番目。" for i, text in enumerate(EDGE_TEXTS * 3)]
    seconds = firsts[::-1]
    assert encoder._parallel(len(firsts))
    assert encoder(firsts, seconds, 24, True) == encoder.encode_serial(firsts, seconds, 24, True)


def test_the_encoder_is_built_once_per_tokenizer_and_survives_pickling(tokenizers):
    import pickle

    from jglue_bench.tokenization.fast import encoder_for

    tokenizer = tokenizers("bandainamco")
    encoder = encoder_for(tokenizer)
    assert encoder is not None and encoder_for(tokenizer) is encoder
    copy = pickle.loads(pickle.dumps(tokenizer))  # e.g. a spawned worker; the encoder is rebuilt for the copy
    assert encoder_for(copy).tokenizer is copy
    assert encoder_for(copy).ids("東京タワーへ行った。") == encoder.ids("東京タワーへ行った。")
    assert encoder_for(tokenizers("albert")) is None


def test_evenly_spaced_takes_the_ends():
    assert evenly_spaced(3, 8) == [0, 1, 2]
    assert evenly_spaced(100, 3) == [0, 50, 99]
