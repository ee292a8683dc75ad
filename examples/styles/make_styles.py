"""Make the procedural style images in this folder (deterministic; numpy + Pillow only).

Run: python examples/styles/make_styles.py
  swirls.jpg   brush strokes that follow a smooth swirling flow field, in night blues and yellows
  mosaic.jpg   stained glass: Voronoi cells in warm colours with dark lead lines
  circles.jpg  concentric circles on coloured squares, after Kandinsky's colour studies
"""

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

HERE = Path(__file__).parent
SIDE = 384


def smooth_noise(rng, side, cells):
    """Smooth random field in [-1, 1]: random values on a coarse grid, bicubically enlarged."""
    coarse = rng.uniform(-1, 1, (cells, cells)).astype(np.float32)
    return np.asarray(Image.fromarray(coarse, "F").resize((side, side), Image.Resampling.BICUBIC))


def swirls(rng):
    angle = smooth_noise(rng, SIDE, 5) * np.pi * 1.5
    picture = Image.new("RGB", (SIDE, SIDE), (18, 32, 74))
    draw = ImageDraw.Draw(picture)
    palette = [(24, 52, 120), (40, 86, 160), (70, 120, 190), (230, 200, 60), (250, 230, 120), (14, 24, 60)]
    for _ in range(2600):
        x, y = rng.uniform(0, SIDE, 2)
        colour = palette[rng.integers(len(palette))] if rng.random() < 0.85 else palette[3 + rng.integers(2)]
        points = [(x, y)]
        for _ in range(12):
            a = angle[int(y) % SIDE, int(x) % SIDE]
            x, y = x + 3 * np.cos(a), y + 3 * np.sin(a)
            points.append((x, y))
        draw.line(points, fill=colour, width=int(rng.integers(3, 6)))
    return picture.filter(ImageFilter.SMOOTH)


def mosaic(rng):
    seeds = rng.uniform(0, SIDE, (140, 2))
    yy, xx = np.mgrid[0:SIDE, 0:SIDE]
    distance = (xx[..., None] - seeds[:, 0]) ** 2 + (yy[..., None] - seeds[:, 1]) ** 2
    nearest = np.sort(distance, axis=-1)
    cell = np.argmin(distance, axis=-1)
    palette = np.array([(200, 40, 30), (235, 150, 30), (250, 210, 80), (40, 90, 160), (30, 130, 90), (150, 40, 110)])
    colours = palette[rng.integers(len(palette), size=len(seeds))] * rng.uniform(0.75, 1.1, (len(seeds), 1))
    picture = colours[cell]
    edge = (np.sqrt(nearest[..., 1]) - np.sqrt(nearest[..., 0])) < 3.0
    picture[edge] = (25, 20, 20)
    return Image.fromarray(np.clip(picture, 0, 255).astype(np.uint8))


def circles(rng):
    picture = Image.new("RGB", (SIDE, SIDE))
    draw = ImageDraw.Draw(picture)
    palette = [(230, 60, 40), (250, 200, 40), (40, 70, 150), (30, 140, 100), (240, 240, 225), (20, 20, 30),
               (200, 90, 160), (110, 180, 220)]
    cell = SIDE // 4
    for row in range(4):
        for col in range(4):
            x0, y0 = col * cell, row * cell
            draw.rectangle([x0, y0, x0 + cell, y0 + cell], fill=palette[rng.integers(len(palette))])
            cx, cy = x0 + cell / 2 + rng.uniform(-6, 6), y0 + cell / 2 + rng.uniform(-6, 6)
            for radius in sorted(rng.uniform(6, cell * 0.46, 4), reverse=True):
                draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius],
                             fill=palette[rng.integers(len(palette))])
    return picture.filter(ImageFilter.GaussianBlur(1.2))


def main():
    for name, make in [("swirls", swirls), ("mosaic", mosaic), ("circles", circles)]:
        make(np.random.default_rng(7)).save(HERE / f"{name}.jpg", quality=90, optimize=True)


if __name__ == "__main__":
    main()
