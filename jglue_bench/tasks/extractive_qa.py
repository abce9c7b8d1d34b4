"""Extractive QA (JSQuAD): find the answer span in the context; character-level exact match and F1.

Follows the protocol of the legacy transformers `run_squad.py` that JGLUE used: the question is cut to
`max_query_length` tokens; the context is cut into windows of [CLS] question [SEP] window [SEP] whose starts
are `doc_stride` tokens apart (BERT's meaning of doc_stride: the step between windows, not their overlap as in
the newer `run_qa.py`); a start token counts only in the window where it has the most context; the n-best spans
of all windows of a question compete on start + end logit. One deliberate difference: the answer is sliced
from the ORIGINAL context by character offsets (tokenization/alignment.py), never rebuilt from tokens, so
`ＪＧＬＵＥ` comes back as written and not as the tokenizer's `jglue`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from transformers import AutoModelForQuestionAnswering

from jglue_bench import metrics
from jglue_bench.data.readers import Row
from jglue_bench.errors import DataError, UserError
from jglue_bench.tasks.common import Example, example_id, integer_field, model_forward, text_field
from jglue_bench.tasks.spec import TaskSpec
from jglue_bench.tokenization.alignment import token_char_spans
from jglue_bench.tokenization.fast import encoder_for
from jglue_bench.tokenization.layout import pair_template, text_ids

AUTO_MODEL = AutoModelForQuestionAnswering
forward = model_forward
DEFAULTS = {"doc_stride": 128, "max_query_length": 64, "n_best_size": 20, "max_answer_length": 30}
CLS_INDEX = 0  # where run_qa/run_squad point the labels when the answer is not in the window


def qa_setting(spec: TaskSpec, key: str) -> int:
    return int(spec.qa.get(key, DEFAULTS[key]))


def to_example(row: Row, spec: TaskSpec, labelled: bool = True) -> Example:
    """texts = (question, context); label = ((answer text, answer_start), ...), every answer checked to be
    exactly at its answer_start in the context. Answers come from a SQuAD `answers` list, or from one
    `answer_text` and `answer_start` column (CSV, TSV)."""
    # SQuAD's own "id" unless `fields` names another; a file with neither gets row numbers
    question_id = example_id(row, spec.fields.get("id", "id" if "id" in row.values else None))
    question = text_field(row, _key(spec, "question"))
    context = text_field(row, _key(spec, "context"))
    if not labelled:
        return Example(question_id, (question, context), None, row.where)
    answers = _raw_answers(row, spec)
    if not answers or row.values.get("is_impossible") is True:
        raise DataError.at(
            row.path,
            row.where,
            _key(spec, "answers"),
            f"at least one answer for question "
            f"{question_id!r}; unanswerable (SQuAD 2.0) questions are not supported, since JSQuAD "
            f"and the SQuAD v1.1 protocol have none",
            found=answers,
        )
    return Example(
        question_id,
        (question, context),
        tuple(
            _checked_answer(answer, k, context, question_id, row, _key(spec, "answers"))
            for k, answer in enumerate(answers)
        ),
        row.where,
    )


def _key(spec: TaskSpec, name: str) -> str:
    """The record key of a SQuAD field: SQuAD's own name unless the task YAML's `fields` renames it."""
    return str(spec.fields.get(name, name))


def _raw_answers(row: Row, spec: TaskSpec) -> list:
    if "answer_text" in spec.fields:
        text_key, start_key = spec.fields["answer_text"], spec.fields.get("answer_start", "answer_start")
        start = integer_field(row, start_key, "an integer character offset into the context")
        return [{"text": text_field(row, text_key), "answer_start": start}]
    key = _key(spec, "answers")
    answers = row.values.get(key)
    if not isinstance(answers, list):
        expected = "a list of {text, answer_start} objects"
        raise DataError.at(row.path, row.where, key, expected, found=answers, missing=key not in row.values)
    return answers


def _checked_answer(
    answer: Any, k: int, context: str, question_id: str, row: Row, answers_field: str
) -> tuple[str, int]:
    name = f"{answers_field}[{k}]"
    if not isinstance(answer, dict):
        raise DataError.at(row.path, row.where, name, "an object {text, answer_start}", found=answer)
    text, start = answer.get("text"), answer.get("answer_start")
    if not isinstance(text, str) or not text:
        raise DataError.at(
            row.path, row.where, f"{name}.text", "a non-empty answer string", found=text, missing="text" not in answer
        )
    if isinstance(start, bool) or not isinstance(start, int):
        raise DataError.at(
            row.path,
            row.where,
            f"{name}.answer_start",
            "an integer character offset",
            found=start,
            missing="answer_start" not in answer,
        )
    if not 0 <= start <= len(context) - len(text):
        raise DataError.at(
            row.path,
            row.where,
            f"{name}.answer_start",
            f"an offset from 0 to "
            f"{len(context) - len(text)} for the answer {text!r} of question {question_id!r} "
            f"(the context has {len(context)} characters); it is out of range",
            found=start,
        )
    if context[start : start + len(text)] != text:
        elsewhere = context.find(text)
        hint = f"it occurs at offset {elsewhere}" if elsewhere >= 0 else "it does not occur in the context at all"
        raise DataError.at(
            row.path,
            row.where,
            f"{name}.answer_start",
            f"the character offset of the answer "
            f"{text!r} of question {question_id!r} ({hint}; the context has "
            f"{context[start : start + len(text)]!r} there)",
            found=start,
        )
    return text, start


def head_config(spec: TaskSpec) -> dict[str, Any]:
    return {"num_labels": 2}  # a start and an end logit per token


def featurize(
    examples: Sequence[Example], tokenizer, spec: TaskSpec, max_seq_length: int, with_token_types: bool
) -> list[dict]:
    """One feature per window. Model inputs: input_ids, attention_mask, [token_type_ids], start_positions,
    end_positions. For decoding only: example_index, offsets (per token (start, end) in the context, None
    outside it) and max_context (whether a start at this token counts in this window)."""
    max_query_length, doc_stride = qa_setting(spec, "max_query_length"), qa_setting(spec, "doc_stride")
    encoder = encoder_for(tokenizer)  # the fast path for questions; contexts need character offsets
    template = pair_template(tokenizer)  # [CLS] q [SEP] window [SEP], or the family's own layout
    context_tokens: dict[str, list[tuple[int, int, int]]] = {}  # contexts repeat across questions: tokenize once
    features: list[dict] = []
    for index, example in enumerate(examples):
        question, context = example.texts
        if context not in context_tokens:
            context_tokens[context] = token_char_spans(tokenizer, context)
        question_ids = (encoder.ids(question) if encoder is not None else text_ids(tokenizer, question))[
            :max_query_length
        ]
        window_length = max_seq_length - len(question_ids) - template.special_count
        if window_length < 1:
            raise UserError(
                f"max_seq_length {max_seq_length} leaves no room for the context after a question of "
                f"{len(question_ids)} tokens; raise max_seq_length or lower max_query_length."
            )
        tokens = context_tokens[context]
        starts = window_starts(len(tokens), window_length, doc_stride)
        gold = gold_token_span(tokens, example.label[0]) if example.label else None  # None: unlabelled
        for start, max_context in zip(starts, max_context_flags(len(tokens), starts, window_length)):
            window = tokens[start : start + window_length]
            features.append(
                _window_feature(template, question_ids, window, start, max_context, gold, index, with_token_types)
            )
    return features


def window_starts(n_tokens: int, window_length: int, doc_stride: int) -> list[int]:
    """First context token of each window: 0, stride, 2 x stride, ... until a window reaches the end."""
    step = max(1, min(doc_stride, window_length))  # a step longer than a window would skip tokens
    starts = [0]
    while starts[-1] + window_length < n_tokens:
        starts.append(starts[-1] + step)
    return starts


def max_context_flags(n_tokens: int, starts: Sequence[int], window_length: int) -> list[list[bool]]:
    """Per window, per token: is this the window where the token has the most context (run_squad's
    score min(left, right) + 0.01 x window length; the first window wins ties)."""
    best_window = [-1] * n_tokens
    best_score = [float("-inf")] * n_tokens
    for w, start in enumerate(starts):
        end = min(start + window_length, n_tokens)
        for position in range(start, end):
            score = min(position - start, end - 1 - position) + 0.01 * (end - start)
            if score > best_score[position]:
                best_window[position], best_score[position] = w, score
    return [
        [best_window[p] == w for p in range(start, min(start + window_length, n_tokens))]
        for w, start in enumerate(starts)
    ]


def gold_token_span(tokens: Sequence[tuple[int, int, int]], answer: tuple[str, int]) -> tuple[int, int] | None:
    """Indices of the first and last context tokens the answer's characters fall in; None if it covers none."""
    text, answer_start = answer
    answer_end = answer_start + len(text)
    covered = [i for i, (_, start, end) in enumerate(tokens) if start < answer_end and end > answer_start]
    return (covered[0], covered[-1]) if covered else None


