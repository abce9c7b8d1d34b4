"""Few-shot draws that lm-eval 0.4's samplers do not make, as lm-eval `ContextSampler` subclasses.

`jp_stable`: Stability AI's jp-stable evaluator (lm_eval/evaluator.py @ effdbeaf) makes one `random.Random(42)`,
shuffles the scored documents with it, and then draws every document's shots from the same generator, in the
shuffled order; BalancedMultipleChoiceTask (JNLI, MARC-ja) draws them stratified by gold label (lm_eval/base.py,
`_stratified_fewshot_examples`). Our documents reach lm-eval already shuffled with Random(42) (run.py), so this
sampler starts from a Random(42) that has made that same shuffle, and is then called in the same order."""

from __future__ import annotations

import random
from typing import Any


def jp_stable_sampler(scored_documents: int, stratified: bool, seed: int):
    """A ContextSampler class for `scored_documents` documents (the length of the shuffle to replay)."""
    from lm_eval.api.samplers import ContextSampler

    class JpStableSampler(ContextSampler):
        def set_rnd(self, rnd: int | None):
            # lm-eval hands its fewshot seed here; jp-stable's generator is Random(42) after the documents' shuffle
            self.rnd = random.Random(seed)
            self.rnd.shuffle(list(range(scored_documents)))  # the draws a shuffle makes depend on the length only
            self._strata = None
            return self

        def sample(self, n: int, eval_doc: dict[str, Any] | None = None, df=None, **kwargs):
            if n == 0:
                return []
            docs = self.fewshot_docs()
            if not stratified:
                return self.rnd.sample(docs, n)
            return stratified_sample(docs, n, self.rnd, self._strata_of(docs))

        def _strata_of(self, docs):
            if getattr(self, "_strata", None) is None:
                self._strata = strata(docs)
            return self._strata

    return JpStableSampler


def strata(docs: list[dict[str, Any]]) -> dict[Any, list[dict[str, Any]]]:
    """Documents by gold label, labels in order of first appearance (as jp-stable's dict of targets fills)."""
    by_label: dict[Any, list[dict[str, Any]]] = {}
    for doc in docs:
        by_label.setdefault(doc["label"], []).append(doc)
    return by_label


def stratified_sample(docs, k: int, rnd: random.Random, by_label) -> list[dict[str, Any]]:
    """jp-stable's `_stratified_fewshot_examples`: int(share x k) per label, the remainder one at a time to the
    label with the fewest (the first such), a sample from each label in order, then the lot shuffled."""
    counts = {label: int(len(members) / len(docs) * k) for label, members in by_label.items()}
    for _ in range(k - sum(counts.values())):
        counts[min(counts, key=counts.get)] += 1
    chosen = []
    for label, count in counts.items():
        chosen.extend(rnd.sample(by_label[label], count))
    rnd.shuffle(chosen)
    return chosen
