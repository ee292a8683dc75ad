"""Can this map be trusted? Take the photo apart in the order a map ranks it and watch the target's score.

Three curves per map, each the target's score (normalized by the photo's own) after a share of the
photo is changed, square patch by square patch: the most relevant patches greyed out first
("deletion", RISE: Petsiuk et al. 2018; the lower its area, the better), the least relevant first
("reverse": the higher, the better), and the most relevant pasted first into a blurred copy
("insertion": the higher, the better). The gap between the two deletion orders is the measure a map
must win: on the offline (edge-tuned) weights, greying a region draws new edges that many channels
answer, so one deletion curve alone rates a good map no better than a random one, while the gap
between the orders cancels that (benchmarks/faithfulness.py). Random orders give the baseline every
map must beat. All perturbed photos of all maps are scored in a few batches: one forward pass each.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import images
from .attribution import BLUR_SIGMA, forward_scores
from .errors import InputError, Range, quoted
from .knobs import Knobs, knob
from .targets import Target

PATCH = Range("Patch", 1, 64, 16, label="Faithfulness: patch side (px)")
SEEDS = Range("Random maps", 1, 10, 3, label="Faithfulness: random maps (the baseline)")
# The shares of the photo changed: dense where a map's first choices decide the most.
FRACTIONS = (0.0, 0.1, 0.25, 0.5, 1.0)
GREY = 128
CURVES = ("deletion", "reverse", "insertion")
RANDOM = "random"


@dataclass(frozen=True)
class Protocol(Knobs):
    """How the photo is taken apart: square patches of `patch` px, changed in shares of `fractions`
    (from 0 to 1), against `seeds` random orders; for deletion greyed out (or black, or blurred: `fill`)."""

    patch: int = knob(PATCH)
    seeds: int = knob(SEEDS)
    fractions: tuple[float, ...] = FRACTIONS
    fill: str = "grey"


DEFAULT_PROTOCOL = Protocol()


@dataclass
class Curves:
    """A map's three curves: the target's score (1 = the photo's) at each fraction changed."""

    fractions: np.ndarray
    deletion: np.ndarray  # most relevant greyed first: the lower, the better
    reverse: np.ndarray  # least relevant greyed first: the higher, the better
    insertion: np.ndarray  # most relevant pasted first into a blurred copy: the higher, the better

    def area(self, curve: str) -> float:
        return float(np.trapezoid(getattr(self, curve), self.fractions))

    @property
    def gap(self) -> float:
        """How much more the score falls when the map's best patches go first than its worst."""
        return self.area("reverse") - self.area("deletion")


@dataclass
class Faithfulness:
    """Every map's curves for one target on one photo, and those of random orders (the baseline)."""

    target: Target
    score: float  # the photo's own score, which the curves are divided by
    measure: str  # what the score is, in words
    curves: dict[str, Curves]  # method -> its curves
    random: list[Curves]

    def baseline(self, curve: str) -> tuple[float, float]:
        """The random orders' mean and spread of an area (`curve`, or "gap")."""
        values = [c.gap if curve == "gap" else c.area(curve) for c in self.random]
        return float(np.mean(values)), float(np.std(values))

    def random_mean(self) -> Curves:
        """The random orders' curves, averaged."""
        curves = [np.mean([getattr(c, kind) for c in self.random], axis=0) for kind in CURVES]
        return Curves(self.random[0].fractions, *curves)

    def beats_random(self, method: str) -> bool:
        """Whether the map's gap lies above every random order's."""
        return self.curves[method].gap > max(c.gap for c in self.random)


def faithfulness(backbone, photo: np.ndarray, target: Target, maps: dict[str, np.ndarray],
                 protocol: Protocol = DEFAULT_PROTOCOL) -> Faithfulness:
    """The three curves of every map (H, W, of the uint8 `photo`'s size) for `target`, and of
    `protocol.seeds` random orders; the scores in the process's fast precision."""
    protocol = protocol.checked()
    grid = patch_grid(photo.shape[:2], protocol.patch)
    rng = np.random.default_rng(0)
    orders = {method: ranked_patches(heat, grid, rng) for method, heat in maps.items()}
    orders.update({f"{RANDOM} {k}": rng.permutation(grid[0] * grid[1]) for k in range(protocol.seeds)})
    fills = {"deletion": filled(photo, protocol.fill), "insertion": images.blurred(photo, BLUR_SIGMA)}
    ends = end_pictures(photo, fills)  # the same for every map: the photo, all grey, all blurred
    todo = [(name, curve, f) for name in orders for curve in CURVES for f in protocol.fractions
            if (curve, f) not in ends]
    scored = dict(zip(ends, forward_scores(backbone, ends.values(), target)))
    changed = (perturbed(photo, fills, orders[name], grid, curve, f, protocol.patch) for name, curve, f in todo)
    scored.update(zip(todo, forward_scores(backbone, changed, target)))
    own = scored[("deletion", 0.0)]
    if not own > 1e-6:
        raise InputError(f"{quoted(target.text)} does not respond to this photo (its score is {own:.3g}): there is "
                         "no evidence to take apart. Choose a target that fires here.")
    curves = {name: curves_of(name, protocol.fractions, scored, own) for name in orders}
    return Faithfulness(target, own, measure_of(target), {m: curves[m] for m in maps},
                        [curves[f"{RANDOM} {k}"] for k in range(protocol.seeds)])


def measure_of(target: Target) -> str:
    """What the curves score: a class's probability (its logit's sign says nothing), else the mean activation."""
    return "probability" if target.kind == "class" else "mean activation"


def patch_grid(shape: tuple[int, int], patch: int) -> tuple[int, int]:
    """How many patches fit down and across (the last row and column may be cut by the border)."""
    return -(-shape[0] // patch), -(-shape[1] // patch)


def ranked_patches(heat: np.ndarray, grid: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Patch indices, the highest mean of the map first (ties in random order, not by position)."""
    rows, columns = grid
    patch_h, patch_w = -(-heat.shape[0] // rows), -(-heat.shape[1] // columns)
    padded = np.zeros((rows * patch_h, columns * patch_w), np.float64)
    padded[:heat.shape[0], :heat.shape[1]] = heat
    means = padded.reshape(rows, patch_h, columns, patch_w).mean(axis=(1, 3)).ravel()
    shuffled = rng.permutation(means.size)
    return shuffled[np.argsort(-means[shuffled], kind="stable")]


FILLS = {"grey": lambda photo: np.full_like(photo, GREY), "black": np.zeros_like,
         "blur": lambda photo: images.blurred(photo, BLUR_SIGMA)}


def filled(photo: np.ndarray, fill: str) -> np.ndarray:
    """What a deleted patch becomes: grey, black (as RISE deletes) or the photo blurred."""
    if fill not in FILLS:
        raise InputError(f"Unknown fill {quoted(fill)}; use {', '.join(FILLS)}.")
    return FILLS[fill](photo)


def end_pictures(photo: np.ndarray, fills: dict) -> dict[tuple[str, float], np.ndarray]:
    """The pictures at both ends of the curves (nothing changed, everything changed): every map's."""
    return {("deletion", 0.0): photo, ("reverse", 0.0): photo, ("insertion", 1.0): photo,
            ("deletion", 1.0): fills["deletion"], ("reverse", 1.0): fills["deletion"],
            ("insertion", 0.0): fills["insertion"]}


def perturbed(photo, fills, order, grid, curve: str, fraction: float, patch: int) -> np.ndarray:
    """The photo with `fraction` of its patches changed, in `order` (reversed for "reverse"): greyed
    out for deletion, or the only ones shown over the blurred copy for insertion."""
    chosen = (order[::-1] if curve == "reverse" else order)[:int(round(fraction * order.size))]
    changed = np.zeros(order.size, bool)
    changed[chosen] = True
    mask = np.kron(changed.reshape(grid), np.ones((patch, patch), bool))[:photo.shape[0], :photo.shape[1], None]
    if curve == "insertion":
        return np.where(mask, photo, fills["insertion"])
    return np.where(mask, fills["deletion"], photo)


def curves_of(name: str, fractions, scored: dict, own: float) -> Curves:
    """One order's curves from the scores by (name, curve, fraction), or by (curve, fraction) at the
    ends every order shares, divided by the photo's score."""
    def curve(kind):
        return np.array([scored.get((name, kind, f), scored.get((kind, f))) for f in fractions]) / own

    return Curves(np.asarray(fractions, float), curve("deletion"), curve("reverse"), curve("insertion"))
