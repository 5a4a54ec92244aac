"""Calibration figures shared by training and evaluation (numpy only, no torch).

- Expected calibration error (Guo et al. 2017): the confidence range split into equal-width
  bins, |accuracy - mean confidence| per bin weighted by the bin's share of the answers.
- The abstention threshold is chosen on the validation (calibration) split for a stated target,
  never hand-set: the lowest confidence such that the answers at or above it are correct at
  least `target` of the time. Everything below is "needs manual review".
"""

from __future__ import annotations

import numpy as np

ECE_BINS = 15


def expected_calibration_error(conf, correct, bins: int = ECE_BINS) -> float:
    conf = np.asarray(conf, float)
    correct = np.asarray(correct, float)
    if conf.size == 0:
        return float("nan")
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1], right=True), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        sel = which == b
        if sel.any():
            total += sel.mean() * abs(correct[sel].mean() - conf[sel].mean())
    return round(float(total), 4)


def threshold_for_accuracy(conf, correct, target: float) -> float:
    """The lowest confidence t such that answers with confidence >= t are at least `target`
    correct on this split (1.0 if no such t: everything goes to review)."""
    conf = np.asarray(conf, float)
    correct = np.asarray(correct, float)
    order = np.argsort(-conf, kind="stable")
    running = np.cumsum(correct[order]) / np.arange(1, len(order) + 1)
    ok = np.nonzero(running >= target)[0]
    if len(ok) == 0:
        return 1.0
    return float(conf[order][ok[-1]])


def abstention_summary(conf, correct, threshold: float) -> dict:
    conf = np.asarray(conf, float)
    correct = np.asarray(correct, bool)
    accepted = conf >= threshold
    return {
        "coverage": round(float(accepted.mean()), 4) if conf.size else None,
        "accuracy_on_accepted": round(float(correct[accepted].mean()), 4)
        if accepted.any()
        else None,
        "accuracy_overall": round(float(correct.mean()), 4) if conf.size else None,
    }


def softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)