def _window_feature(
    template,
    question_ids: list[int],
    window: Sequence[tuple[int, int, int]],
    start: int,
    max_context: list[bool],
    gold: tuple[int, int] | None,
    example_index: int,
    with_token_types: bool,
) -> dict:
    input_ids, token_types, offset = template.join(question_ids, [token_id for token_id, _, _ in window])
    after = len(input_ids) - offset - len(window)  # special tokens after the window
    start_position = end_position = CLS_INDEX
    if gold is not None and start <= gold[0] and gold[1] < start + len(window):
        start_position, end_position = offset + gold[0] - start, offset + gold[1] - start
    feature = {"input_ids": input_ids, "attention_mask": [1] * len(input_ids)}
    if with_token_types:
        feature["token_type_ids"] = token_types
    feature.update(
        start_positions=start_position,
        end_positions=end_position,
        example_index=example_index,
        offsets=[None] * offset + [(s, e) for _, s, e in window] + [None] * after,
        max_context=[False] * offset + list(max_context) + [False] * after,
    )
    return feature


def batch_outputs(outputs, batch) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per feature: (start logits, end logits) as float32 numpy, padding removed."""
    starts = outputs.start_logits.detach().float().cpu().numpy()
    ends = outputs.end_logits.detach().float().cpu().numpy()
    if "attention_mask" not in batch:
        return list(zip(starts, ends))
    masks = batch["attention_mask"].detach().cpu().numpy().astype(bool)
    return [(start[mask], end[mask]) for start, end, mask in zip(starts, ends, masks)]


def span_candidates(
    start_logits: np.ndarray,
    end_logits: np.ndarray,
    feature: Mapping[str, Any],
    n_best_size: int,
    max_answer_length: int,
) -> list[tuple[float, int, int, int, int]]:
    """(score, context char start, context char end, start token, end token) of the valid spans among the n-best
    start and end tokens of one window, in run_squad's order (best start first, then best end)."""
    offsets, max_context = feature["offsets"], feature["max_context"]
    best_starts = np.argsort(-start_logits, kind="stable")[:n_best_size]
    best_ends = np.argsort(-end_logits, kind="stable")[:n_best_size]
    found = []
    for s in best_starts:
        if s >= len(offsets) or offsets[s] is None or not max_context[s]:
            continue
        for e in best_ends:
            if e >= len(offsets) or offsets[e] is None or e < s or e - s + 1 > max_answer_length:
                continue
            found.append((float(start_logits[s] + end_logits[e]), offsets[s][0], offsets[e][1], int(s), int(e)))
    return found


