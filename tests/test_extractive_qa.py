"""JSQuAD extractive QA: validation, sliding windows, decoding spans back to the original text, scoring."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from conftest import TOKENIZER_NAMES

from jglue_bench.config import compose_config
from jglue_bench.data.readers import Row, read_rows
from jglue_bench.errors import DataError
from jglue_bench.prepare.stage import task_spec
from jglue_bench.tasks import extractive_qa as qa
from jglue_bench.tasks.common import Example
from jglue_bench.tasks.spec import TaskSpec
from jglue_bench.tokenization.alignment import token_char_spans

PATH = Path("valid-v1.3.json")
FILLER = "京都の寺を訪れた。"  # 7 IPADIC words, all in the hand-written vocabulary
ANSWER_SENTENCE = "東京タワーへ行った。"


def jsquad_spec(**qa_overrides) -> TaskSpec:
    spec = task_spec(compose_config(["task=jsquad"]))
    return replace(spec, qa={**spec.qa, **qa_overrides})


def squad_row(values: dict, where: str = "data[0].paragraphs[0].qas[0]") -> Row:
    return Row(values, PATH, where, 1)


def example(question: str, context: str, answer: str, index: int = 0) -> Example:
    return Example(f"q{index}", (question, context), ((answer, context.index(answer)),), f"data[0].qas[{index}]")


def texts(predictions: list[dict]) -> list[str]:
    return [prediction["text"] for prediction in predictions]


def logits_picking(
    feature: dict, start: int, end: int, strength: float = 10.0, background: float = -100.0
) -> tuple[np.ndarray, np.ndarray]:
    """Logits of one window where only (start, end) scores: every other start or end is far below."""
    start_logits = np.full(len(feature["input_ids"]), background, dtype=np.float32)
    end_logits = np.full(len(feature["input_ids"]), background, dtype=np.float32)
    start_logits[start] = strength
    end_logits[end] = strength
    return start_logits, end_logits


def silent(features: list[dict]) -> list[tuple[np.ndarray, np.ndarray]]:
    return [logits_picking(feature, 0, 0, strength=-100.0) for feature in features]


# ---- to_example ------------------------------------------------------------------------------------------


def record(**changes) -> dict:
    base = {
        "id": "a1000-0",
        "question": "どこへ行った?",
        "context": "旅行 [SEP] 東京タワーへ行った。",
        "answers": [{"text": "東京タワー", "answer_start": 9}],
        "is_impossible": False,
    }
    return {**base, **changes}


def test_to_example_keeps_question_context_and_every_gold_answer():
    answers = [{"text": "東京タワー", "answer_start": 9}, {"text": "東京タワーへ", "answer_start": 9}]
    built = qa.to_example(squad_row(record(answers=answers)), jsquad_spec())
    assert built.texts == ("どこへ行った?", "旅行 [SEP] 東京タワーへ行った。")
    assert built.label == (("東京タワー", 9), ("東京タワーへ", 9)) and built.id == "a1000-0"


@pytest.mark.parametrize(
    "changes, field, words",
    [
        (
            {"answers": [{"text": "東京タワー", "answer_start": 10}]},
            "answers[0].answer_start",
            ["'a1000-0'", "offset 9"],
        ),
        ({"answers": [{"text": "東京タワー", "answer_start": "9"}]}, "answers[0].answer_start", ["integer"]),
        ({"answers": [{"text": "東京タワー", "answer_start": True}]}, "answers[0].answer_start", ["integer"]),
        ({"answers": [{"text": "", "answer_start": 9}]}, "answers[0].text", ["non-empty"]),
        ({"answers": "東京タワー"}, "answers", ["list"]),
        ({"answers": []}, "answers", ["at least one answer", "a1000-0", "unanswerable"]),
        ({"is_impossible": True}, "answers", ["at least one answer", "a1000-0", "SQuAD 2.0"]),
        (
            {"answers": [{"text": "東京タワー", "answer_start": 40}]},
            "answers[0].answer_start",
            ["out of range", "the context has 19 characters", "found 40"],
        ),
        ({"answers": [{"text": "東京タワー"}]}, "answers[0].answer_start", ["the field is missing"]),
        ({"question": " "}, "question", ["non-empty"]),
        ({"id": None}, "id", ["id"]),
    ],
)
def test_to_example_names_file_place_field_and_expectation(changes, field, words):
    with pytest.raises(DataError) as raised:
        qa.to_example(squad_row(record(**changes), "data[3].paragraphs[0].qas[2]"), jsquad_spec())
    message = str(raised.value)
    assert str(PATH) in message and "data[3].paragraphs[0].qas[2]" in message and f"'{field}'" in message
    assert all(word in message for word in words), message


def test_a_question_without_answers_is_read_only_for_prediction():
    built = qa.to_example(squad_row(record(answers=[])), jsquad_spec(), labelled=False)
    assert built.label is None and built.texts[0] == "どこへ行った?"


# ---- answers come back exactly as written -----------------------------------------------------------------


@pytest.mark.parametrize("name", TOKENIZER_NAMES)
@pytest.mark.parametrize("written", ["ＪＧＬＵＥ", "ｶﾞｲﾄﾞﾌﾞｯｸ"], ids=["full_width", "half_width_kana"])
def test_answer_is_sliced_from_the_original_context_not_rebuilt_from_tokens(tokenizers, name, written):
    tokenizer = tokenizers(name)
    context = f"解説 [SEP] 彼は{written}を読んだ。"
    examples = [example("何を読んだ?", context, written)]
    [feature] = qa.featurize(examples, tokenizer, jsquad_spec(), 384, with_token_types=False)
    start, end = feature["start_positions"], feature["end_positions"]
    assert 0 < start <= end
    rebuilt = "".join(tokenizer.convert_ids_to_tokens(feature["input_ids"][start : end + 1]))
    assert rebuilt != written  # the tokenizer normalized it (NFKC, maybe lower-case)
    [prediction] = qa.decode([logits_picking(feature, start, end)], [feature], examples, jsquad_spec(), tokenizer)
    assert prediction["text"] == written and context[prediction["start"] : prediction["end"]] == written
    # JGLUE's way rebuilds the answer from the tokens, which the tokenizer normalized: no match at all
    assert prediction["official_text"] != written
    assert qa.score(examples, [prediction], jsquad_spec()) == {
        "exact_match": 1.0,
        "f1": 1.0,
        "exact_match_official": 0.0,
        "f1_official": 0.0,
    }


# ---- windows -----------------------------------------------------------------------------------------------


def windows_setup(tokenizer, **qa_overrides):
    """A context of 76 words with the answer at words 56-57; windows of 28 words, starts 8 words apart."""
    context = FILLER * 8 + ANSWER_SENTENCE + FILLER * 2
    spec = jsquad_spec(doc_stride=8, **qa_overrides)
    examples = [example("東京", context, "東京タワー")]
    return spec, examples, qa.featurize(examples, tokenizer, spec, 32, with_token_types=True)


def test_long_context_gets_overlapping_windows_doc_stride_apart(tokenizers):
    tokenizer = tokenizers("hand_wordpiece")
    spec, examples, features = windows_setup(tokenizer)
    context = examples[0].texts[1]
    tokens = token_char_spans(tokenizer, context)
    window_length = 32 - 1 - 3  # the question is one token
    assert len(features) == len(qa.window_starts(len(tokens), window_length, 8)) >= 4
    gold_first = next(i for i, (_, s, _) in enumerate(tokens) if s == context.index("東京タワー"))
    for w, feature in enumerate(features):
        window = tokens[8 * w : 8 * w + window_length]
        assert feature["offsets"][3:-1] == [(s, e) for _, s, e in window]
        assert feature["input_ids"] == [
            tokenizer.cls_token_id,
            *tokenizer("東京", add_special_tokens=False)["input_ids"],
            tokenizer.sep_token_id,
            *(i for i, _, _ in window),
            tokenizer.sep_token_id,
        ]
        assert feature["token_type_ids"] == [0] * 3 + [1] * (len(window) + 1)
        inside = 8 * w <= gold_first and gold_first + 1 < 8 * w + window_length
        if inside:
            s, e = feature["offsets"][feature["start_positions"]][0], feature["offsets"][feature["end_positions"]][1]
            assert context[s:e] == "東京タワー"
        else:
            assert feature["start_positions"] == feature["end_positions"] == 0
    assert features[-1]["offsets"][-2][1] == len(context)  # the last window reaches the end
    assert sum(feature["start_positions"] > 0 for feature in features) >= 2
    assert qa.window_stats(examples, features)["gold_in_window"] == 1


def test_each_context_token_counts_as_a_start_in_exactly_one_window(tokenizers):
    _, examples, features = windows_setup(tokenizers("hand_wordpiece"))
    owners: dict[tuple[int, int], int] = {}
    for w, feature in enumerate(features):
        for span, counts in zip(feature["offsets"], feature["max_context"]):
            assert not counts or span is not None
            if counts:
                assert span not in owners
                owners[span] = w
    assert len(owners) == len(token_char_spans(tokenizers("hand_wordpiece"), examples[0].texts[1]))


def test_question_is_cut_to_max_query_length_tokens(tokenizers):
    tokenizer = tokenizers("hand_wordpiece")
    question = "京都の寺を訪れた" * 12  # 72 tokens
    question_ids = tokenizer(question, add_special_tokens=False)["input_ids"]
    assert len(question_ids) > 64
    [feature] = qa.featurize(
        [example(question, "東京タワーへ行った。", "東京タワー")], tokenizer, jsquad_spec(), 384, with_token_types=False
    )
    assert feature["input_ids"][:66] == [tokenizer.cls_token_id, *question_ids[:64], tokenizer.sep_token_id]
    assert "token_type_ids" not in feature and feature["offsets"][66] == (0, 2)


# ---- decoding ----------------------------------------------------------------------------------------------


def position_of(feature: dict, char_start: int) -> int | None:
    """The input position of the context token starting at `char_start`, if this window has it."""
    return next((p for p, span in enumerate(feature["offsets"]) if span is not None and span[0] == char_start), None)


def test_decode_picks_the_best_span_over_all_windows_and_respects_max_answer_length(tokenizers):
    spec, examples, features = windows_setup(tokenizers("hand_wordpiece"), max_answer_length=3)
    context = examples[0].texts[1]
    gold = context.index("東京タワー")
    # the window where the gold's first token is best centred: the only one whose start there counts
    w, home = next(
        (w, f)
        for w, f in enumerate(features)
        if position_of(f, gold) is not None and f["max_context"][position_of(f, gold)]
    )
    first = features[0]
    assert w > 0 and first["max_context"][3]
    outputs = silent(features)
    outputs[w] = logits_picking(home, position_of(home, gold), position_of(home, gold) + 1, strength=5.0)
    # the strongest span of all, but 4 tokens long: longer than max_answer_length=3
    outputs[0] = logits_picking(first, 3, 6, strength=50.0)
    assert texts(qa.decode(outputs, features, examples, spec)) == ["東京タワー"]
    outputs[0] = logits_picking(first, 3, 5, strength=6.0)  # 3 tokens, and better than the gold's 5 + 5
    assert texts(qa.decode(outputs, features, examples, spec)) == [
        context[first["offsets"][3][0] : first["offsets"][5][1]]
    ]


def test_decode_ignores_starts_outside_their_max_context_window(tokenizers):
    spec, examples, features = windows_setup(tokenizers("hand_wordpiece"))
    first, second = features[0], features[1]
    # the last context token of window 0 is better centred in window 1: a start there only counts in window 1
    late = len(first["input_ids"]) - 2
    assert not first["max_context"][late] and second["max_context"][13]
    outputs = silent(features)
    outputs[0] = logits_picking(first, late, late, strength=50.0)
    outputs[1] = logits_picking(second, 13, 13, strength=1.0)
    context = examples[0].texts[1]
    expected, ignored = context[slice(*second["offsets"][13])], context[slice(*first["offsets"][late])]
    assert expected != ignored and texts(qa.decode(outputs, features, examples, spec)) == [expected]


def test_question_without_valid_span_predicts_empty_string(tokenizers):
    spec, examples, features = windows_setup(tokenizers("hand_wordpiece"))
    # [CLS] has the best start and end logit; with n_best_size 1 no context token is even considered
    outputs = [logits_picking(f, 0, 0, strength=1.0, background=0.0) for f in features]
    assert qa.decode(outputs, features, examples, jsquad_spec(n_best_size=1)) == [{"text": "", "start": -1, "end": -1}]


def test_batch_outputs_are_float32_rows_without_padding():
    start = torch.arange(10, dtype=torch.bfloat16).reshape(2, 5)
    outputs = SimpleNamespace(start_logits=start, end_logits=-start)
    batch = {"attention_mask": torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])}
    rows = qa.batch_outputs(outputs, batch)
    assert [len(s) for s, _ in rows] == [5, 3] and rows[1][0].dtype == np.float32
    assert rows[1][1].tolist() == [-5.0, -6.0, -7.0]


def test_score_and_rows_use_every_gold_and_character_f1():
    examples = [
        Example("a", ("q", "東京タワーへ行った。"), (("東京タワー", 0), ("タワー", 2)), 1),
        Example("b", ("q", "京都の寺"), (("京都", 0),), 2),
    ]
    predictions = [
        {"text": "タワー", "start": 2, "end": 5, "official_text": "タワー"},
        {"text": "京", "start": 0, "end": 1, "official_text": "京都の"},
    ]
    # official: q1 exact; q2 "京都の" vs "京都": common 2, P 2/3, R 1 -> F1 0.8
    assert qa.score(examples, predictions, jsquad_spec()) == pytest.approx(
        {"exact_match": 0.5, "f1": (1 + 2 / 3) / 2, "exact_match_official": 0.5, "f1_official": (1 + 0.8) / 2}
    )
    predictions = [
        {key: value for key, value in prediction.items() if key != "official_text"} for prediction in predictions
    ]
    rows = qa.prediction_rows(examples, predictions, jsquad_spec())
    assert rows[0] == {
        "id": "a",
        "gold": ["東京タワー", "タワー"],
        "prediction": "タワー",
        "start": 2,
        "end": 5,
        "exact_match": 1.0,
        "f1": 1.0,
    }
    assert rows[1]["f1"] == pytest.approx(2 / 3) and rows[1]["exact_match"] == 0.0


def test_head_asks_for_start_and_end_logits():
    assert qa.head_config(jsquad_spec()) == {"num_labels": 2}
    assert qa.AUTO_MODEL.__name__ == "AutoModelForQuestionAnswering"


# ---- real JSQuAD -------------------------------------------------------------------------------------------


def test_real_jsquad_valid_answers_fall_inside_windows(real_data, tokenizers):
    path = real_data / "jsquad-v1.3" / "valid-v1.3.json"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    tokenizer = tokenizers("bandainamco")
    spec = jsquad_spec()
    examples = [qa.to_example(row, spec) for row in read_rows(path, "squad")]
    started = time.perf_counter()
    features = qa.featurize(examples, tokenizer, spec, spec.max_seq_length, with_token_types=False)
    seconds = time.perf_counter() - started
    stats = qa.window_stats(examples, features)
    print(f"\nJSQuAD v1.3 valid, BandaiNamco tokenizer: {stats} in {seconds:.1f} s")
    assert stats["questions"] == 4442 and stats["windows"] >= 4442
    assert stats["gold_in_window"] >= 0.99 * 4442
    for feature in features[:300]:  # the labelled span is the gold text, up to tokenization
        if feature["start_positions"]:
            example_ = examples[feature["example_index"]]
            s, e = feature["offsets"][feature["start_positions"]][0], feature["offsets"][feature["end_positions"]][1]
            gold_text, gold_start = example_.label[0]
            assert s <= gold_start and gold_start + len(gold_text) <= e


def test_official_answer_is_rebuilt_from_tokens_like_jglues_script(tokenizers):
    tokenizer = tokenizers("hand_wordpiece")
    ids = tokenizer.convert_tokens_to_ids(["東京", "タワー", "[UNK]", "ガイド", "##ブック"])
    # convert_tokens_to_string gives "東京 タワー [UNK] ガイドブック"; the patch then drops every space
    assert qa.official_answer_text(tokenizer, ids) == "東京タワー[UNK]ガイドブック"
