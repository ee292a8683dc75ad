"""The Building Blocks of interpretability (Olah et al., Distill 2018) on your own photo: a layer's
activations factorized into neuron groups (non-negative matrix factorization), each group's map over
the photo, its picture, its channels and how much it adds to a target; and the semantic dictionary
of a place in the photo (the channels that fire most there).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace

import numpy as np

from . import images
from .engine import objectives
from .attribution import resolve_targets, score_gradients
from .errors import SEED, InputError, Range, quoted
from .knobs import Knobs, knob
from .model import LAST_CONV, Backbone, check_conv_layer, features
from .targets import Target
from .visualize import VisualizationRun, pictures

GROUPS = Range("Groups", 2, 12, 6)
PHOTO_SIDE = 224
# Every group's picture within the AVX2 float32 budget (benchmarks/blocks.py).
PICTURES = VisualizationRun(steps=100, size=96)
TOP_CHANNELS = 5
COLOURS = np.array([[230, 25, 75], [60, 180, 75], [255, 200, 25], [0, 130, 200], [245, 130, 48], [145, 30, 180],
                    [70, 240, 240], [240, 50, 230], [170, 110, 40], [0, 128, 128], [128, 128, 0], [0, 0, 128]],
                   np.float32)  # one colour a group, told apart at a glance (after Sasha Trubetskoy's list)


@dataclass
class NeuronGroups:
    """A photo's activations at `layer` ≈ maps × directions, both non-negative."""

    layer: str
    photo: np.ndarray  # the photo as the network saw it (uint8)
    maps: np.ndarray  # (groups, h, w): how strongly each group fires at each position
    directions: np.ndarray  # (groups, channels), each row of unit length
    explained: float  # share of the activations' energy the groups reproduce
    contributions: dict[str, np.ndarray]  # target -> (groups,): gradient × the group's part of the activations

    def channels(self, group: int, count: int = TOP_CHANNELS) -> list[tuple[int, float]]:
        """The channels that weigh most in a group, with their share of its direction."""
        row = self.directions[group]
        order = np.argsort(-row)[:count]
        return [(int(c), float(row[c] / row.sum())) for c in order]


def factorize(acts: np.ndarray, groups: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, float]:
    """Non-negative (positions × channels) ≈ W (positions × groups) · H (groups × channels), H's rows
    of unit length, the strongest group first; and the share of the energy ‖A‖² that W·H keeps."""
    from sklearn.decomposition import NMF
    from sklearn.exceptions import ConvergenceWarning

    model = NMF(n_components=groups, init="nndsvda", max_iter=500, tol=1e-4, random_state=seed)
    with warnings.catch_warnings():  # 500 iterations are close enough for a picture
        warnings.simplefilter("ignore", ConvergenceWarning)
        w = model.fit_transform(acts.astype(np.float64))
    h = model.components_
    norms = np.linalg.norm(h, axis=1) + 1e-12
    w, h = w * norms, h / norms[:, None]
    order = np.argsort(-w.sum(axis=0))
    w, h = w[:, order], h[order]
    explained = 1.0 - float(np.sum((acts - w @ h) ** 2) / max(np.sum(acts.astype(np.float64) ** 2), 1e-12))
    return w, h, explained


@dataclass(frozen=True)
class GroupsRun(Knobs):
    """Neuron groups' knobs: the conv layer, how many groups, what they add to (a channel or layer at
    or after the layer, or a class; empty: the top classes with the classifier, nothing without), the seed."""

    layer: str = LAST_CONV
    groups: int = knob(GROUPS)
    target: str = ""
    seed: int = knob(SEED)


def neuron_groups(backbone: Backbone, photo: np.ndarray, run: GroupsRun = GroupsRun()) -> NeuronGroups:
    """The photo's neuron groups at a conv layer, and what each adds to the target (or, with the
    classifier and no target, to the top classes; without either, nothing)."""
    run = run.checked()
    layer = check_conv_layer(backbone, run.layer, "The building blocks need")
    picture, acts = seen_at(backbone, photo, layer)
    x = images.to_float(picture)[None]
    w, h, explained = factorize(acts.reshape(-1, acts.shape[-1]), run.groups, run.seed)
    maps = w.T.reshape(run.groups, *acts.shape[:2])
    chosen = resolve_targets(backbone, x[0], run.target, top=3) if run.target or backbone.has_classifier else []
    contributions = {t.text: contribution(backbone, x, t, layer, w, h) for t in chosen}
    return NeuronGroups(layer, picture, maps.astype(np.float32), h.astype(np.float32), explained, contributions)


