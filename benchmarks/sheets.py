"""Contact sheets: the benchmarks' pictures laid out for a person to look at."""

import numpy as np


def stack_rows(rows: list[np.ndarray], gap: int = 4) -> np.ndarray:
    """uint8 images stacked top to bottom, left-aligned on white, `gap` px apart (contact sheets)."""
    width = max(r.shape[1] for r in rows)
    padded = [np.pad(r, ((0, gap), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    return np.concatenate(padded)[:-gap]
