"""llm-jp-eval's datasets as lm-eval task configs, in its own prompt or in Nejumi 3's chat messages; its scoring of
generated answers and its few-shot draw, as pieces lm-eval takes (a filter, metric functions with their
aggregations, a ContextSampler class).

What llm-jp-eval (llm-jp/llm-jp-eval v1.3.x; see configs/fewshot/presets/llm_jp_eval.yaml for what was read and
what is recalled) does, reproduced here without its code:
- the answer is the generation up to the first blank line, NFKC-normalised, stripped; the gold is NFKC-normalised;
- exact match compares the two strings (JNLI's label word, JCommonsenseQA's choice index as digits);
- JSTS: the answer loses every character that is not a digit or "." and is read as a float, -2.0 when that fails
  (so an unparseable answer counts as a very low similarity, not as a missing one); Pearson and Spearman over all
  pairs, 0.0 where the correlation is undefined (a constant answer);
- JSQuAD: "char_f1" is fuzzywuzzy's `token_sort_ratio(answer, gold) / 100` against the first gold answer:
  both strings processed (characters 128-255 dropped, every non-word character made a space, lower-cased,
  stripped), split on whitespace, tokens sorted and re-joined by one space, then 2 x matches / total length
  (the Levenshtein "ratio" of the two), rounded to a whole percent; 0 if either side is empty;
- its own train/dev split of JGLUE's train file: `random.seed(42)` shuffles the examples, the first 90% are its
  train split, and the shots of every document are the first k of that split, in that order.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections.abc import Mapping, Sequence
from statistics import fmean
from typing import Any

from jglue_bench.errors import UserError

TRAIN_SEED = 42
TRAIN_SHARE = 0.9
# get_evaluation_prompt's head (wandb/llm-leaderboard@09d66ec8 evaluate_utils/to_be_deprecated.py, language "ja")
ALPACA_HEAD = "以下は、タスクを説明する指示と、文脈のある入力の組み合わせです。要求を適切に満たす応答を書きなさい。\n\n### 指示:\n"
LAYOUTS = ("alpaca", "chat")
ANSWERS = ("llm_jp_eval", "nejumi")  # extract_answer's rule, nejumi_answer's


# --- the lm-eval config of one dataset ----------------------------------------------------------------------------


def lm_eval_entry(dataset: Mapping[str, Any], preset: Mapping[str, Any]) -> dict[str, Any]:
    """The preset entry ({scoring, config[, chat_lead]}) of one llm-jp-eval dataset (instruction, input and output
    templates over our documents, output_length, scoring) in the preset's layout:
    - alpaca, llm-jp-eval's get_evaluation_prompt: one text, the head and instruction as lm-eval's description,
      each shot "### 入力:\n{input}\n\n### 応答:\n{output}" after a blank line, greedy, stopped at a blank line;
    - chat, Nejumi 3's messages: shots as user/assistant turns, then the input, rendered by the model's chat
      template (run.py asks lm-eval for it); `chat_lead` (message_intro, the instruction) goes in front of the first
      message, which is the first shot's (llm_jp_eval_sampler marks it) or, without shots, the input's (task_config);
      generated until the end of sequence or output_length tokens, with the preset's sampling."""
    layout, answer = preset["layout"], preset.get("answer", "llm_jp_eval")
    where = f"preset {preset.get('name')!r}"
    if layout not in LAYOUTS:
        raise UserError(f"{where}: layout {layout!r}; expected one of {', '.join(LAYOUTS)}.")
    if answer not in ANSWERS:
        raise UserError(f"{where}: answer {answer!r}; expected one of {', '.join(ANSWERS)}.")
    if layout == "chat" and not preset.get("message_intro"):
        raise UserError(f"{where}: layout chat needs message_intro (the text in front of the instruction).")
    config: dict[str, Any] = {
        "num_fewshot": int(dataset["num_fewshot"]),
        "doc_to_target": dataset["output"],
        "target_delimiter": "",
        "fewshot_delimiter": "\n\n",
        "output_type": "generate_until",
    }
    entry: dict[str, Any] = {"scoring": dataset["scoring"], "answer": answer}
    if layout == "alpaca":
        config["description"] = ALPACA_HEAD + dataset["instruction"] + "\n\n"
        config["doc_to_text"] = "### 入力:\n" + dataset["input"] + "\n\n### 応答:\n"
        config["generation_kwargs"] = {"until": ["\n\n"], "do_sample": False, "max_gen_toks": dataset["output_length"]}
    else:
        config["doc_to_text"] = dataset["input"]
        config["fewshot_config"] = {"doc_to_text": "{{ _lead }}" + dataset["input"]}  # _lead: the sampler's
        generation = dict(preset.get("generation") or {"do_sample": False})
        config["generation_kwargs"] = {"until": [], **generation, "max_gen_toks": dataset["output_length"]}
        entry["chat_lead"] = preset["message_intro"] + "\n" + dataset["instruction"] + "\n\n"
    entry["config"] = config
    return entry


