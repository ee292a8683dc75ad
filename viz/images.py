"""Images as arrays: resize, colour-map, blend, tile and lay out RGB uint8 pictures.

numpy + Pillow (+ a matplotlib colormap table) only: nothing here knows about the network, and files
are read and written in `viz.io.imagefiles`.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from PIL import Image, ImageFilter, ImageOps


WHITE = (255, 255, 255)
SEPARATOR = (40, 40, 40)
GRID_GAP = 2  # px between and around the cells of a tiled grid
SNAP = 16  # px: the sides of what the network sees are multiples of this (see fit_for_network)
MAX_PIXELS = 40_000_000  # larger uploads are refused before they are decoded (viz.io.imagefiles)


def as_unit_range(array: np.ndarray) -> np.ndarray:
    """Float values in [0, 1] from integer (8/16-bit) or float pixel data."""
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if np.issubdtype(array.dtype, np.integer):
        peak = 65535.0 if array.max(initial=0) > 255 else 255.0
        return array.astype(np.float32) / peak
    array = np.nan_to_num(array.astype(np.float32))
    if array.max(initial=0) > 1.0:
        array = array / (255.0 if array.max() <= 255 else array.max())
    return array


def to_uint8(image) -> np.ndarray:
    """Float image in [0, 1] (any array-like) as uint8, clipped."""
    return (np.clip(np.asarray(image, dtype=np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def to_float(image: np.ndarray) -> np.ndarray:
    """uint8 image as float32 in [0, 1]."""
    return np.asarray(image, dtype=np.float32) / 255.0


def fit_long_side(image: np.ndarray, side: int) -> np.ndarray:
    """Resize (antialiased) so the longer side is `side` px, keeping the aspect ratio."""
    h, w = image.shape[:2]
    scale = side / max(h, w)
    return resize(image, (max(1, round(h * scale)), max(1, round(w * scale))))


def fit_for_network(image: np.ndarray, side: int) -> np.ndarray:
    """`image` as the network should see it: long side `side` and short side rounded to multiples of
    SNAP px (cropped at the centre to fit, never stretched), so that photos of every size share a few
    input shapes. TensorFlow keeps compiled kernels per shape: a public server's memory then levels off."""
    h, w = image.shape[:2]
    long_side = snapped(side)
    short_side = min(long_side, snapped(min(h, w) * long_side / max(h, w)))
    shape = (long_side, short_side) if h >= w else (short_side, long_side)
    if image.shape[:2] == shape:
        return image
    return np.asarray(ImageOps.fit(Image.fromarray(image), shape[::-1], Image.Resampling.LANCZOS))


def snapped(length: float) -> int:
    """`length` rounded to a multiple of SNAP, at least 2·SNAP."""
    return max(2 * SNAP, int(round(length / SNAP)) * SNAP)


