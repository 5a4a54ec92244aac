"""Preprocessing shared by training and inference: the fast paths equal the plain ones."""

from __future__ import annotations

import numpy as np

from imaging.preprocess import crop, crops, normalise, percentiles
from imaging.training.synth import generate, generate_negative


def test_batch_crops_equal_single_crops_bit_for_bit_even_at_the_edges():
    sample = generate(12)
    image = normalise(sample.image)
    jittered = sample.joints + np.random.default_rng(0).normal(0, 2, sample.joints.shape)
    off_edge = np.array([[-10.3, 5.2], [510.7, 530.1], [0.0, 0.0]], np.float32)
    for centres in (sample.joints, jittered, off_edge):
        single = np.stack([crop(image, c) for c in centres])[:, None]
        batch = crops(image, centres)
        assert batch.shape == (len(centres), 1, 48, 48) and batch.dtype == np.float32
        assert np.array_equal(batch, single)


def test_crop_of_the_mirrored_image_is_the_mirrored_crop():
    image = normalise(generate(13).image)
    centre = np.array([200.3, 311.8], np.float32)
    mirrored_centre = np.array([512 - centre[0], centre[1]], np.float32)
    mirrored = crop(image[:, ::-1], mirrored_centre)
    assert np.allclose(mirrored, crop(image, centre)[:, ::-1], atol=1e-4)


def test_fast_percentiles_equal_numpys_bit_for_bit():
    rng = np.random.default_rng(0)
    images = [generate(i).image for i in range(5)] + [
        generate_negative(1).image,
        rng.random((300, 700)).astype(np.float32),
        rng.integers(0, 4096, (1000, 800)).astype(np.float32),  # many ties
        np.zeros((512, 512), np.float32),  # flat
        np.full((64, 64), np.nan, np.float32),  # falls back to numpy
    ]
    for image in images:
        for qs in ((1.0, 99.5), (2.0, 98.0), (0.5, 99.9)):
            assert np.array_equal(
                percentiles(image, qs), np.percentile(image, qs), equal_nan=True
            ), qs
