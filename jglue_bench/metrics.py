"""Scoring functions that reproduce the official JGLUE evaluation.

JGLUE scores MARC-ja, JNLI and JCommonsenseQA with accuracy, JCoLA with MCC and accuracy, JSTS with
Pearson and Spearman correlation (the GLUE "stsb" metric, i.e. scipy's pearsonr/spearmanr), and JSQuAD with
exact match and F1 from JGLUE's patch of transformers' ``squad_metrics.py``. That patch makes F1 count
*characters* instead of whitespace words and changes the answer normalisation; the JSQuAD functions here
follow the patch line for line, so our numbers can be compared with the published JGLUE tables.

Every value is on its natural scale (fractions in [0, 1], correlation coefficients in [-1, 1]); tables
multiply by 100 themselves. The functions are pure: no state, no I/O, no logging.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

# scikit-learn and scipy are imported inside the functions that use them: commands that only read task YAMLs
# (`jglue-bench tasks`, `report`) should start without them.


def _check_paired(golds: Sequence, predictions: Sequence, minimum: int = 1) -> None:
    """Reject inputs that would make a score meaningless instead of silently scoring a prefix or nothing."""
    if len(golds) != len(predictions):
        raise ValueError(f"golds and predictions differ in length: {len(golds)} golds, {len(predictions)} predictions.")
    if len(golds) < minimum:
        needed = "at least one pair" if minimum == 1 else f"at least {minimum} pairs"
        raise ValueError(f"cannot score {len(golds)} gold/prediction pair(s): the metric needs {needed}.")


def accuracy(golds: Sequence, predictions: Sequence) -> float:
    """Fraction of predictions equal to their gold label (labels may be strings or numbers).

    Golds and predictions must use the same kind of label: scikit-learn raises ValueError when one side is
    strings and the other numbers (e.g. "1" vs 1), which is what we want, since that is a caller bug.
    """
    from sklearn.metrics import accuracy_score

    _check_paired(golds, predictions)
    return float(accuracy_score(list(golds), list(predictions)))


def macro_f1(golds: Sequence, predictions: Sequence) -> float:
    """Unweighted mean of the per-class F1 over the classes that occur in the golds or the predictions
    (scikit-learn's `average="macro"`); a class never predicted and never gold does not count."""
    from sklearn.metrics import f1_score

    _check_paired(golds, predictions)
    return float(f1_score(list(golds), list(predictions), average="macro", zero_division=0))


def balanced_accuracy(golds: Sequence, predictions: Sequence) -> float:
    """Mean of the per-class recall over the gold classes (scikit-learn's `balanced_accuracy_score`): what the
    Stability AI harness reports for MARC-ja, and the fair score where one class dominates."""
    from sklearn.metrics import balanced_accuracy_score

    _check_paired(golds, predictions)
    with warnings.catch_warnings():  # a predicted class that is never gold only warns; its recall is not averaged
        warnings.simplefilter("ignore")
        return float(balanced_accuracy_score(list(golds), list(predictions)))


def chance_macro_f1(golds: Sequence, num_classes: int) -> float:
    """The expected macro-F1 of guessing each of `num_classes` classes uniformly at random, in the large-sample
    limit: class c with gold share p has precision p and recall 1/k, so F1 = 2p(1/k) / (p + 1/k); averaged over
    the classes that occur in the golds (a class never gold is, in the limit, still predicted, and scores 0)."""
    counts = Counter(golds)
    if not counts or num_classes < 1:
        raise ValueError("chance_macro_f1 needs golds and at least one class.")
    guess = 1.0 / num_classes
    shares = [count / len(golds) for count in counts.values()]
    per_class = [2 * share * guess / (share + guess) for share in shares]
    return sum(per_class) / max(num_classes, len(counts))


def mcc(golds: Sequence, predictions: Sequence) -> float:
    """Matthews correlation coefficient (scikit-learn; multi-class by Gorodkin's R_K). 0.0 when it is undefined
    (a constant prediction or a single gold class), as scikit-learn defines it."""
    from sklearn.metrics import matthews_corrcoef

    _check_paired(golds, predictions)
    return float(matthews_corrcoef(list(golds), list(predictions)))


def _correlation(method: Callable, golds: Sequence[float], predictions: Sequence[float]) -> float:
    """Run a scipy correlation, turning scipy's warning for constant input into a silent NaN.

    A constant input (e.g. a model that predicts the same similarity for every pair) has no defined
    correlation. scipy already returns NaN for it; we only hide its ConstantInputWarning, because the NaN
    itself is the message and a warning in the middle of a benchmark table only adds noise.
    """
    from scipy.stats import ConstantInputWarning

    _check_paired(golds, predictions, minimum=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConstantInputWarning)
        result = method(list(golds), list(predictions))
    return float(result.statistic)


def pearson(golds: Sequence[float], predictions: Sequence[float]) -> float:
    """Pearson correlation coefficient (scipy.stats.pearsonr); NaN, without a warning, for constant input."""
    from scipy.stats import pearsonr

    return _correlation(pearsonr, golds, predictions)


def spearman(golds: Sequence[float], predictions: Sequence[float]) -> float:
    """Spearman rank correlation (scipy.stats.spearmanr, ties get average ranks); NaN for constant input."""
    from scipy.stats import spearmanr

    return _correlation(spearmanr, golds, predictions)


def normalize_jsquad_answer(text: str) -> str:
    """Normalise an answer as JGLUE's patched ``normalize_answer`` does.

    The order matters and is the patch's: lower-case, strip trailing "。" characters, then collapse
    whitespace. So "東京。 " keeps its "。" (the space shields it from rstrip), while "東京 。" becomes "東京".
    The patch removes no punctuation and no English articles and applies no NFKC, so "ＪＧＬＵＥ" stays
    full-width (lower-cased to "ｊｇｌｕｅ") and never matches "jglue".
    """
    lowered = text.lower()
    without_final_maru = lowered.rstrip("。")
    return " ".join(without_final_maru.split())


def _exact_match_single(prediction: str, gold: str) -> float:
    return float(normalize_jsquad_answer(prediction) == normalize_jsquad_answer(gold))


def _f1_single(prediction: str, gold: str) -> float:
    """Character-level F1 of one prediction against one gold (the patched ``compute_f1``).

    Tokens are the characters of the normalised strings, spaces included, counted as a multiset.
    """
    gold_chars = list(normalize_jsquad_answer(gold))
    prediction_chars = list(normalize_jsquad_answer(prediction))
    if not gold_chars or not prediction_chars:
        # An empty answer means "no answer": full credit only when both sides agree on that.
        return float(gold_chars == prediction_chars)
    common = Counter(gold_chars) & Counter(prediction_chars)
    num_same = sum(common.values())
    if num_same == 0:
        return 0.0
    precision = num_same / len(prediction_chars)
    recall = num_same / len(gold_chars)
    return 2 * precision * recall / (precision + recall)


def _usable_golds(golds: Sequence[str]) -> list[str]:
    """Drop golds that normalise to "" (as transformers' ``get_raw_scores`` does); none left means [""]."""
    if isinstance(golds, str):
        # A bare string is a Sequence[str] of its characters; scoring against each character is never meant.
        raise TypeError(f"golds must be a list of answer strings, not a single string: {golds!r}.")
    kept = [gold for gold in golds if normalize_jsquad_answer(gold)]
    return kept or [""]


def jsquad_exact_match(prediction: str, golds: Sequence[str]) -> float:
    """1.0 if the normalised prediction equals any usable normalised gold, else 0.0."""
    return max(_exact_match_single(prediction, gold) for gold in _usable_golds(golds))


def jsquad_f1(prediction: str, golds: Sequence[str]) -> float:
    """Best character-level F1 of the prediction over the usable golds, in [0, 1]."""
    return max(_f1_single(prediction, gold) for gold in _usable_golds(golds))


def jsquad_scores(predictions: Mapping[str, str], golds: Mapping[str, Sequence[str]]) -> dict[str, float]:
    """Mean exact match and F1 over every question id in ``golds``.

    A question without a prediction is scored as the empty prediction "" (so it earns 0 unless its gold is
    "no answer"), which keeps the denominator fixed at the number of gold questions. Note that transformers'
    ``get_raw_scores`` instead skips such a question; the official pipeline always predicts every question,
    so the two agree on real runs. A prediction for an id not in ``golds`` is rejected: it means the
    predictions and golds come from different splits or files.
    """
    if not golds:
        raise ValueError("cannot score JSQuAD: there are no gold questions.")
    unknown_ids = sorted(set(predictions) - set(golds))
    if unknown_ids:
        shown = ", ".join(repr(question_id) for question_id in unknown_ids[:10])
        more = f" and {len(unknown_ids) - 10} more" if len(unknown_ids) > 10 else ""
        raise ValueError(f"predictions for question ids that are not in the golds: {shown}{more}.")
    exact_matches = [jsquad_exact_match(predictions.get(qid, ""), answers) for qid, answers in golds.items()]
    f1_scores = [jsquad_f1(predictions.get(qid, ""), answers) for qid, answers in golds.items()]
    return {"exact_match": sum(exact_matches) / len(golds), "f1": sum(f1_scores) / len(golds)}


def mean_exact_match(golds: Sequence[Sequence[str]], predictions: Sequence[str]) -> float:
    """JSQuAD exact match averaged over questions; golds[i] lists question i's gold answers."""
    _check_paired(golds, predictions)
    return sum(jsquad_exact_match(p, g) for g, p in zip(golds, predictions)) / len(golds)


def mean_f1(golds: Sequence[Sequence[str]], predictions: Sequence[str]) -> float:
    """JSQuAD character F1 averaged over questions; golds[i] lists question i's gold answers."""
    _check_paired(golds, predictions)
    return sum(jsquad_f1(p, g) for g, p in zip(golds, predictions)) / len(golds)


@dataclass(frozen=True)
class Metric:
    """A metric of the registry: its function of (golds, predictions) and the task kinds it fits."""

    name: str
    function: Callable[[Sequence, Sequence], float]
    kinds: tuple[str, ...]
    description: str
    reads: str = "text"  # extractive QA: which answer it scores (text sliced from the context, or official_text)


_CHOICE_KINDS = ("classification", "multiple_choice")
REGISTRY: dict[str, Metric] = {
    metric.name: metric
    for metric in (
        Metric("accuracy", accuracy, _CHOICE_KINDS, "fraction of exact label matches"),
        Metric("macro_f1", macro_f1, _CHOICE_KINDS, "unweighted mean of per-class F1"),
        Metric("mcc", mcc, _CHOICE_KINDS, "Matthews correlation coefficient"),
        Metric("pearson", pearson, ("regression",), "Pearson correlation"),
        Metric("spearman", spearman, ("regression",), "Spearman rank correlation"),
        Metric("exact_match", mean_exact_match, ("extractive_qa",), "JSQuAD exact match (character level)"),
        Metric("f1", mean_f1, ("extractive_qa",), "JSQuAD character F1"),
        Metric(
            "exact_match_official",
            mean_exact_match,
            ("extractive_qa",),
            "JSQuAD exact match of the answer rebuilt from tokens, as JGLUE's patched script scores it",
            reads="official_text",
        ),
        Metric(
            "f1_official",
            mean_f1,
            ("extractive_qa",),
            "JSQuAD character F1 of the answer rebuilt from tokens, as JGLUE's patched script scores it",
            reads="official_text",
        ),
    )
}
DEFAULT_METRICS = {
    "classification": ("accuracy",),
    "regression": ("pearson", "spearman"),
    "multiple_choice": ("accuracy",),
    "extractive_qa": ("exact_match", "f1"),
}


def problem_with(name: str, kind: str) -> str | None:
    """None when `name` is a registered metric that fits `kind`, else a sentence saying what is wrong."""
    from jglue_bench.errors import did_you_mean  # metrics stay importable on their own

    fitting = [metric.name for metric in REGISTRY.values() if kind in metric.kinds]
    if name not in REGISTRY:
        return f"unknown metric {name!r}{did_you_mean(name, REGISTRY)}; a {kind} task can use {', '.join(fitting)}."
    if kind not in REGISTRY[name].kinds:
        return (
            f"metric {name!r} scores {' and '.join(REGISTRY[name].kinds)} tasks; a {kind} task can use "
            f"{', '.join(fitting)}."
        )
    return None


def compute(names: Sequence[str], golds: Sequence, predictions: Sequence) -> dict[str, float]:
    """Each named metric of the registry over the same golds and predictions."""
    return {name: REGISTRY[name].function(golds, predictions) for name in names}
