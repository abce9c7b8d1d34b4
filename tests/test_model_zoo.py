"""Every encoder family, offline: a small random model of the real architecture with tokenizer files in the
real hub layout (jglue_bench.train.random_families), trained on each task kind until it memorises a few examples,
saved, loaded back and scored again; and token-id parity of each tokenizer recipe with its reference
segmentation (SentencePiece itself, BertJapaneseTokenizer, the words Juman++ gives)."""

from __future__ import annotations

import json
import stat
import sys
import unicodedata
from pathlib import Path

import pytest
import sentencepiece
from conftest import MEMORISE_EIGHT

from jglue_bench.errors import UserError
from jglue_bench.tokenization import load_tokenizer
from jglue_bench.tokenization.alignment import token_char_spans
from jglue_bench.tokenization.layout import encode_pairs, pair_template, text_ids
from jglue_bench.tokenization.tiny import sample_texts
from jglue_bench.train.loop import train
from jglue_bench.train.random_families import FAMILIES, cached_family, family_model_config
from jglue_bench.train.saved_runs import evaluate_saved_run

KINDS = {
    "classification": ("jnli", "accuracy"),
    "regression": ("jsts", "pearson"),
    "multiple_choice": ("jcommonsenseqa", "accuracy"),
    "extractive_qa": ("jsquad", "f1"),
}
JUMANPP_FAMILIES = ("waseda_roberta", "deberta_v2")
# The quick suite trains each family on one kind and each kind on two families; -m slow runs every pair.
QUICK = {
    ("tohoku_bert", "classification"),
    ("tohoku_bert_char", "extractive_qa"),
    ("waseda_roberta", "regression"),
    ("xlm_roberta", "extractive_qa"),
    ("luke", "multiple_choice"),
    ("deberta_v2", "classification"),
    ("deberta_v3", "multiple_choice"),
    ("modernbert", "regression"),
}
TRICKY = [
    "ＡＩと２０２３年のｶﾞｲﾄﾞブック",
    "ﾊﾝｶｸｶﾀｶﾅとﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ",
    "Ｆｕｌｌ－ｗｉｄｔｈ Ｌａｔｉｎ １２３",
    "①㌔と㍉、〜（括弧）「引用」！？",
    "  空白  二つ ",
    "全角　空白",
    "か\u3099と合成",
]

STAND_IN_JUMANPP = r'''#!{python}
"""A stand-in for Juman++ (not installable here): one morpheme per run of kanji, hiragana, katakana or other
characters, in Juman++'s output format, EOS after each line."""
import sys, unicodedata

def script(char):
    name = unicodedata.name(char, "")
    return next((kind for kind in ("CJK", "HIRAGANA", "KATAKANA") if name.startswith(kind)), "OTHER")

for line in sys.stdin:
    text, runs = line.rstrip("\n"), []
    for char in text:
        if runs and script(runs[-1][-1]) == script(char):
            runs[-1] += char
        else:
            runs.append(char)
    for run in runs:
        print(f"{{run}} {{run}} {{run}} 名詞 6 普通名詞 1 * 0 * 0 NIL")
    print("EOS", flush=True)
'''


def stand_in_runs(text: str) -> list[str]:
    """What the stand-in Juman++ gives for a text without spaces (its own rule, written again for the check)."""
    import unicodedata

    def script(char):
        name = unicodedata.name(char, "")
        return next((kind for kind in ("CJK", "HIRAGANA", "KATAKANA") if name.startswith(kind)), "OTHER")

    runs: list[str] = []
    for char in text:
        if runs and script(runs[-1][-1]) == script(char):
            runs[-1] += char
        else:
            runs.append(char)
    return runs


