"""How sure a score is: intervals and paired tests from a run's per-example predictions (predictions-<split>.jsonl)
and from seed runs.

- `bootstrap_interval`: the percentile bootstrap of a metric over examples (JSQuAD: over questions), seeded;
- `paired_comparison`: two models on the same examples: the difference, its paired-bootstrap interval, and the
  p-value of a paired permutation test (each example's two predictions swapped at random; approximate
  randomisation), plus McNemar's exact test for accuracy;
- `t_interval` and `welch`: the seed mean's t-interval and Welch's test of two models' seed means.

Metrics are jglue-bench's own (metrics.py), x100 as in the records. numpy and scipy are imported inside the
functions, so `report` without `--ci` or `--table significance` stays fast.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jglue_bench.errors import UserError

LEVEL = 0.95
RESAMPLES = 1000
SEED = 0
PER_EXAMPLE = ("exact_match", "f1", "exact_match_official", "f1_official")  # QA rows carry their own values


@dataclass(frozen=True)
class Columns:
    """One model's predictions on a split as paired arrays: gold and prediction per example (for the QA metrics,
    the example's own score stands as its prediction)."""

    ids: tuple[str, ...]
    golds: tuple[Any, ...]
    predictions: tuple[Any, ...]


@dataclass(frozen=True)
class Comparison:
    difference: float
    low: float
    high: float
    p_permutation: float
    p_mcnemar: float | None
    examples: int


