"""Dataset splits drawn from the generator; disjoint seed ranges keep them independent."""

from __future__ import annotations

import numpy as np

from imaging.preprocess import downsample, heatmap_targets, normalise
from imaging.training.synth import generate, generate_negative

# Seed ranges: train the networks, fit the RA head, calibrate (temperatures, thresholds), and
# the held-out test split that `evaluate` reports on. Never overlapping.
SPLITS = {
    "train": 0,
    "ra_fit": 1_000_000,
    "calibration": 2_000_000,
    "test": 3_000_000,
    "examples": 4_000_000,
}


def hands(split: str, n: int, clean_every: int = 0):
    """`n` hands from the split's seed range. With `clean_every=k`, every k-th one is drawn
    without exposure variation, noise or texture (the clean end of the acquisition range, where
    phantoms sit); the held-out splits use the default draw only."""
    base = SPLITS[split]
    return [generate(base + i, noise=not (clean_every and i % clean_every == 0)) for i in range(n)]


def negatives(split: str, n: int):
    base = SPLITS[split] + 500_000
    return [generate_negative(base + i) for i in range(n)]


def localiser_arrays(samples):
    x = np.stack([downsample(normalise(s.image)) for s in samples])[:, None]
    y = np.stack([heatmap_targets(s.joints, s.is_hand) for s in samples])
    return x.astype(np.float32), y