@pytest.fixture(scope="session")
def jumanpp(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bin") / "jumanpp"
    path.write_text(STAND_IN_JUMANPP.format(python=sys.executable), encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def family_config(family: str, cache_dir: Path, jumanpp: Path) -> dict:
    cfg = family_model_config(family, cached_family(family, cache_dir))
    if family in JUMANPP_FAMILIES:
        cfg["tokenizer"]["jumanpp_command"] = str(jumanpp)
    return cfg


def overrides_for(cfg: dict) -> list[str]:
    """The family's model config as Hydra overrides of its bundled YAML."""
    name = FAMILIES[cfg["name"].removeprefix("random_")][0]
    extra = (
        [f"model.tokenizer.jumanpp_command={cfg['tokenizer']['jumanpp_command']}"]
        if "jumanpp_command" in cfg["tokenizer"]
        else []
    )
    return [
        f"model={name}",
        f"model.pretrained={cfg['pretrained']}",
        "model.revision=null",
        "model.allow_pickle=false",
        *extra,
    ]


CASES = [
    pytest.param(family, kind, marks=() if (family, kind) in QUICK else pytest.mark.slow, id=f"{family}-{kind}")
    for family in FAMILIES
    for kind in KINDS
]


@pytest.mark.parametrize("family, kind", CASES)
def test_family_memorises_saves_and_scores_again(make_config, cache_dir, jumanpp, family, kind):
    task, metric = KINDS[kind]
    cfg = make_config(
        *overrides_for(family_config(family, cache_dir, jumanpp)),
        f"task={task}",
        *MEMORISE_EIGHT,
        "num_train_epochs=100",
        "save_model=true",
        *(["max_seq_length=96"] if task == "jsquad" else []),
    )
    result = train(cfg)
    # a model that has memorised the gold spans scores what those spans slice (a gold answer inside a token
    # cannot be cut out of it): JSQuAD is held to that ceiling, the others to 85
    ceiling = gold_span_ceiling(cfg) if kind == "extractive_qa" else 100.0
    assert result.metrics[metric] >= min(85.0, ceiling - 5.0), (family, kind, ceiling, result.record["history"][-2:])
    model_inputs = result.record["model"]
    assert model_inputs["name"] == f"random_{family}" or model_inputs.get("pretrained")
    again = evaluate_saved_run(result.output_dir, ["data.eval_split=train"])
    assert again.metrics[metric] == pytest.approx(result.metrics[metric], abs=1e-6)


def gold_span_ceiling(cfg) -> float:
    """F1 x100 of the answers sliced at the gold token spans the QA features train on."""
    from jglue_bench.prepare.stage import featurize_split, read_split, task_spec
    from jglue_bench.tasks import extractive_qa

    spec = task_spec(cfg)
    data = read_split(spec, cfg.data, "train", cfg.data.max_train_samples)
    tokenizer = load_tokenizer(cfg.model, cfg.data.cache_dir)
    features = featurize_split(data, spec, tokenizer, cfg.max_seq_length, False, {"cache": False}).features
    answers = {}
    for feature in (features[i] for i in range(len(features))):
        start, end = feature["start_positions"], feature["end_positions"]
        if start and feature["example_index"] not in answers:
            context = data.examples[feature["example_index"]].texts[1]
            answers[feature["example_index"]] = context[feature["offsets"][start][0] : feature["offsets"][end][1]]
    predictions = [
        {"text": answers.get(index, ""), "official_text": answers.get(index, "")} for index in range(len(data.examples))
    ]
    return extractive_qa.score(data.examples, predictions, spec)["f1"]


def test_token_types_only_where_the_model_has_them(cache_dir, jumanpp):
    from transformers import AutoConfig, AutoModelForSequenceClassification

    from jglue_bench.train.modeling import forward_input_names

    expected = {
        "tohoku_bert": True,
        "waseda_roberta": True,
        "xlm_roberta": False,
        "luke": False,
        "deberta_v2": True,
        "deberta_v3": True,
        "modernbert": False,
    }
    for family, uses_types in expected.items():
        folder = cached_family(family, cache_dir)
        config = AutoConfig.from_pretrained(folder)
        model = AutoModelForSequenceClassification.from_config(config)
        assert ("token_type_ids" in forward_input_names(model)) == (uses_types and config.type_vocab_size >= 2), family


# --- token-id parity with the reference segmentation ---

SPM_LAYOUTS = {
    "xlm_roberta": ("sentencepiece.bpe.model", 1),
    "luke": ("sentencepiece.bpe.model", 1),
    "deberta_v3": ("spm.model", 0),
    "modernbert": ("tokenizer.model", 0),
}


def reference_ids(processor, text: str, offset: int) -> list[int]:
    """SentencePiece's ids, shifted to the fairseq layout where the model uses it (<unk> is 3 there)."""
    ids = processor.encode(text)
    return [i + offset if i != processor.unk_id() else 3 for i in ids] if offset else ids


def real_texts(request) -> list[str]:
    """Every distinct text of the JGLUE files (all versions) and JCoLA here, as the QA and pair featurizers see
    them; the slow tests need the JGLUE files, JCoLA joins when present."""
    from test_fast_tokenization import corpus_groups

    jcola = None
    try:
        jcola = request.getfixturevalue("jcola_dir")
    except pytest.skip.Exception:
        pass
    groups = corpus_groups(request.getfixturevalue("real_data"), jcola)
    return [text for items in groups.values() for item in items for text in item if text is not None]


def parity_texts(limit: int | None, request) -> list[str]:
    texts = sample_texts() + TRICKY + (real_texts(request) if limit is None else [])
    # literal special tokens (JSQuAD's "title [SEP] context") are the tokenizer's special token, not pieces
    return [text for text in dict.fromkeys(texts) if "[SEP]" not in text][:limit]


@pytest.mark.parametrize("family", SPM_LAYOUTS)
@pytest.mark.parametrize(
    "limit", [pytest.param(400, id="sample"), pytest.param(None, marks=pytest.mark.slow, id="all")]
)
def test_sentencepiece_layouts_give_sentencepiece_ids(cache_dir, jumanpp, family, limit, request):
    folder = cached_family(family, cache_dir)
    filename, offset = SPM_LAYOUTS[family]
    processor = sentencepiece.SentencePieceProcessor(model_file=str(folder / filename))
    tokenizer = load_tokenizer(family_config(family, cache_dir, jumanpp), cache_dir)
    texts = parity_texts(limit, request)
    ours = encode_pairs(tokenizer, texts, None, 100_000, False)["input_ids"]
    template = pair_template(tokenizer)
    differing = [
        text
        for text, ids in zip(texts, ours)
        if ids[len(template.before) : len(ids) - len(template.after)] != reference_ids(processor, text, offset)
    ]
    assert not differing, differing[:5]
    assert len(texts) >= (400 if limit else 10_000)


def test_plain_transformers_gets_these_wrong_so_the_test_can_fail(cache_dir):
    """The traps the recipes avoid are real: the stock classes differ from SentencePiece on these texts."""
    from transformers import DebertaV2Tokenizer, XLMRobertaTokenizer

    for family, cls in (("deberta_v3", DebertaV2Tokenizer), ("xlm_roberta", XLMRobertaTokenizer)):
        folder = cached_family(family, cache_dir)
        filename, offset = SPM_LAYOUTS[family]
        processor = sentencepiece.SentencePieceProcessor(model_file=str(folder / filename))
        stock = cls.from_pretrained(str(folder))
        assert any(
            stock(text, add_special_tokens=False)["input_ids"] != reference_ids(processor, text, offset)
            for text in TRICKY
        ), family


@pytest.mark.parametrize("family", ["tohoku_bert", "tohoku_bert_char"])
@pytest.mark.parametrize(
    "limit", [pytest.param(200, id="sample"), pytest.param(None, marks=pytest.mark.slow, id="all")]
)
def test_mecab_recipes_give_bert_japanese_tokenizer_ids(cache_dir, jumanpp, family, limit, request):
    from transformers import BertJapaneseTokenizer

    folder = cached_family(family, cache_dir)
    subword = "character" if family.endswith("char") else "wordpiece"
    reference = BertJapaneseTokenizer(
        str(folder / "vocab.txt"),
        word_tokenizer_type="mecab",
        mecab_kwargs={"mecab_dic": "unidic_lite"},
        subword_tokenizer_type=subword,
    )
    tokenizer = load_tokenizer(family_config(family, cache_dir, jumanpp), cache_dir)
    texts = (sample_texts() + TRICKY + (real_texts(request) if limit is None else []))[:limit]
    assert encode_pairs(tokenizer, texts, texts[::-1], 128, True) == {
        key: list(value)
        for key, value in reference(
            texts, texts[::-1], truncation=True, max_length=128, return_token_type_ids=True
        ).items()
    }


@pytest.mark.parametrize("family", JUMANPP_FAMILIES)
def test_jumanpp_words_are_joined_by_spaces_before_sentencepiece(cache_dir, jumanpp, family):
    folder = cached_family(family, cache_dir)
    filename = "spiece.model" if family == "waseda_roberta" else "spm.model"
    processor = sentencepiece.SentencePieceProcessor(model_file=str(folder / filename))
    tokenizer = load_tokenizer(family_config(family, cache_dir, jumanpp), cache_dir)
    for text in sample_texts()[:60] + ["東京タワーへ行った", "ＡＩと２０２３年のｶﾞｲﾄﾞ", "二つ の 語"]:
        words = [word for chunk in text.split() for word in stand_in_runs(chunk)]
        assert text_ids(tokenizer, text) == processor.encode(" ".join(words)), text
        # offsets point into the original text: each piece is what NFKC makes of the characters it spans
        for token_id, start, end in token_char_spans(tokenizer, text):
            piece = tokenizer.convert_ids_to_tokens(token_id).replace("\u2581", "")
            if piece and token_id != tokenizer.unk_token_id:
                assert unicodedata.normalize("NFKC", text[start:end]) == piece, (text, piece, start, end)
    assert load_tokenizer(family_config(family, cache_dir, jumanpp), cache_dir).jglue_recipe["pre_segment"] == "jumanpp"


def test_missing_jumanpp_is_one_line_before_any_work(tmp_path, capsys):
    from jglue_bench.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "train",
                "model=ku_deberta_v2_base",
                "model.tokenizer.jumanpp_command=no-such-jumanpp",
                f"output_dir={tmp_path / 'run'}",
                f"results.path={tmp_path / 'runs.jsonl'}",
            ]
        )
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "Juman++ is not installed" in error[0] and "no-such-jumanpp" in error[0]
    assert "github.com/ku-nlp/jumanpp" in error[0]
    assert not (tmp_path / "run").exists() and not (tmp_path / "runs.jsonl").exists()