def decode(
    feature_outputs: Sequence[tuple[np.ndarray, np.ndarray]],
    features: Sequence[dict],
    examples: Sequence[Example],
    spec: TaskSpec,
    tokenizer=None,
) -> list[dict]:
    """The best-scoring span over all windows of each question: {text, start, end}, the text sliced from the
    original context (empty, at -1, when no window allows a span); with a tokenizer also `official_text`, the
    answer rebuilt from its tokens as JGLUE's patched script does (see official_answer_text)."""
    n_best_size, max_answer_length = qa_setting(spec, "n_best_size"), qa_setting(spec, "max_answer_length")
    best: list[tuple | None] = [None] * len(examples)
    for position, ((start_logits, end_logits), feature) in enumerate(zip(feature_outputs, features)):
        index = feature["example_index"]
        for candidate in span_candidates(
            np.asarray(start_logits), np.asarray(end_logits), feature, n_best_size, max_answer_length
        ):
            if best[index] is None or candidate[0] > best[index][0]:  # strict: earlier candidates win ties
                best[index] = (*candidate, position)
    predictions = []
    for example, span in zip(examples, best):
        if span is None:
            predictions.append({"text": "", "start": -1, "end": -1, **({"official_text": ""} if tokenizer else {})})
            continue
        _, start, end, first, last, position = span
        prediction = {"text": example.texts[1][start:end], "start": start, "end": end}
        if tokenizer is not None:
            ids = features[position]["input_ids"][first : last + 1]
            prediction["official_text"] = official_answer_text(tokenizer, [int(i) for i in ids])
        predictions.append(prediction)
    return predictions