def seen_at(backbone: Backbone, photo: np.ndarray, layer: str) -> tuple[np.ndarray, np.ndarray]:
    """The photo as the network sees it (PHOTO_SIDE), and its activations at `layer` (h, w, channels)."""
    picture = images.fit_for_network(photo, PHOTO_SIDE)
    return picture, features(backbone, images.to_float(picture)[None], [layer])[layer][0]


def contribution(backbone: Backbone, x: np.ndarray, target: Target, layer: str, w: np.ndarray,
                 h: np.ndarray) -> np.ndarray:
    """Each group's share of the target's first-order change: Σ over positions of the gradient at
    `layer` dotted with the group's part of the activations, W[:, g] · H[g] (gradient × input)."""
    names = backbone.layer_names
    if names.index(target.layer) < names.index(layer):
        raise InputError(f"The target {quoted(target.text)} lies before {layer}: the groups cannot contribute "
                         "to it; name a deeper channel or layer.")
    _, acts, grads, _ = score_gradients(backbone, x, target, layer)
    g = grads[0].reshape(-1, grads.shape[-1]).astype(np.float64)
    if g.shape[0] != w.shape[0]:  # a class: the classifier saw the photo squashed to its square, so the
        w = weights_for(acts[0].reshape(g.shape), h)  # groups' weights at the positions it saw
    return np.einsum("pg,gc,pc->g", w, h, g)


def weights_for(acts: np.ndarray, h: np.ndarray) -> np.ndarray:
    """The non-negative weights W with acts ≈ W · H for fixed group directions H (positions × groups)."""
    from sklearn.decomposition import non_negative_factorization

    w, _, _ = non_negative_factorization(acts.astype(np.float64), H=h, n_components=h.shape[0], init="custom",
                                         update_H=False, max_iter=500)
    return w


def group_directions_pictures(backbone: Backbone, groups: NeuronGroups, run: VisualizationRun = PICTURES):
    """What each group wants to see: pictures that maximize the activations along its direction,
    one batch (the run's steps, size and seed); yields (step, pictures, responses) as they form."""
    objective = objectives.direction(groups.layer, groups.directions)
    for snapshot in pictures(backbone, objective, len(groups.directions), run):
        yield snapshot.step, list(snapshot.images), [-float(v) for v in snapshot.losses["direction"]]


def group_overlay(groups: NeuronGroups) -> np.ndarray:
    """The photo in grey with each place in the colour of its strongest group, as strongly as it fires."""
    maps = images.normalize(np.moveaxis(groups.maps, 0, -1))  # (h, w, groups), each group to [0, 1]
    return coloured(groups.photo, COLOURS[maps.argmax(axis=-1) % len(COLOURS)], maps.max(axis=-1))


def group_map(groups: NeuronGroups, group: int) -> np.ndarray:
    """Where one group fires, in its colour over the photo in grey."""
    strength = images.normalize(groups.maps[group])
    return coloured(groups.photo, np.broadcast_to(COLOURS[group % len(COLOURS)], strength.shape + (3,)), strength)


def coloured(photo: np.ndarray, colours: np.ndarray, strength: np.ndarray, opacity: float = 0.8) -> np.ndarray:
    """Colours (h, w, 3, 0–255) over the photo in grey, as opaque as `strength` (h, w, 0–1), at the
    photo's size."""
    shape = photo.shape[:2]
    overlay = images.to_uint8(np.clip(images.resize_float(colours.astype(np.float32) / 255, shape), 0, 1))
    alpha = np.clip(images.resize_float(strength[..., None].astype(np.float32), shape), 0, 1)
    return images.blend(images.grey(photo), overlay, opacity * alpha)


# A place in the photo, as fractions of its width and height (the centre by default), and how many
# channels its dictionary lists.
X, Y = Range("x", 0.0, 1.0, 0.5), Range("y", 0.0, 1.0, 0.5)
ENTRIES = Range("Channels", 1, 32, 8)