@pytest.mark.parametrize(
    "config, tokenizer_config, recipe",
    [
        ({"model_type": "deberta-v2"}, {"tokenizer_class": "DebertaV2Tokenizer"}, "sentencepiece"),
        ({"model_type": "luke"}, {"tokenizer_class": "MLukeTokenizer"}, "fairseq_sentencepiece"),
        ({"model_type": "xlm-roberta"}, None, "fairseq_sentencepiece"),
        (None, {"tokenizer_class": "LlamaTokenizer"}, "unigram"),
        ({"model_type": "bert"}, None, "mecab_wordpiece"),
    ],
)
def test_auto_refuses_known_traps_with_the_recipe_to_use(tmp_path, config, tokenizer_config, recipe):
    for name, content in (("config.json", config), ("tokenizer_config.json", tokenizer_config)):
        if content is not None:
            (tmp_path / name).write_text(json.dumps(content), encoding="utf-8")
    cfg = {"name": "mine", "pretrained": str(tmp_path), "tokenizer": {"recipe": "auto"}}
    with pytest.raises(UserError, match=f"use recipe {recipe}"):
        load_tokenizer(cfg, tmp_path / "cache")


def test_auto_loads_a_model_without_a_known_trap(tmp_path, cache_dir):
    folder = cached_family("modernbert", cache_dir)
    (tmp_path / "tokenizer.json").write_bytes((folder / "tokenizer.json").read_bytes())
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "modernbert"}), encoding="utf-8")
    (tmp_path / "tokenizer_config.json").write_text(
        json.dumps({"tokenizer_class": "PreTrainedTokenizerFast"}), encoding="utf-8"
    )
    tokenizer = load_tokenizer(
        {"name": "mine", "pretrained": str(tmp_path), "tokenizer": {"recipe": "auto"}}, tmp_path / "cache"
    )
    assert tokenizer.tokenize("東京")


def test_a_unigram_tokenizer_json_alone_still_composes_half_width_voiced_katakana(tmp_path, cache_dir, jumanpp):
    """Without tokenizer.model beside it, tokenizer.json's own normaliser is kept, with NFC after its map."""
    folder = cached_family("modernbert", cache_dir)
    (tmp_path / "tokenizer.json").write_bytes((folder / "tokenizer.json").read_bytes())
    cfg = family_config("modernbert", cache_dir, jumanpp)
    cfg["pretrained"] = str(tmp_path)
    tokenizer = load_tokenizer(cfg, cache_dir)
    assert "normalizer_file" not in tokenizer.jglue_files
    processor = sentencepiece.SentencePieceProcessor(model_file=str(folder / "tokenizer.model"))
    for text in ("ｶﾞｲﾄﾞブック", "ﾊﾟﾋﾟﾌﾟﾍﾟﾎﾟ", "ＡＩと２０２３年"):
        assert text_ids(tokenizer, text) == processor.encode(text), text