def official_answer_text(tokenizer, token_ids: Sequence[int]) -> str:
    """The answer as JGLUE's patched legacy run_squad makes it for BertJapaneseTokenizer: the span's tokens
    joined by `convert_tokens_to_string`, whitespace collapsed, then every space removed. So NFKC and
    lower-casing show (`ＪＧＬＵＥ` comes back as `jglue`), `（` as `(`, and an unknown character as `[UNK]`: how
    the published JSQuAD numbers were made. (The script cut the context at spaces before tokenizing; we
    tokenize the context whole, so the tokens can differ next to a space.)"""
    text = tokenizer.convert_tokens_to_string(tokenizer.convert_ids_to_tokens(list(token_ids)))
    return "".join(text.split())


def gold_texts(example: Example) -> list[str]:
    return [text for text, _ in example.label]


def score(examples: Sequence[Example], predictions: Sequence[dict], spec: TaskSpec) -> dict[str, float]:
    """The task's metrics; *_official ones score the answers rebuilt from tokens (JGLUE's way)."""
    golds = [gold_texts(example) for example in examples]
    return {
        name: metrics.REGISTRY[name].function(
            golds, [prediction[metrics.REGISTRY[name].reads] for prediction in predictions]
        )
        for name in spec.metrics
    }


def prediction_rows(examples: Sequence[Example], predictions: Sequence[dict], spec: TaskSpec) -> list[dict]:
    rows = []
    for example, prediction in zip(examples, predictions):
        golds = gold_texts(example)
        row = {
            "id": example.id,
            "gold": golds,
            "prediction": prediction["text"],
            "start": prediction["start"],
            "end": prediction["end"],
            "exact_match": metrics.jsquad_exact_match(prediction["text"], golds),
            "f1": metrics.jsquad_f1(prediction["text"], golds),
        }
        if "official_text" in prediction:
            row.update(
                official_prediction=prediction["official_text"],
                exact_match_official=metrics.jsquad_exact_match(prediction["official_text"], golds),
                f1_official=metrics.jsquad_f1(prediction["official_text"], golds),
            )
        rows.append(row)
    return rows


def output_rows(examples: Sequence[Example], feature_outputs, features: Sequence[dict], spec: TaskSpec) -> list[dict]:
    """For `predict`: the question, the chosen answer and its character offsets in the context."""
    answers = decode(feature_outputs, features, examples, spec)
    return [
        {
            "id": example.id,
            "question": example.texts[0],
            "prediction": answer["text"],
            "start": answer["start"],
            "end": answer["end"],
        }
        for example, answer in zip(examples, answers)
    ]


def window_stats(examples: Sequence[Example], features: Sequence[dict]) -> dict[str, int | float]:
    """How many questions have their first gold answer wholly inside at least one window."""
    inside = {feature["example_index"] for feature in features if feature["start_positions"] != CLS_INDEX}
    answered = sum(1 for example in examples if example.label)
    return {
        "questions": len(examples),
        "windows": len(features),
        "questions_with_answer": answered,
        "gold_in_window": len(inside),
        "gold_in_window_fraction": len(inside) / answered if answered else 1.0,
    }


def label_summary(examples: Sequence[Example], spec: TaskSpec) -> str:
    counts = [len(example.label) for example in examples]
    return f"gold answers per question mean {sum(counts) / len(counts):.2f}, max {max(counts)}"


def text_names(spec: TaskSpec) -> list[str]:
    return [_key(spec, "question"), _key(spec, "context")]