def lead_first_message(config: dict[str, Any], lead: str) -> None:
    """Without shots the input is the first message: the lead goes in front of it (raw: no template syntax)."""
    config["doc_to_text"] = "{% raw %}" + lead + "{% endraw %}" + config["doc_to_text"]


# --- answer extraction ------------------------------------------------------------------------------------------


def normalize(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def extract_answer(generation: str) -> str:
    """The answer llm-jp-eval scores: the text before the first blank line, NFKC-normalised, stripped."""
    return normalize(generation.split("\n\n")[0]).strip()


NEJUMI_LOWERED = ("jamp", "janli", "jnli", "jsem", "jsick")
NEJUMI_HEADS_REMOVED = ("jemhopqa", "jsquad", "niilc")
NEJUMI_STRIPPED = ("jcommonsenseqa", "commonsensemoralja", "mawps", "chabsa", "wiki_reading", "wiki_ner",
                   "wiki_dependency", "wiki_pas", "wiki_coreference")  # fmt: skip


def nejumi_answer(generation: str, task: str) -> str:
    """The answer Nejumi 3 scores (jaster.py's pipe): formatter.text_formatter for the task (NLI: stripped,
    lower-cased; QA: "応答:", "回答:", "答え:" removed, stripped, lower-cased; choices: stripped; others as they
    are), then the text before the first blank line, stripped, ' then " quotes stripped, stripped, NFKC."""
    if task in NEJUMI_LOWERED:
        generation = generation.strip().lower()
    elif task in NEJUMI_HEADS_REMOVED:
        for head in ("応答:", "回答:", "答え:"):
            generation = generation.replace(head, "")
        generation = generation.strip().lower()
    elif task in NEJUMI_STRIPPED:
        generation = generation.strip()
    answer = generation.split("\n\n")[0].strip().strip("'").strip('"').strip()
    return normalize(answer)


def parse_float(answer: str) -> float:
    """A JSTS answer as a number: every character but digits and "." removed; -2.0 when nothing parseable remains
    (llm-jp-eval's value for an unparseable similarity)."""
    cleaned = re.sub(r"[^0-9.]", "", str(answer))
    try:
        return float(cleaned)
    except ValueError:
        return -2.0


def answer_filter(answer: str = "llm_jp_eval", task: str | None = None):
    """An lm-eval Filter class applying `extract_answer` (or, for answer="nejumi", `nejumi_answer` of `task`) to
    every response (imported lazily: lm-eval is heavy)."""
    from lm_eval.api.filter import Filter

    def extract(response: str) -> str:
        return nejumi_answer(response, str(task)) if answer == "nejumi" else extract_answer(response)

    class LlmJpEvalAnswer(Filter):
        def apply(self, resps, docs):
            return [[extract(response) for response in responses] for responses in resps]

    return LlmJpEvalAnswer


# --- metrics (per document, then aggregated over the documents) -------------------------------------------------


def exact_match(references: Sequence[str], predictions: Sequence[str], **_: Any) -> float:
    return float(predictions[0] == normalize(str(references[0])))


def char_f1(references: Sequence[str], predictions: Sequence[str], **_: Any) -> float:
    return token_sort_ratio(predictions[0], normalize(str(references[0]))) / 100.0


def pearson(references: Sequence[Any], predictions: Sequence[str], **_: Any) -> tuple[float, float]:
    return float(references[0]), parse_float(predictions[0])


def spearman(references: Sequence[Any], predictions: Sequence[str], **_: Any) -> tuple[float, float]:
    return float(references[0]), parse_float(predictions[0])


def pearson_of_pairs(pairs: Sequence[tuple[float, float]]) -> float:
    from jglue_bench import metrics

    return _zero_if_undefined(metrics.pearson, pairs)


def spearman_of_pairs(pairs: Sequence[tuple[float, float]]) -> float:
    from jglue_bench import metrics

    return _zero_if_undefined(metrics.spearman, pairs)


def _zero_if_undefined(correlation, pairs) -> float:
    # llm-jp-eval reports 0.0 where scipy gives NaN (constant answers); one pair has no correlation either
    if len(pairs) < 2:
        return 0.0
    value = correlation([gold for gold, _ in pairs], [answer for _, answer in pairs])
    return 0.0 if math.isnan(value) else value


SCORING = {
    # each task's metric list in llm-jp-eval: lm-eval metric name -> (per-document function, aggregation)
    "exact_match": [(exact_match, fmean)],
    "correlation": [(pearson, pearson_of_pairs), (spearman, spearman_of_pairs)],
    "char_f1": [(char_f1, fmean)],
}


def scoring_config(scoring: str, answer: str = "llm_jp_eval", task: str | None = None) -> dict[str, Any]:
    """The lm-eval `metric_list` and `filter_list` of one llm-jp-eval scoring, answers read by `answer`'s rule."""
    metric_list = [
        {"metric": function, "aggregation": aggregation, "higher_is_better": True}
        for function, aggregation in SCORING[scoring]
    ]
    answer = answer_filter(answer, task)
    return {
        "metric_list": metric_list,
        "filter_list": [{"name": "llm_jp_eval", "filter": [{"function": answer}, {"function": "take_first"}]}],
    }


# --- char F1: fuzzywuzzy's token_sort_ratio ---------------------------------------------------------------------


def token_sort_ratio(first: str, second: str) -> int:
    """fuzzywuzzy's `fuzz.token_sort_ratio` with its defaults (force_ascii, full_process), as a whole percent."""
    first, second = _sorted_tokens(first), _sorted_tokens(second)
    if not first or not second:
        return 0
    return int(round(100 * indel_ratio(first, second)))


def _sorted_tokens(text: str) -> str:
    text = "".join(character for character in str(text) if not 128 <= ord(character) < 256)  # force_ascii
    text = re.sub(r"(?ui)\W", " ", text).lower().strip()  # full_process
    return " ".join(sorted(text.split())).strip()


def indel_ratio(first: str, second: str) -> float:
    """2 x (longest common subsequence) / (total length): python-Levenshtein's `ratio`, which fuzzywuzzy uses."""
    return 2 * longest_common_subsequence(first, second) / (len(first) + len(second))


def longest_common_subsequence(first: str, second: str) -> int:
    previous = [0] * (len(second) + 1)
    for character in first:
        current = [0]
        for index, other in enumerate(second):
            current.append(previous[index] + 1 if character == other else max(previous[index + 1], current[index]))
        previous = current
    return previous[-1]


# --- the few-shot draw -------------------------------------------------------------------------------------------


def train_split(documents: Sequence[dict[str, Any]], seed: int = TRAIN_SEED) -> list[dict[str, Any]]:
    """llm-jp-eval's train split of a JGLUE train file: shuffled by `random.seed(seed)`, the first 90%."""
    shuffled = list(documents)
    random.Random(seed).shuffle(shuffled)  # random.seed(s); random.shuffle(x) draws as Random(s).shuffle(x)
    return shuffled[: int(len(shuffled) * TRAIN_SHARE)]


def llm_jp_eval_sampler(seed: int, lead: str | None = None):
    """A ContextSampler class: every document gets the first n examples of llm-jp-eval's train split; with a
    chat `lead`, each shot carries `_lead`: the lead on the first (the first message), "" on the others."""
    from lm_eval.api.samplers import ContextSampler

    class LlmJpEvalSampler(ContextSampler):
        _split: list[dict[str, Any]] | None = None

        def sample(self, n: int, eval_doc: dict[str, Any] | None = None, df=None, **kwargs):
            if n == 0:
                return []
            if self._split is None:
                self._split = train_split(self.fewshot_docs(), seed)
            shots = self._split[:n]
            if lead is None:
                return shots
            return [{**shot, "_lead": lead if index == 0 else ""} for index, shot in enumerate(shots)]

    return LlmJpEvalSampler


# --- the share of answers in the required format -----------------------------------------------------------------


def in_format(answer: str, scoring: str, labels: Sequence[str]) -> bool:
    """Whether an extracted answer is one the task asked for: a label word or choice index (exact match), a plain
    number from 0 to 5 (JSTS; llm-jp-eval's parser would also read "約3.5点" as 3.5), or a non-empty span (JSQuAD,
    checked against the context by the caller)."""
    if scoring == "exact_match":
        return answer in labels
    if scoring == "correlation":
        try:
            return 0.0 <= float(answer) <= 5.0
        except ValueError:
            return False
    return bool(answer)