def resize(image: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """uint8 RGB image resized to (height, width) with a Lanczos filter."""
    if image.shape[:2] == tuple(shape):
        return image
    return np.asarray(Image.fromarray(image).resize((shape[1], shape[0]), Image.Resampling.LANCZOS))


def resize_float(image01: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A float image (H, W, C) resized to (height, width) with the same Lanczos filter, channel by
    channel in Pillow's float mode: no round trip through uint8."""
    if image01.shape[:2] == tuple(shape):
        return image01
    channels = [Image.fromarray(np.ascontiguousarray(image01[..., c], np.float32))
                .resize((shape[1], shape[0]), Image.Resampling.LANCZOS) for c in range(image01.shape[-1])]
    return np.stack([np.asarray(c) for c in channels], axis=-1)


def stretch(image: np.ndarray, percent: float = 0.5, faint: float = 160) -> np.ndarray:
    """A faint uint8 image contrast-stretched so its percent..100−percent percentiles span 0..255.

    Images whose percentile range already reaches `faint` levels (or is flat) are returned as they are.
    """
    low, high = np.percentile(image, [percent, 100 - percent])
    if high - low >= faint or high - low < 1:
        return image
    return to_uint8((image.astype(np.float32) - low) / (high - low))


def blurred(image: np.ndarray, sigma: float) -> np.ndarray:
    """A uint8 RGB image under a Gaussian blur of `sigma` px."""
    return np.asarray(Image.fromarray(image).filter(ImageFilter.GaussianBlur(sigma)))


def grey(image: np.ndarray) -> np.ndarray:
    """Luminance of an RGB uint8 image, as an RGB uint8 image."""
    return np.asarray(Image.fromarray(image).convert("L").convert("RGB"))


@lru_cache(maxsize=4)
def colormap_table(name: str = "inferno", levels: int = 256) -> np.ndarray:
    """A perceptual colormap as a (levels, 3) uint8 lookup table."""
    from matplotlib import colormaps

    return (colormaps[name](np.linspace(0.0, 1.0, levels))[:, :3] * 255 + 0.5).astype(np.uint8)


def colorize(values: np.ndarray, name: str = "inferno", levels: int = 256) -> np.ndarray:
    """Values in [0, 1] (any shape) as RGB uint8 through a perceptual colormap of `levels` colours
    (255 leaves room for a grid's separator in a 256-colour palette PNG, see save_png)."""
    index = (np.clip(values, 0.0, 1.0) * (levels - 1) + 0.5).astype(np.uint8)
    return colormap_table(name, levels)[index]


def normalize_robust(heat: np.ndarray, percentile: float = 99.5) -> np.ndarray:
    """A non-negative map scaled so its `percentile` reaches 1 (clipped): a few outliers do not
    leave the rest of the map invisible."""
    top = np.percentile(heat, percentile)
    return np.clip(heat / top, 0.0, 1.0) if top > 0 else normalize(heat)


def normalize(maps: np.ndarray, axis=(0, 1)) -> np.ndarray:
    """Scale non-negative maps to [0, 1] by their own maximum over `axis` (all-zero stays zero)."""
    peak = maps.max(axis=axis, keepdims=True)
    return maps / np.where(peak > 0, peak, 1.0)


def blend(base: np.ndarray, overlay: np.ndarray, alpha) -> np.ndarray:
    """Alpha-blend two uint8 images; alpha is a scalar or a per-pixel (…, H, W, 1) weight."""
    mixed = base.astype(np.float32) * (1.0 - alpha) + overlay.astype(np.float32) * alpha
    return (mixed + 0.5).astype(np.uint8)


def heat_overlay(photo: np.ndarray, heat: np.ndarray, strength: float = 0.75) -> np.ndarray:
    """A [0, 1] heat map over a greyed photo: colour where it is hot, the photo where it is cold."""
    alpha = strength * np.clip(heat, 0.0, 1.0)[..., None]
    return blend(grey(photo), colorize(heat), alpha)


def with_colorbar(image: np.ndarray, height: int = 14) -> np.ndarray:
    """The image with the colour scale (low → high) drawn under it."""
    from PIL import ImageDraw

    width = image.shape[1]
    bar = np.repeat(colorize(np.linspace(0, 1, width))[None], height, axis=0)
    strip = Image.new("RGB", (width, height + 14), WHITE)
    strip.paste(Image.fromarray(bar), (0, 14))
    draw = ImageDraw.Draw(strip)
    draw.text((2, 1), "low", fill=(60, 60, 60))
    draw.text((width - 28, 1), "high", fill=(60, 60, 60))
    return np.concatenate([image, np.asarray(strip)], axis=0)


def tile(cells: np.ndarray, columns: int, gap: int = GRID_GAP, color=SEPARATOR) -> np.ndarray:
    """Lay (N, h, w, 3) uint8 cells out in a grid, `gap` px of `color` between and around them."""
    n, h, w, _ = cells.shape
    rows = -(-n // columns)
    grid = np.empty((rows * (h + gap) + gap, columns * (w + gap) + gap, 3), np.uint8)
    grid[:] = color
    for i, cell in enumerate(cells):
        top, left = gap + (i // columns) * (h + gap), gap + (i % columns) * (w + gap)
        grid[top : top + h, left : left + w] = cell
    return grid


def side_by_side(images: list[np.ndarray], gap: int = 4) -> np.ndarray:
    """uint8 images of the same height next to each other, white between them."""
    height = max(im.shape[0] for im in images)
    images = [fit_height(im, height) for im in images]
    parts = []
    for im in images:
        parts += [im, np.full((height, gap, 3), 255, np.uint8)]
    return np.concatenate(parts[:-1], axis=1)


def fit_height(image: np.ndarray, height: int) -> np.ndarray:
    """Resize to a given height, keeping the aspect ratio."""
    h, w = image.shape[:2]
    return resize(image, (height, max(1, round(w * height / h))))


def crop_square(picture: np.ndarray, centre: tuple[float, float], size: int, shown: int = 128) -> np.ndarray:
    """The `size`-px square around `centre` (row, column), clipped to the picture, shown at `shown` px."""
    h, w = picture.shape[:2]
    half = size / 2
    top, left = int(max(0, round(centre[0] - half))), int(max(0, round(centre[1] - half)))
    bottom, right = int(min(h, round(centre[0] + half))), int(min(w, round(centre[1] + half)))
    return fit_long_side(picture[top:bottom, left:right], shown)
