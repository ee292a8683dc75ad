"""Image parametrizations: each returns `(values, to_image)`: the starting values (numpy arrays) and a
function of such values (as tensors) that gives (B, H, W, 3) images in [0, 1].

The loop does not care which one it gets (Lucent's contract). `pixels` optimizes raw RGB values;
`fourier` optimizes a 1/f-scaled spectrum in a decorrelated colour space (Olah et al., "Feature
Visualization", Distill 2017; Lucid's `fft_image` and `to_valid_rgb`), which steers gradient
ascent away from high-frequency noise.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

# Square root of ImageNet's RGB colour correlation, from Lucid (Apache-2.0).
COLOR_CORRELATION_SQRT = np.array([[0.26, 0.09, 0.02],
                                   [0.27, 0.00, -0.05],
                                   [0.27, -0.09, 0.03]], np.float32)
COLOR_MIXING = COLOR_CORRELATION_SQRT / np.max(np.linalg.norm(COLOR_CORRELATION_SQRT, axis=0))


def straight_through_clip(x: tf.Tensor) -> tf.Tensor:
    """Values clipped to [0, 1] on the way forward, the gradient passed through unchanged."""
    return x + tf.stop_gradient(tf.clip_by_value(x, 0.0, 1.0) - x)


def pixels(shape, init: np.ndarray | None = None, seed: int = 0, sd: float = 0.1):
    """Raw RGB pixels, (B, H, W): start from grey plus noise of `sd`, or from `init` ([0, 1]).

    The network sees them clipped to [0, 1]; gradients pass straight through the clip.
    """
    b, h, w = shape
    rng = np.random.default_rng(seed)
    start = 0.5 + sd * rng.standard_normal((b, h, w, 3)) if init is None else np.broadcast_to(init, (b, h, w, 3))
    return [np.asarray(start, np.float32)], clipped_pixels


def clipped_pixels(values) -> tf.Tensor:
    return straight_through_clip(values[0])


def spectrum_scale(h: int, w: int, decay: float = 1.0) -> np.ndarray:
    """1/f^decay weights of the rfft2d frequencies, so all scales start with equal energy."""
    freqs = np.sqrt(np.fft.fftfreq(h)[:, None] ** 2 + np.fft.rfftfreq(w)[None, :] ** 2)
    return (1.0 / np.maximum(freqs, 1.0 / max(h, w)) ** decay * np.sqrt(h * w)).astype(np.float32)


def fourier(shape, init: np.ndarray | None = None, seed: int = 0, sd: float = 0.01, decay: float = 1.0):
    """A scaled Fourier spectrum per colour channel, decorrelated colours and a sigmoid on top."""
    b, h, w = shape
    scale = spectrum_scale(h, w, decay)
    if init is None:
        start = sd * np.random.default_rng(seed).standard_normal((2, b, 3) + scale.shape)
    else:
        start = spectrum_of(np.broadcast_to(init, (b, h, w, 3)), scale)

    def to_image(values):
        spectrum = values[0]
        coefficients = tf.complex(spectrum[0], spectrum[1]) * tf.cast(scale, tf.complex64)
        channels = tf.signal.irfft2d(coefficients, fft_length=[h, w]) / 4.0  # (B, 3, H, W)
        mixed = tf.einsum("bchw,dc->bhwd", channels, COLOR_MIXING)
        return tf.sigmoid(mixed)

    return [start.astype(np.float32)], to_image


def spectrum_of(images: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """The spectrum variables that `fourier` turns back into `images` (the inverse of to_image)."""
    x = np.clip(images, 0.02, 0.98).astype(np.float64)
    logits = np.log(x / (1 - x))
    channels = np.einsum("bhwd,dc->bchw", logits, np.linalg.inv(COLOR_MIXING).T) * 4.0
    coefficients = np.fft.rfft2(channels) / scale
    return np.stack([coefficients.real, coefficients.imag])