@dataclass(frozen=True)
class Place(Knobs):
    """Where the semantic dictionary looks: a conv layer, a place (fractions of the photo's width and
    height), how many channels it lists."""

    layer: str = LAST_CONV
    x: float = knob(X)
    y: float = knob(Y)
    count: int = knob(ENTRIES)


def dictionary(backbone: Backbone, photo: np.ndarray, place: Place = Place()) -> list[tuple[int, float]]:
    """The semantic dictionary of a place: the `count` channels of the layer that fire most there
    beyond their mean over the photo (what is distinctive at the place, not what fires everywhere),
    with that excess."""
    place = place.checked()
    layer = check_conv_layer(backbone, place.layer, "The building blocks need")
    _, acts = seen_at(backbone, photo, layer)
    row = min(int(place.y * acts.shape[0]), acts.shape[0] - 1)
    column = min(int(place.x * acts.shape[1]), acts.shape[1] - 1)
    excess = acts[row, column] - acts.mean(axis=(0, 1))
    order = np.argsort(-excess)[:place.count]
    return [(int(c), float(excess[c])) for c in order]


def sized_by_activation(pictures: list[np.ndarray], values: list[float], least: float = 0.3) -> list[np.ndarray]:
    """A dictionary's entries drawn as large as they fire: each square picture shrunk in proportion to
    its value against the strongest (never below `least` of its side), centred on white, all one size."""
    side = max(p.shape[0] for p in pictures)
    strongest = max(max(values), 1e-12)
    entries = []
    for picture, value in zip(pictures, values):
        shown = max(1, round(side * max(least, min(1.0, value / strongest))))
        entry = np.full((side, side, 3), 255, np.uint8)
        top = (side - shown) // 2
        entry[top:top + shown, top:top + shown] = images.resize(picture, (shown, shown))
        entries.append(entry)
    return entries


CELLS = Range("Cells", 2, 10, 8, label="Activation grid: cells along the long side")
CELL_PICTURES = VisualizationRun(steps=96, size=64)  # a cell's picture


@dataclass(frozen=True)
class GridRun(Knobs):
    """The activation grid's knobs: the conv layer, the cells along the photo's long side, the seed;
    and how each cell's picture is made."""

    layer: str = LAST_CONV
    cells: int = knob(CELLS)
    seed: int = knob(SEED)
    pictures: VisualizationRun = CELL_PICTURES


@dataclass
class ActivationGrid:
    """One streamed state of the activation grid: a picture per cell, laid out as the photo."""

    step: int
    steps: int
    seconds: float
    rows: int
    columns: int
    cells: list[np.ndarray]  # uint8, row by row
    picture: np.ndarray  # the cells tiled in the photo's geometry


def cell_vectors(acts: np.ndarray, cells: int) -> tuple[np.ndarray, int, int]:
    """The activations (h, w, channels) averaged over a grid of `cells` along the photo's long side
    (fewer along the short side, in proportion): (rows·columns, channels), rows, columns."""
    h, w, _ = acts.shape
    rows, columns = (cells, max(1, round(cells * w / h))) if h >= w else (max(1, round(cells * h / w)), cells)
    rows, columns = min(rows, h), min(columns, w)
    down = np.linspace(0, h, rows + 1).round().astype(int)
    across = np.linspace(0, w, columns + 1).round().astype(int)
    vectors = [acts[down[i]:down[i + 1], across[j]:across[j + 1]].mean(axis=(0, 1))
               for i in range(rows) for j in range(columns)]
    return np.stack(vectors), rows, columns


def activation_grid(backbone: Backbone, photo: np.ndarray, run: GridRun = GridRun()):
    """What the network sees at each place of the photo: for each cell of a grid, a picture of the
    activation vector there (its direction, times the cosine: Lucid's activation grid), all cells in one
    batch; yields an ActivationGrid as the pictures form."""
    run = run.checked()
    layer = check_conv_layer(backbone, run.layer, "The building blocks need")
    _, acts = seen_at(backbone, photo, layer)
    vectors, rows, columns = cell_vectors(acts, run.cells)
    objective = objectives.direction(layer, vectors + 1e-6, cosine_power=1.0)
    made = replace(run.pictures, seed=run.seed)
    for snapshot in pictures(backbone, objective, len(vectors), made):
        shown = np.stack(snapshot.images)
        yield ActivationGrid(snapshot.step, made.steps, snapshot.seconds, rows, columns, list(shown),
                             images.tile(shown, columns, gap=1))
