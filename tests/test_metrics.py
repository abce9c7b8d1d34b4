"""Hand-computed tables for jglue_bench.metrics.

Every expected number below is worked out by hand in the comment beside it, never by the code under test.
JSQuAD rules being checked (JGLUE's patch of transformers' squad_metrics.py): normalise = lower(), then
rstrip("。"), then " ".join(split()); F1 over the CHARACTERS of the normalised strings, as a multiset.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from jglue_bench.metrics import (
    REGISTRY,
    accuracy,
    compute,
    jsquad_exact_match,
    jsquad_f1,
    jsquad_scores,
    macro_f1,
    mcc,
    mean_exact_match,
    mean_f1,
    normalize_jsquad_answer,
    pearson,
    problem_with,
    spearman,
)

# ---------------------------------------------------------------- accuracy

ACCURACY_CASES = [
    # 4 int labels, pairs 0=0, 1=1, 2≠1, 1=1 -> 3 right of 4 = 0.75
    ([0, 1, 2, 1], [0, 1, 1, 1], 0.75),
    # JNLI-style strings: entailment ok, neutral≠contradiction, contradiction ok -> 2/3
    (["entailment", "neutral", "contradiction"], ["entailment", "contradiction", "contradiction"], 2 / 3),
    # strings and ints mixed inside each list, same type pairwise: "a"="a", 1=1, "b"≠"c", 2=2 -> 3/4
    (["a", 1, "b", 2], ["a", 1, "c", 2], 0.75),
    # MARC-ja-style, single wrong pair -> 0/1
    (["positive"], ["negative"], 0.0),
    # all right -> 2/2
    ([0, 1], [0, 1], 1.0),
    # numpy arrays accepted: 1=1, 0≠1, 0=0, 1=1, 1≠0 -> 3/5
    (np.array([1, 0, 0, 1, 1]), np.array([1, 1, 0, 1, 0]), 0.6),
]


@pytest.mark.parametrize(("golds", "predictions", "expected"), ACCURACY_CASES)
def test_accuracy_table(golds, predictions, expected):
    assert accuracy(golds, predictions) == pytest.approx(expected)


def test_accuracy_rejects_string_golds_against_int_predictions():
    # "1" vs 1 would silently score 0; scikit-learn refuses the mix, and so do we.
    with pytest.raises(ValueError):
        accuracy(["1", "0"], [1, 0])


# ---------------------------------------------------------------- pearson / spearman

CORRELATION_CASES = [
    # perfectly linear, preds = 2*golds + 1 -> both exactly 1
    ([1, 2, 3, 4], [3, 5, 7, 9], 1.0, 1.0),
    # reversed -> both exactly -1
    ([1, 2, 3], [3, 2, 1], -1.0, -1.0),
    # golds dx = [-1,0,1], preds dy = [-1,1,0]; sum dx*dy = 1, sum dx^2 = sum dy^2 = 2 -> r = 1/2.
    # Values are already ranks 1..3, so Spearman is the same 0.5.
    ([1, 2, 3], [1, 3, 2], 0.5, 0.5),
    # monotone but not linear, y = x^2: mean x = 2.5, mean y = 30/4 = 7.5;
    # dx = [-1.5,-0.5,0.5,1.5], dy = [-6.5,-3.5,1.5,8.5];
    # sum dx*dy = 9.75+1.75+0.75+12.75 = 25; sum dx^2 = 5; sum dy^2 = 42.25+12.25+2.25+72.25 = 129;
    # Pearson = 25/sqrt(5*129) = 25/sqrt(645) = 25/25.39685 = 0.98437; Spearman = 1 (same order).
    ([1, 2, 3, 4], [1, 4, 9, 16], 0.98437, 1.0),
    # tie in golds: Pearson: mean 2, 2.5; dx = [-1,0,0,1], dy = [-1.5,-0.5,0.5,1.5];
    # sum dx*dy = 1.5+1.5 = 3; sum dx^2 = 2; sum dy^2 = 5 -> 3/sqrt(10) = 0.94868.
    # Spearman: golds ranks average the tie -> [1,2.5,2.5,4], preds ranks [1,2,3,4]; both mean 2.5;
    # dx = [-1.5,0,0,1.5], dy = [-1.5,-0.5,0.5,1.5]; sum dx*dy = 4.5; sum dx^2 = 4.5; sum dy^2 = 5
    # -> 4.5/sqrt(22.5) = sqrt(0.9) = 0.94868.
    ([1, 2, 2, 3], [1, 2, 3, 4], 0.94868, 0.94868),
    # Spearman differs from Pearson on an outlier: preds [1,2,3,100] keep order -> Spearman 1;
    # Pearson: golds [1,2,3,4] dx = [-1.5,-0.5,0.5,1.5]; mean preds = 106/4 = 26.5,
    # dy = [-25.5,-24.5,-23.5,73.5]; sum dx*dy = 38.25+12.25-11.75+110.25 = 149;
    # sum dx^2 = 5; sum dy^2 = 650.25+600.25+552.25+5402.25 = 7205 -> 149/sqrt(36025) = 149/189.803 = 0.78502.
    ([1, 2, 3, 4], [1, 2, 3, 100], 0.78502, 1.0),
]


@pytest.mark.parametrize(("golds", "predictions", "expected_pearson", "expected_spearman"), CORRELATION_CASES)
def test_pearson_table(golds, predictions, expected_pearson, expected_spearman):
    assert pearson(golds, predictions) == pytest.approx(expected_pearson, abs=1e-4)


@pytest.mark.parametrize(("golds", "predictions", "expected_pearson", "expected_spearman"), CORRELATION_CASES)
def test_spearman_table(golds, predictions, expected_pearson, expected_spearman):
    assert spearman(golds, predictions) == pytest.approx(expected_spearman, abs=1e-4)


@pytest.mark.parametrize("metric", [pearson, spearman])
@pytest.mark.parametrize(("golds", "predictions"), [([1.0, 2.0, 3.0], [2.5, 2.5, 2.5]), ([4, 4, 4], [1, 2, 3])])
def test_correlation_of_constant_input_is_nan_without_warning(metric, golds, predictions):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning, scipy's ConstantInputWarning included, fails the test
        result = metric(golds, predictions)
    assert math.isnan(result)


# ---------------------------------------------------------------- input validation


@pytest.mark.parametrize("metric", [accuracy, pearson, spearman])
@pytest.mark.parametrize(
    ("golds", "predictions", "message"), [([1, 2, 3], [1, 2], "differ in length"), ([], [], "cannot score 0")]
)
def test_bad_lengths_raise(metric, golds, predictions, message):
    with pytest.raises(ValueError, match=message):
        metric(golds, predictions)


@pytest.mark.parametrize("metric", [pearson, spearman])
def test_correlation_of_a_single_pair_raises(metric):
    with pytest.raises(ValueError, match="at least 2 pairs"):
        metric([1.0], [1.0])


# ---------------------------------------------------------------- macro F1 and MCC

MACRO_F1_CASES = [
    # class 0: TP 1, FP 1, FN 1 -> F1 0.5; class 1: TP 2, FP 1, FN 0 -> P 2/3, R 1, F1 0.8;
    # class 2: TP 0, FN 1 -> F1 0; mean (0.5 + 0.8 + 0) / 3 = 0.43333...
    ([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], 1.3 / 3),
    # strings: a: P 1, R 1/2 -> 2/3; b: P 1/2, R 1 -> 2/3; mean 2/3
    (["a", "a", "b"], ["a", "b", "b"], 2 / 3),
    ([1, 2, 3], [1, 2, 3], 1.0),  # perfect
    # a class predicted but never gold counts (F1 0): golds all 0, one 1 predicted -> class 0 F1 = 2*1*(2/3)/(5/3)
    # = 0.8, class 1 F1 0 -> 0.4
    ([0, 0, 0], [0, 0, 1], 0.4),
]

MCC_CASES = [
    # TP 2, FN 1, TN 1, FP 1: (2*1 - 1*1) / sqrt(3*3*2*2) = 1/6
    ([1, 1, 1, 0, 0], [1, 1, 0, 0, 1], 1 / 6),
    ([0, 1, 0, 1], [0, 1, 0, 1], 1.0),  # perfect
    ([0, 1, 0, 1], [1, 0, 1, 0], -1.0),  # always wrong
    ([0, 1, 1, 1], [1, 1, 1, 1], 0.0),  # a constant prediction: undefined, 0 by definition (the majority baseline)
    ([0, 1, 2], [0, 1, 2], 1.0),  # multi-class perfect
]


@pytest.mark.parametrize("golds, predictions, expected", MACRO_F1_CASES)
def test_macro_f1_by_hand(golds, predictions, expected):
    assert macro_f1(golds, predictions) == pytest.approx(expected)


@pytest.mark.parametrize("golds, predictions, expected", MCC_CASES)
def test_mcc_by_hand(golds, predictions, expected):
    assert mcc(golds, predictions) == pytest.approx(expected)


def test_qa_means_average_per_question():
    golds = [["東京"], ["京都", "京都府"]]
    # q1: "東京" exact (EM 1, F1 1); q2: "京都府庁" vs "京都府": common 3, P 3/4, R 1 -> F1 6/7; EM 0
    assert mean_exact_match(golds, ["東京", "京都府庁"]) == pytest.approx(0.5)
    assert mean_f1(golds, ["東京", "京都府庁"]) == pytest.approx((1 + 6 / 7) / 2)


def test_registry_says_which_kinds_each_metric_fits():
    assert {name for name, metric in REGISTRY.items() if "classification" in metric.kinds} == {
        "accuracy",
        "macro_f1",
        "mcc",
    }
    assert REGISTRY["pearson"].kinds == ("regression",)
    assert REGISTRY["f1"].kinds == ("extractive_qa",)
    assert compute(["accuracy", "mcc"], [1, 1, 1, 0, 0], [1, 1, 0, 0, 1]) == pytest.approx(
        {"accuracy": 0.6, "mcc": 1 / 6}
    )


@pytest.mark.parametrize(
    "name, kind, message",
    [
        (
            "macro_f",
            "classification",
            "unknown metric 'macro_f' (did you mean 'macro_f1'?); a classification task can "
            "use accuracy, macro_f1, mcc",
        ),
        ("pearson", "classification", "metric 'pearson' scores regression tasks; a classification task can use"),
        ("accuracy", "regression", "metric 'accuracy' scores classification and multiple_choice tasks"),
    ],
)
def test_a_metric_that_is_unknown_or_does_not_fit_is_named(name, kind, message):
    assert message in problem_with(name, kind)
    assert problem_with("mcc", "multiple_choice") is None


# ---------------------------------------------------------------- JSQuAD normalisation

NORMALIZE_CASES = [
    ("東京。", "東京"),  # trailing 。 stripped
    ("東京。。", "東京"),  # rstrip removes every trailing 。
    ("東。京", "東。京"),  # inner 。 kept
    ("。", ""),  # only 。 -> empty
    ("", ""),
    ("JGLUE", "jglue"),  # lower-cased
    ("ＪＧＬＵＥ", "ｊｇｌｕｅ"),  # full-width lower-cased but NOT folded to ASCII (no NFKC)
    ("ｶﾞ", "ｶﾞ"),  # half-width kana untouched (no NFKC)
    ("  東京   駅 ", "東京 駅"),  # leading/trailing dropped, inner run collapsed to one space
    ("東京\u3000駅", "東京 駅"),  # ideographic space is whitespace for str.split()
    ("東京。 ", "東京。"),  # rstrip runs BEFORE whitespace collapse: the space shields the 。
    ("東京 。", "東京"),  # 。 stripped first, then the dangling space goes
    ("「東京」、", "「東京」、"),  # no punctuation removal
    ("The Tokyo!", "the tokyo!"),  # no article removal, no ASCII punctuation removal
]


@pytest.mark.parametrize(("text", "expected"), NORMALIZE_CASES)
def test_normalize_jsquad_answer_table(text, expected):
    assert normalize_jsquad_answer(text) == expected


# ---------------------------------------------------------------- JSQuAD EM / F1 per question

JSQUAD_CASES = [
    # exact match
    ("東京", ["東京"], 1.0, 1.0),
    # trailing 。 on the prediction only -> both normalise to 東京
    ("東京。", ["東京"], 1.0, 1.0),
    # trailing 。。 -> 東京
    ("東京。。", ["東京"], 1.0, 1.0),
    # trailing 。 on the gold only
    ("東京", ["東京。"], 1.0, 1.0),
    # inner 。 kept: pred chars 東,京,。,大,阪 (5), gold 東,京,大,阪 (4), common 4;
    # P=4/5, R=4/4 -> F1 = 2*0.8*1/1.8 = 8/9 = 0.8889
    ("東京。大阪", ["東京大阪"], 0.0, 8 / 9),
    # "。 " at the end: pred -> "東京。" (3 chars), gold 東京 (2), common 2; P=2/3, R=1 -> F1 = (4/3)/(5/3) = 0.8
    ("東京。 ", ["東京"], 0.0, 0.8),
    # Latin upper vs lower case -> equal after lower()
    ("JGLUE", ["jglue"], 1.0, 1.0),
    # full-width vs ASCII: ｊｇｌｕｅ vs jglue share no character -> EM 0, F1 0 (no NFKC)
    ("ＪＧＬＵＥ", ["JGLUE"], 0.0, 0.0),
    # full-width upper vs full-width lower -> equal after lower()
    ("ＪＧＬＵＥ", ["ｊｇｌｕｅ"], 1.0, 1.0),
    # leading/trailing spaces dropped
    ("  東京  ", ["東京"], 1.0, 1.0),
    # multiple inner spaces collapse to one -> "東京 駅" on both sides
    ("東京   駅", ["東京 駅"], 1.0, 1.0),
    # the inner space is a character: pred 東,京,' ',駅 (4), gold 東,京,駅 (3), common 3;
    # P=3/4, R=3/3 -> F1 = 2*0.75*1/1.75 = 6/7 = 0.8571
    ("東京 駅", ["東京駅"], 0.0, 6 / 7),
    # partial overlap: common chars 東,京 -> 2; P=2/3, R=2/4 -> F1 = 2*(2/3)*(1/2)/(2/3+1/2) = (2/3)/(7/6) = 4/7
    ("東京駅", ["東京都庁"], 0.0, 4 / 7),
    # repeated chars, Counter min: pred は×3, gold は×2 -> common 2; P=2/3, R=2/2 -> F1 = (4/3)/(5/3) = 0.8
    ("ははは", ["はは"], 0.0, 0.8),
    # Counter, not set: pred {あ:2, い:1}, gold {あ:1, い:2} -> common あ1+い1 = 2; P=R=2/3 -> F1 = 2/3
    # (comparing character sets instead would see {あ,い} = {あ,い} and wrongly give 1.0)
    ("ああい", ["あいい"], 0.0, 2 / 3),
    # several golds, max taken: EM via the 3rd gold; F1 max = 1 from the 3rd gold
    ("東京", ["大阪", "東京都", "東京"], 1.0, 1.0),
    # several golds, F1 max from the best partial: vs 大阪 -> 0; vs 東京 -> common 2, P=2/3, R=2/2 -> 0.8
    ("東京駅", ["大阪", "東京"], 0.0, 0.8),
    # gold "。" normalises to "" and is dropped -> golds = [東京]; the empty prediction gets 0, not 1
    ("", ["。", "東京"], 0.0, 0.0),
    # gold "  " likewise dropped -> golds = [大阪]; no common char -> 0
    ("東京", ["  ", "大阪"], 0.0, 0.0),
    # all golds empty -> golds = [""]; empty prediction agrees with "no answer" -> 1, 1
    ("", ["", " 。"], 1.0, 1.0),
    # no golds at all -> [""] as well
    ("", [], 1.0, 1.0),
    # all golds empty, non-empty prediction -> 0, 0
    ("東京", [""], 0.0, 0.0),
    # empty prediction against a real answer -> 0, 0
    ("", ["東京"], 0.0, 0.0),
    # prediction "。" normalises to "" -> same as empty prediction
    ("。", ["東京"], 0.0, 0.0),
]


@pytest.mark.parametrize(("prediction", "golds", "expected_em", "expected_f1"), JSQUAD_CASES)
def test_jsquad_exact_match_table(prediction, golds, expected_em, expected_f1):
    assert jsquad_exact_match(prediction, golds) == expected_em


@pytest.mark.parametrize(("prediction", "golds", "expected_em", "expected_f1"), JSQUAD_CASES)
def test_jsquad_f1_table(prediction, golds, expected_em, expected_f1):
    assert jsquad_f1(prediction, golds) == pytest.approx(expected_f1)


def test_jsquad_golds_as_a_bare_string_is_refused():
    with pytest.raises(TypeError, match="list of answer strings"):
        jsquad_f1("東京", "東京")


# ---------------------------------------------------------------- JSQuAD over a data set

JSQUAD_GOLDS = {"q1": ["東京"], "q2": ["東京都庁"], "q3": ["大阪"]}

JSQUAD_SCORES_CASES = [
    # q1 東京 vs 東京: EM 1, F1 1; q2 東京駅 vs 東京都庁: EM 0, F1 4/7 (see above);
    # q3 大阪。 vs 大阪: EM 1, F1 1
    # -> EM = 2/3 = 0.6667; F1 = (1 + 4/7 + 1)/3 = (18/7)/3 = 6/7 = 0.8571
    ({"q1": "東京", "q2": "東京駅", "q3": "大阪。"}, JSQUAD_GOLDS, 2 / 3, 6 / 7),
    # q3 missing -> scored as "" vs 大阪: EM 0, F1 0; still divided by 3 questions
    # -> EM = 1/3 = 0.3333; F1 = (1 + 4/7 + 0)/3 = (11/7)/3 = 11/21 = 0.5238
    ({"q1": "東京", "q2": "東京駅"}, JSQUAD_GOLDS, 1 / 3, 11 / 21),
    # q3 missing but unanswerable (gold [""]) -> "" vs "": EM 1, F1 1
    # -> EM = 2/3; F1 = (1 + 4/7 + 1)/3 = 6/7
    ({"q1": "東京", "q2": "東京駅"}, {**JSQUAD_GOLDS, "q3": [""]}, 2 / 3, 6 / 7),
    # no predictions at all -> every question 0 -> 0, 0
    ({}, JSQUAD_GOLDS, 0.0, 0.0),
]


@pytest.mark.parametrize(("predictions", "golds", "expected_em", "expected_f1"), JSQUAD_SCORES_CASES)
def test_jsquad_scores_table(predictions, golds, expected_em, expected_f1):
    scores = jsquad_scores(predictions, golds)
    assert set(scores) == {"exact_match", "f1"}
    assert scores["exact_match"] == pytest.approx(expected_em)
    assert scores["f1"] == pytest.approx(expected_f1)


def test_jsquad_scores_rejects_predictions_for_unknown_ids():
    predictions = {"q1": "東京", "q9": "大阪", "q7": "京都"}
    with pytest.raises(ValueError, match=r"not in the golds: 'q7', 'q9'"):
        jsquad_scores(predictions, JSQUAD_GOLDS)


def test_jsquad_scores_rejects_empty_golds():
    with pytest.raises(ValueError, match="no gold questions"):
        jsquad_scores({}, {})
