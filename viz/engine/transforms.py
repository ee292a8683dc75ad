"""Random transforms applied before the network, for transformation robustness (Lucid's `transform`).

Each transform is `(images, seed) -> images` with `seed` a (2,) integer tensor that its random draws
are a function of (stateless), so a seeded run is repeatable and the seed can be an input of a compiled
step. Output shapes are static, so the compiled step is traced once.
"""

from __future__ import annotations

import math

import tensorflow as tf


def pad(width: int, value: float = 0.5):
    """Pad with a constant border so jitter and rotation do not pull in wrapped content."""
    def fn(images, seed):
        return tf.pad(images, [[0, 0], [width, width], [width, width], [0, 0]], constant_values=value)
    return fn


def jitter(d: int):
    """Crop a random (H − d, W − d) window: shifts by up to d px."""
    def fn(images, seed):
        h, w = images.shape[1] - d, images.shape[2] - d
        dy, dx = tf.unstack(tf.random.stateless_uniform([2], seed, 0, d + 1, dtype=tf.int32))
        return tf.slice(images, tf.stack([0, dy, dx, 0]), [-1, h, w, -1])
    return fn


def scale_rotate(scale_range: tuple[float, float] = (0.9, 1.1), degrees: float = 10.0, fill: float = 0.5):
    """Scale and rotate about the centre by random amounts, keeping the size (one bilinear warp)."""
    def fn(images, seed):
        h, w = images.shape[1], images.shape[2]
        u = tf.random.stateless_uniform([2], seed)
        s = scale_range[0] + (scale_range[1] - scale_range[0]) * u[0]
        a = (2.0 * u[1] - 1.0) * degrees * (math.pi / 180.0)
        cos, sin = tf.cos(a) / s, tf.sin(a) / s
        cx, cy = (w - 1) / 2.0, (h - 1) / 2.0
        # output pixel (x, y) samples input (cos·x' − sin·y' + cx, sin·x' + cos·y' + cy), x' = x − cx
        row = tf.stack([cos, -sin, cx - cos * cx + sin * cy, sin, cos, cy - sin * cx - cos * cy, 0.0, 0.0])
        transform = tf.tile(row[None], [tf.shape(images)[0], 1])
        return tf.raw_ops.ImageProjectiveTransformV3(
            images=images, transforms=transform, output_shape=[h, w], fill_value=fill,
            interpolation="BILINEAR", fill_mode="CONSTANT")
    return fn


def compose(transforms):
    """Apply transforms in order, each with its own seed drawn from `seed`."""
    def fn(images, seed):
        seeds = tf.unstack(tf.random.experimental.stateless_split(seed, len(transforms)))
        for transform, own in zip(transforms, seeds):
            images = transform(images, own)
        return images
    return fn


def lucid(jitter_px: int = 8, scale_range=(0.9, 1.1), degrees: float = 10.0):
    """Lucid's standard robustness: pad, jitter, scale and rotate, jitter again (the parts that are
    not zero: no jitter means no padding either)."""
    steps = [pad(jitter_px + 4), jitter(jitter_px)] if jitter_px else []
    if tuple(scale_range) != (1, 1) or degrees:
        steps.append(scale_rotate(scale_range, degrees))
    return compose(steps + ([jitter(4)] if jitter_px else []))
