"""jp-stable's JSQuAD scoring (Stability-AI/lm-evaluation-harness @ effdbeaf, lm_eval/jasquad/evaluate.py and
lm_eval/tasks/ja/jsquad.py), rewritten as lm-eval metric functions, and its generation length per question.

- normalisation: emoji removed (the `emoji` package's list, then five code point ranges), `neologdn.normalize`,
  whitespace collapsed; both packages are jp-stable's own requirements and an optional extra here
  (`pip install 'jglue-bench[jp-stable]'`), imported only when a run scores;
- exact match: the normalised answer equals a normalised gold; F1: over MeCab words (fugashi `Tagger("-Owakati")`,
  the dictionary fugashi finds, unidic-lite here as in jp-stable's `fugashi[unidic-lite]`) with punctuation tokens
  removed, the max over the golds; both averaged over the questions (x100 by records);
- the generation stops at a newline and at the token count of the longest gold answer (jp-stable's
  DYNAMIC_MAX_LENGTH default), counted by the model's tokenizer without special tokens.
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from importlib.util import find_spec
from statistics import fmean
from typing import Any

from jglue_bench.errors import UserError

EXTRA_PACKAGES = ("neologdn", "emoji")
PUNCTUATION = set(
    "！？｡。＂＃＄％＆＇（）＊＋，－／：；＜＝＞＠［＼］＾＿｀｛｜｝～｟｠｢｣､、〃》「」『』【】〔〕〖〗〘〙〚〛〜〝〞〟〰〾〿–—‘’‛“”„‟…‧﹏."
) | set(string.punctuation)
EMOJI_RANGES = re.compile(
    "[\U0001f600-\U0001f64f\U0001f300-\U0001f5ff\U0001f680-\U0001f6ff\U0001f1e0-\U0001f1ff\u2702-\u27b0]+"
)


def check_installed(preset: str) -> None:
    missing = [name for name in EXTRA_PACKAGES if find_spec(name) is None]
    if missing:
        raise UserError(
            f"preset {preset!r} scores JSQuAD with jp-stable's jasquad metric, which needs {' and '.join(missing)} "
            f"(not installed): pip install 'jglue-bench[jp-stable]'."
        )


def normalize_answer(text: str) -> str:
    import emoji
    import neologdn

    without_emoji = EMOJI_RANGES.sub("", "".join("" if emoji.is_emoji(character) else character for character in text))
    return " ".join(neologdn.normalize(without_emoji).split())


_tagger = None


def words(text: str) -> list[str]:
    """MeCab's words of the normalised text, punctuation tokens dropped."""
    global _tagger
    if _tagger is None:
        from fugashi import Tagger

        _tagger = Tagger("-Owakati")  # one tagger per process: building one reads the dictionary
    return [token for token in _tagger.parse(normalize_answer(text)).split() if token not in PUNCTUATION]


def word_f1(prediction: str, gold: str) -> float:
    predicted, expected = words(prediction), words(gold)
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def scores_of(doc: dict[str, Any], results: Sequence[str]) -> dict[str, float]:
    """One question's scores against every gold answer (jp-stable's metric_max_over_ground_truths); lm-eval's
    `process_results`, since a metric function would only see the first gold (the shots' target)."""
    answer, golds = results[0], list(doc["answers"]["text"])
    normalized = normalize_answer(answer)
    return {
        "exact_match": float(any(normalized == normalize_answer(gold) for gold in golds)),
        "jasquad_f1": max(word_f1(answer, gold) for gold in golds),
    }


def scoring_config() -> dict[str, Any]:
    """lm-eval's keys for jp-stable's exact match and word F1, both averaged over the questions."""
    return {
        "process_results": scores_of,
        "metric_list": [
            {"metric": name, "aggregation": fmean, "higher_is_better": True} for name in ("exact_match", "jasquad_f1")
        ],
    }


def longest_answer_tokens(tokenizer, doc: dict[str, Any]) -> int:
    return max(len(tokenizer(answer, add_special_tokens=False)["input_ids"]) for answer in doc["answers"]["text"])


def generate_up_to_the_longest_answer(task, tokenizer) -> None:
    """Each question's generation stops at the token count of its longest gold answer, as jp-stable's
    `construct_requests` asks; lm-eval's task config has one length for all, so its requests are adjusted here."""
    build = task.construct_requests

    def per_question(doc, ctx, **kwargs):
        request = build(doc, ctx, **kwargs)
        request.arguments[1]["max_gen_toks"] = longest_answer_tokens(tokenizer, doc)
        return request

    task.construct_requests = per_question