def read_predictions(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise UserError(f"{path} is missing: intervals and paired tests need the run's per-example predictions.")
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except ValueError as error:
                raise UserError(f"{path}, line {number}: not JSON ({error}).") from None
    return rows


def columns(rows: Sequence[dict[str, Any]], metric: str) -> Columns:
    """The arrays a metric is computed from; a row without them is one line naming the field."""
    fields = (metric,) if metric in PER_EXAMPLE else ("gold", "prediction")
    for number, row in enumerate(rows, 1):
        missing = [name for name in ("id", *fields) if name not in row]
        if missing:
            raise UserError(f"prediction row {number} ({row.get('id')!r}) has no {', '.join(missing)} for {metric}.")
    ids = tuple(str(row["id"]) for row in rows)
    if metric in PER_EXAMPLE:
        return Columns(
            ids, tuple(json.dumps(row["gold"], ensure_ascii=False) for row in rows), tuple(row[metric] for row in rows)
        )
    return Columns(ids, tuple(row["gold"] for row in rows), tuple(row["prediction"] for row in rows))


def scorer(metric: str) -> Callable[[Sequence, Sequence], float]:
    """golds, predictions -> the metric x100."""
    from jglue_bench import metrics

    if metric in PER_EXAMPLE:
        return lambda golds, values: 100.0 * sum(values) / len(values)
    if metric not in metrics.REGISTRY:
        raise UserError(f"no interval for metric {metric!r}: it is not one of jglue-bench's metrics.")
    function = metrics.REGISTRY[metric].function
    return lambda golds, predictions: 100.0 * function(list(golds), list(predictions))


def resampled_indices(size: int, resamples: int, seed: int):
    """`resamples` draws of `size` example indices with replacement, from numpy's PCG64 with `seed`."""
    import numpy as np

    generator = np.random.default_rng(seed)
    return [generator.integers(0, size, size) for _ in range(resamples)]


def percentile_interval(values: Sequence[float], level: float = LEVEL) -> tuple[float, float]:
    import numpy as np

    finite = [value for value in values if value == value]  # a correlation over a constant resample is NaN
    if not finite:
        return float("nan"), float("nan")
    tail = 100 * (1 - level) / 2
    return float(np.percentile(finite, tail)), float(np.percentile(finite, 100 - tail))


def bootstrap_interval(
    data: Columns, metric: str, resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL
) -> tuple[float, float]:
    """The percentile bootstrap interval of `metric` over the examples."""
    score = scorer(metric)
    golds, predictions = list(data.golds), list(data.predictions)
    values = [
        score([golds[i] for i in draw], [predictions[i] for i in draw])
        for draw in resampled_indices(len(golds), resamples, seed)
    ]
    return percentile_interval(values, level)


def aligned(first: Columns, second: Columns) -> tuple[list, list, list]:
    """Golds and both models' predictions in one example order; refuses runs on different examples."""
    if set(first.ids) != set(second.ids) or len(first.ids) != len(second.ids):
        only_first, only_second = set(first.ids) - set(second.ids), set(second.ids) - set(first.ids)
        raise ValueError(
            f"the runs scored different examples ({len(first.ids)} and {len(second.ids)}; "
            f"{len(only_first)} only in the first, {len(only_second)} only in the second)"
        )
    position = {example: index for index, example in enumerate(second.ids)}
    order = [position[example] for example in first.ids]
    if [second.golds[i] for i in order] != list(first.golds):
        raise ValueError("the runs have different gold labels for the same example ids (other data)")
    return list(first.golds), list(first.predictions), [second.predictions[i] for i in order]


def paired_comparison(
    first: Columns, second: Columns, metric: str, resamples: int = RESAMPLES, seed: int = SEED, level: float = LEVEL
) -> Comparison:
    """first - second on the same examples: the difference, its paired-bootstrap percentile interval, the
    two-sided p-value of a paired permutation test ((count + 1) / (resamples + 1), so never 0), and McNemar's
    exact p-value (a binomial test on the examples exactly one model gets right) for accuracy."""
    import numpy as np

    score = scorer(metric)
    golds, ours, theirs = aligned(first, second)
    difference = score(golds, ours) - score(golds, theirs)
    draws = resampled_indices(len(golds), resamples, seed)
    bootstrap = [
        score([golds[i] for i in draw], [ours[i] for i in draw])
        - score([golds[i] for i in draw], [theirs[i] for i in draw])
        for draw in draws
    ]
    low, high = percentile_interval(bootstrap, level)
    generator = np.random.default_rng(seed + 1)
    extreme = 0
    for _ in range(resamples):
        swap = generator.random(len(golds)) < 0.5
        a = [t if s else o for o, t, s in zip(ours, theirs, swap)]
        b = [o if s else t for o, t, s in zip(ours, theirs, swap)]
        extreme += abs(score(golds, a) - score(golds, b)) >= abs(difference) - 1e-9
    return Comparison(
        difference,
        low,
        high,
        (extreme + 1) / (resamples + 1),
        mcnemar(golds, ours, theirs) if metric == "accuracy" else None,
        len(golds),
    )


def mcnemar(golds: Sequence, ours: Sequence, theirs: Sequence) -> float:
    """McNemar's exact test: of the examples exactly one model gets right, is each model's share 1/2?"""
    from scipy.stats import binomtest

    only_ours = sum(o == g and t != g for g, o, t in zip(golds, ours, theirs))
    only_theirs = sum(t == g and o != g for g, o, t in zip(golds, ours, theirs))
    if only_ours + only_theirs == 0:
        return 1.0
    return float(binomtest(only_ours, only_ours + only_theirs, 0.5).pvalue)


def t_interval(values: Sequence[float], level: float = LEVEL) -> tuple[float, float]:
    """mean ± t(level, n-1) · s / sqrt(n); NaN for fewer than two values."""
    from scipy import stats

    if len(values) < 2:
        return float("nan"), float("nan")
    mean = sum(values) / len(values)
    half = float(stats.t.ppf(0.5 + level / 2, len(values) - 1) * stats.sem(values))
    return mean - half, mean + half


def welch(first: Sequence[float], second: Sequence[float]) -> float:
    """Welch's two-sided t-test of two seed means (unequal variances); NaN for fewer than two seeds a side."""
    from scipy import stats

    if len(first) < 2 or len(second) < 2:
        return float("nan")
    return float(stats.ttest_ind(first, second, equal_var=False).pvalue)
