"""The oracle: the best JSQuAD score a perfect model could reach with whole-token spans."""

from __future__ import annotations

import pytest
from test_extractive_qa import jsquad_spec

from jglue_bench.data.readers import read_rows
from jglue_bench.prepare.oracle import format_oracle, gold_occurrences, oracle_scores
from jglue_bench.tasks import extractive_qa as qa
from jglue_bench.tasks.common import Example

# IPADIC words, all in the hand-written vocabulary: 京都|の|寺|を|訪れ|た|。|東京|タワー|へ|行っ|た|。
CONTEXT = "京都の寺を訪れた。東京タワーへ行った。"


def question(index: int, *answers: str) -> Example:
    label = tuple((answer, CONTEXT.index(answer)) for answer in answers)
    return Example(f"q{index}", ("どこ?", CONTEXT), label, index)


def oracle(examples, tokenizer, spec, max_seq_length):
    return oracle_scores(examples, qa.featurize(examples, tokenizer, spec, max_seq_length, False), spec)


def test_answers_on_token_boundaries_are_reachable_exactly(tokenizers):
    examples = [question(0, "東京タワー"), question(1, "寺"), question(2, "行った。")]
    result = oracle(examples, tokenizers("hand_wordpiece"), jsquad_spec(), 384)
    assert result["exact_match"] == 1.0 and result["f1"] == 1.0
    assert result["questions"] == result["windows"] == result["gold_in_window"] == 3
    assert result["gold_on_token_boundaries"] == 3


def test_answers_inside_words_cap_the_score(tokenizers):
    # "京タワー" starts inside 東京: the best spans are 東京タワー (F1 8/9) and タワー (6/7).
    # "タワ" ends inside タワー: the best span is タワー (precision 2/3, recall 1: F1 0.8).
    examples = [question(0, "東京タワー"), question(1, "京タワー"), question(2, "タワ")]
    result = oracle(examples, tokenizers("hand_wordpiece"), jsquad_spec(), 384)
    assert result["exact_match"] == pytest.approx(1 / 3)
    assert result["f1"] == pytest.approx((1 + 8 / 9 + 0.8) / 3)
    assert result["gold_on_token_boundaries"] == 1 and result["gold_in_window"] == 3
    table = format_oracle(result)
    assert "33.33" in table and f"{100 * (1 + 8 / 9 + 0.8) / 3:.2f}" in table and "1 (33.33%)" in table


def test_any_gold_answer_counts(tokenizers):
    result = oracle([question(0, "京タワー", "東京タワー")], tokenizers("hand_wordpiece"), jsquad_spec(), 384)
    assert result["exact_match"] == 1.0 and result["gold_on_token_boundaries"] == 0  # the first gold decides


def test_windows_too_short_for_the_answer_cap_the_score(tokenizers):
    # one context token per window: 東京タワー (2 tokens) fits no window, and the best single token is タワー
    # (precision 1, recall 3/5: F1 0.75).
    tokenizer = tokenizers("hand_wordpiece")
    one_token_windows = 3 + len(tokenizer.tokenize("どこ?")) + 1  # [CLS] question [SEP] one token [SEP]
    result = oracle([question(0, "東京タワー")], tokenizer, jsquad_spec(), one_token_windows)
    assert result["gold_in_window"] == 0 and result["windows"] == len(tokenizer.tokenize(CONTEXT))
    assert result["exact_match"] == 0.0 and result["f1"] == pytest.approx(0.75)


def test_only_spans_the_decoder_accepts_count(tokenizers):
    # Windows of two context tokens, one token apart: a token is best centred (a tie, won by the earlier window)
    # in the window where it comes last, so the decoder takes no two-token span at all, although the gold
    # 東京タワー lies wholly inside the window that starts at 東京.
    tokenizer = tokenizers("hand_wordpiece")
    two_token_windows = 3 + len(tokenizer.tokenize("どこ?")) + 2
    result = oracle([question(0, "東京タワー")], tokenizer, jsquad_spec(doc_stride=1), two_token_windows)
    assert result["gold_in_window"] == 1
    assert result["exact_match"] == 0.0 and result["f1"] == pytest.approx(0.75)


def test_max_answer_length_caps_the_score(tokenizers):
    result = oracle([question(0, "東京タワー")], tokenizers("hand_wordpiece"), jsquad_spec(max_answer_length=1), 384)
    assert result["gold_in_window"] == 1 and result["exact_match"] == 0.0 and result["f1"] == pytest.approx(0.75)


def test_oracle_answers_keep_the_original_characters(tokenizers):
    context = "解説 [SEP] 彼はＪＧＬＵＥを読んだ。"
    example = Example("q", ("何?", context), (("ＪＧＬＵＥ", context.index("ＪＧＬＵＥ")),), 0)
    result = oracle([example], tokenizers("tiny"), jsquad_spec(), 384)
    assert result["exact_match"] == 1.0  # the tiny tokenizer reads it as "jglue"; the oracle slices the original


def test_real_jsquad_oracle_is_close_to_perfect(real_data, tokenizers):
    path = real_data / "jsquad-v1.3" / "valid-v1.3.json"
    if not path.is_file():
        pytest.skip(f"{path} is missing")
    spec = jsquad_spec()
    examples = [qa.to_example(row, spec) for row in read_rows(path, "squad")][:400]
    result = oracle(examples, tokenizers("bandainamco"), spec, spec.max_seq_length)
    print("\n" + format_oracle(result))
    assert result["questions"] == 400 and result["gold_in_window"] == 400
    assert 0.95 <= result["exact_match"] <= result["f1"] <= 1.0


def test_every_place_a_gold_text_stands_counts():
    context = "東京タワーと東京タワー"
    example = Example("q", ("どこ?", context), (("東京タワー", 0),), 0)
    assert gold_occurrences(example) == {(0, 5), (6, 11)}


def test_the_ceiling_of_answers_rebuilt_from_tokens_is_reported_too(tokenizers):
    # 東京タワー is two whole tokens: rebuilt, it is the same text. ＪＧＬＵＥ (tiny lower-cases and NFKCs it)
    # comes back as "jglue" from its tokens: no exact match, and no common character, the JGLUE way.
    tiny = tokenizers("tiny")
    context = "解説 [SEP] 彼はＪＧＬＵＥを読んだ。"
    examples = [
        question(0, "東京タワー"),
        Example("q1", ("何?", context), (("ＪＧＬＵＥ", context.index("ＪＧＬＵＥ")),), 1),
    ]
    result = oracle_scores(examples, qa.featurize(examples, tiny, jsquad_spec(), 384, False), jsquad_spec(), tiny)
    assert result["exact_match"] == 1.0 and result["f1"] == 1.0
    assert result["exact_match_official"] == pytest.approx(0.5) and result["f1_official"] == pytest.approx(0.5)
    assert "rebuilt from tokens (JGLUE)" in format_oracle(result)
