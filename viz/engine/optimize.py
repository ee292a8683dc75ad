"""THE optimization loop: make images that minimize an objective on a network's features.

Reconstruction, class/channel visualization and style transfer all run here; they differ only in
the parametrization, the objective, the transforms and the optimizer they hand in. `optimize` is
a generator: it yields a `Snapshot` every `every` steps, and closing it stops the work at once.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from dataclasses import dataclass, replace
from functools import cached_property, lru_cache, partial
from itertools import zip_longest
from typing import Callable, Iterator

import numpy as np
import tensorflow as tf

from ..images import to_uint8
from .objectives import Objective, graph_key

OPTIMIZERS = ("adam", "lbfgs")
DEFAULT_LR = {"adam": 0.02, "lbfgs": 1.0}  # a step size for pixels in [0, 1]; L-BFGS's is its line search's first try
MIN_STAGE_SIDE = 32  # a coarse stage (octave, style stage) is never smaller than this
CONVERGENCE_WINDOW = 20  # steps over which `tolerance` judges whether the loss still moves
# Compiled steps kept for reuse, the least recently used dropped first; each holds its graph, so the
# count bounds their memory (benchmarks/load.py); a visualization or a style transfer is 3.
COMPILED_KINDS = 24


@dataclass
class Snapshot:
    """The state of a run after `step` steps."""

    step: int
    images: np.ndarray  # (B, H, W, 3) uint8
    losses: dict[str, np.ndarray]  # weighted value of each term, per image: name -> (B,)
    seconds: float  # since the run started

    @property
    def total(self) -> np.ndarray:
        """The loss being minimized, per image."""
        return np.sum(list(self.losses.values()), axis=0)


class TimeUp(Exception):
    """Raised inside a run once the time its caller allowed it (`stop_by`) has passed: nothing half
    made is kept or cached, whatever was computing it."""


_deadline = threading.local()


@contextlib.contextmanager
def stop_by(deadline: float | None, halt: threading.Event | None = None):
    """While inside, every evaluation in this thread first checks the clock (time.monotonic) against
    `deadline` (None: no limit), and `halt` (a person's Stop), and raises TimeUp past the one or once the
    other is set: a run then ends within one evaluation, however long its snapshots or batches take."""
    previous = getattr(_deadline, "at", None), getattr(_deadline, "halt", None)
    _deadline.at, _deadline.halt = deadline, halt
    try:
        yield
    finally:
        _deadline.at, _deadline.halt = previous


def check_the_clock() -> None:
    """TimeUp if the time `stop_by` allowed this thread has passed, or its run was asked to stop."""
    at, halt = getattr(_deadline, "at", None), getattr(_deadline, "halt", None)
    if (at is not None and time.monotonic() > at) or (halt is not None and halt.is_set()):
        raise TimeUp


@dataclass(frozen=True)
class Schedule:
    """How one run of the loop goes: its steps, how often it reports, its optimizer and step size
    (None: the optimizer's own, DEFAULT_LR), its seed, when it counts as converged (the loss fell by
    less than `tolerance` of itself over CONVERGENCE_WINDOW steps; 0: never) and the longest wait
    between two snapshots."""

    steps: int = 200
    every: int = 10
    optimizer: str = "adam"
    lr: float | None = None
    seed: int = 0
    tolerance: float = 0.0
    max_wait: float = 2.0


def optimize(objective: Objective, param, net: Callable[[tf.Tensor], dict], schedule: Schedule = Schedule(),
             transform=None) -> Iterator[Snapshot]:
    """Minimize `objective` over `param` = (start values, to_image); `net` maps [0, 1] images to
    features, seen through `transform` (seeded per step) if one is given.

    Yields a Snapshot after the first step (so the page shows something at once), every
    `schedule.every` steps, or sooner once `max_wait` seconds have passed since the last one (so a
    Stop, which acts between yields, is prompt), and after the last step (which comes early if the
    optimizer converges, or once the loss stops falling: see Schedule). Seeded: the same inputs and
    seed give the same images. The compiled step is shared with earlier runs of the same kind (see
    `compiled`).
    """
    steps, every, max_wait = schedule.steps, schedule.every, schedule.max_wait
    start_values, to_image = param
    method = make_optimizer(schedule.optimizer, schedule.lr)
    step_fn = compiled(kind_of(objective, param, net, transform), schedule.optimizer)
    data = tf.nest.map_structure(tf.constant, objective.feed())
    stepper = until_flat(method.minimize(step_fn, start_values, data, schedule.seed), schedule.tolerance)
    start, last = time.perf_counter(), None
    shown = start
    for step in range(1, steps + 1):
        check_the_clock()
        state, done = next(stepper, None), False
        if state is None:  # the optimizer has converged: report where it stopped
            state, step, done = last, step - 1, True
        terms, values = state
        if step % every == 0 or step in (1, steps) or done or time.perf_counter() - shown > max_wait:
            losses = {name: value.numpy() for name, value in terms.items()}
            shown = time.perf_counter()
            yield Snapshot(step, to_uint8(to_image(values).numpy()), losses, shown - start)
        if done:
            return
        last = state


@dataclass(frozen=True, eq=False)
class Kind:
    """What a compiled step is built from: an objective without its data, the parametrization's
    to_image, the network and the transform. Kinds with equal keys compute the same function of their
    inputs (image values, the objective's data, a seed). The network counts as itself (model.network
    gives the same function for the same arguments); a kind holds what its key names by identity, so
    no id in a cached key is ever reused."""

    objective: Objective
    to_image: Callable
    net: Callable
    transform: Callable | None
    shapes: tuple  # of the values and of the data: one trace per kind, so the cache bounds them all

    @cached_property
    def key(self) -> tuple:
        transform = None if self.transform is None else graph_key(self.transform)
        return self.objective.structure(), graph_key(self.to_image), id(self.net), transform, self.shapes

    def __hash__(self):
        return hash(self.key)

    def __eq__(self, other):
        return isinstance(other, Kind) and self.key == other.key


def kind_of(objective: Objective, param, net, transform) -> Kind:
    """The kind of a run that minimizes `objective` over `param` through `transform` and `net`."""
    start, to_image = param
    shapes = tuple(np.shape(v) for v in start), objective.data_shapes()
    return Kind(objective.without_data(), to_image, net, transform, shapes)


@lru_cache(maxsize=COMPILED_KINDS)
def compiled(kind: Kind, optimizer: str):
    """The compiled step of `optimizer` for runs of `kind`: traced by the first such run and reused by
    the next (a trace costs a noticeable share of a short stage)."""
    return tf.function(optimizer_class(optimizer).step_of(partial(loss_and_gradients, kind)), autograph=False)


def loss_and_gradients(kind: Kind, values, data, seed):
    """One evaluation at image `values`: the terms (B,) by name, their total, and its gradients."""
    with tf.GradientTape() as tape:
        tape.watch(values)
        images = kind.to_image(values)
        seen = images if kind.transform is None else kind.transform(images, seed)
        terms = kind.objective(kind.net(seen), images, data)
        total = tf.add_n([tf.reduce_sum(value) for value in terms.values()])
    return terms, total, tape.gradient(total, values)


def step_seed(seed: int, step: int) -> tf.Tensor:
    """The random transforms' seed at one step of a seeded run."""
    return tf.constant([seed, step], tf.int64)


def until_flat(stepper: Iterator[tuple], tolerance: float, window: int = CONVERGENCE_WINDOW) -> Iterator[tuple]:
    """The optimizer's (terms, values) steps, ending once the total loss fell by less than `tolerance`
    (relative) over the last `window` steps: a converged run stops instead of burning its remaining steps."""
    totals = []
    for state in stepper:
        yield state
        terms = state[0]
        if tolerance:
            totals.append(float(tf.add_n([tf.reduce_sum(v) for v in terms.values()])))
            if len(totals) > window and totals[-window - 1] - totals[-1] < tolerance * abs(totals[-window - 1]):
                return


def interleaved(runs: list[Iterator[Snapshot]]) -> Iterator[list[Snapshot]]:
    """Advance several runs in turn, yielding their latest snapshots together; a run that ends early
    (converged) keeps its last one. Closing this closes them all."""
    latest = [None] * len(runs)
    try:
        for snapshots in zip_longest(*runs):
            latest = [new or old for new, old in zip(snapshots, latest)]
            yield latest
    finally:
        for run in runs:
            run.close()


def coarse_to_fine(plan, run_stage) -> Iterator[Snapshot]:
    """Chain runs over growing sizes: `plan` is [(shape, steps)], `run_stage(shape, steps, images)`
    returns an `optimize` run that starts from the previous stage's uint8 images (None at first).
    Steps and seconds are counted across stages."""
    done, pictures, begin = 0, None, time.perf_counter()
    for shape, steps in plan:
        for snapshot in run_stage(shape, steps, pictures):
            pictures = snapshot.images
            yield replace(snapshot, step=done + snapshot.step, seconds=time.perf_counter() - begin)
        done += steps


def stage_plan(shape: tuple[int, int], steps: int, stages) -> list[tuple[tuple[int, int], int]]:
    """[(shape, steps)] coarse to fine: `stages` is [(divisor of the size, share of the steps)] ending
    at divisor 1, which gets whatever the coarser stages left."""
    plan, left = [], steps
    for divisor, share in stages:
        stage_steps = left if divisor == 1 else min(left, round(steps * share))
        if stage_steps:
            plan.append((scaled_shape(shape, divisor), stage_steps))
        left -= stage_steps
    return plan


def scaled_shape(shape: tuple[int, int], divisor: float) -> tuple[int, int]:
    """A coarse stage's (H, W): `shape` divided by `divisor`, at least MIN_STAGE_SIDE a side."""
    return max(MIN_STAGE_SIDE, round(shape[0] / divisor)), max(MIN_STAGE_SIDE, round(shape[1] / divisor))


def make_optimizer(name: str, lr: float | None):
    """The optimizer `name` at step size `lr` (None: its own, DEFAULT_LR)."""
    return optimizer_class(name)(DEFAULT_LR[name] if lr is None else lr)


def optimizer_class(name: str):
    """Adam or LBFGS by name: each compiles its `step_of` an evaluation, and runs it in `minimize`."""
    classes = {"adam": Adam, "lbfgs": LBFGS}
    if name not in classes:
        raise ValueError(f"Unknown optimizer {name!r}; use one of {OPTIMIZERS}.")
    return classes[name]


class Adam:
    """Adam (Kingma & Ba 2015), its update compiled together with the evaluation in one tf.function.

    Scale-free: ε is relative to the gradient's RMS over the variable, so multiplying the objective
    (or every feature of the network) by c leaves every step unchanged; an absolute ε damps some of a
    Fourier image's coefficients, and which ones depends on the weights' scale.
    Written out rather than Keras' optimizer, as a function of its state (no variables), so that one
    compiled step serves every run of a kind.
    """

    beta_1, beta_2 = 0.9, 0.999  # Keras' defaults
    relative_epsilon = 1e-4  # × the RMS of √s: about the absolute 1e-7 it replaces, on the offline weights

    def __init__(self, lr: float):
        self.lr = lr

    @classmethod
    def step_of(cls, evaluate):
        """One update after one evaluation, to be compiled as one: the state in, the new state out."""
        def step(values, moments, count, data, seed, lr):
            terms, _, grads = evaluate(values, data, seed)
            count = count + 1.0
            rate = lr * tf.sqrt(1 - cls.beta_2 ** count) / (1 - cls.beta_1 ** count)
            new_values, new_moments = [], []
            for v, g, (m, s) in zip(values, grads, moments):
                m = cls.beta_1 * m + (1 - cls.beta_1) * g
                s = cls.beta_2 * s + (1 - cls.beta_2) * tf.square(g)
                epsilon = cls.relative_epsilon * tf.sqrt(tf.reduce_mean(s)) + 1e-30
                new_values.append(v - rate * m / (tf.sqrt(s) + epsilon))
                new_moments.append((m, s))
            return terms, new_values, new_moments, count
        return step

    def minimize(self, step, start, data, seed: int) -> Iterator[tuple[dict, list]]:
        """(terms at the values before the step, values after it), step after step."""
        values = [tf.constant(v) for v in start]
        moments = [(tf.zeros_like(v), tf.zeros_like(v)) for v in values]
        count, lr = tf.constant(0.0), tf.constant(self.lr, tf.float32)
        for k in itertools.count():
            terms, values, moments, count = step(values, moments, count, data, step_seed(seed, k), lr)
            yield terms, values


class LBFGS:
    """Limited-memory BFGS with a weak-Wolfe line search (expand while still steep, shrink when the
    loss does not fall enough), for deterministic objectives.

    Stops (ends its iterator) when even a steepest-descent step no longer decreases the loss. Written
    here rather than taken from SciPy or TensorFlow Probability because it must hand back control
    after every step: the run streams its images and a Stop acts between yields.
    """

    tries = 8

    def __init__(self, lr: float, memory: int = 10):
        self.lr, self.memory = lr, memory

    @staticmethod
    def step_of(evaluate):
        """What is compiled: the evaluation alone (the line search and the update run in numpy)."""
        return evaluate

    def minimize(self, evaluate, start, data, seed: int) -> Iterator[tuple[dict, list]]:
        """(terms at the point before the step, values after it), step after step."""
        shapes, seed = [v.shape for v in start], step_seed(seed, 0)

        def at(x):
            check_the_clock()  # a line search may evaluate several times within one step
            terms, total, grads = evaluate(unflatten(x, shapes), data, seed)
            return terms, float(total), np.concatenate([np.ravel(g.numpy()) for g in grads]).astype(np.float64)

        x = np.concatenate([np.ravel(v) for v in start]).astype(np.float64)
        terms, f, g = at(x)
        history: list[tuple[np.ndarray, np.ndarray, float]] = []
        while True:
            d = -self.direction(g, history)
            slope = float(g @ d)
            if slope >= 0:  # not a descent direction: restart from steepest descent
                history.clear()
                d, slope = -g, -float(g @ g)
            t = self.lr if history else self.lr * 0.01 / max(np.abs(g).max(), 1e-12)
            found = self.line_search(at, d, x, f, slope, t)
            if found is None:  # no decrease along d: a stale history, or convergence if already fresh
                yield terms, unflatten(x, shapes)
                if not history:
                    return
                history.clear()
                continue
            t, (new_terms, new_f, new_g) = found
            s, y = t * d, new_g - g
            if float(s @ y) > 1e-10:
                history.append((s, y, 1.0 / float(s @ y)))
                history[:] = history[-self.memory:]
            x = x + s
            yield terms, unflatten(x, shapes)
            terms, f, g = new_terms, new_f, new_g

    def line_search(self, at, d, x, f, slope, t):
        """A step t along d with sufficient decrease (Armijo) and, if it can, a flattened slope
        (curvature condition), and the evaluation there; None if the loss never fell."""
        best = None
        for _ in range(self.tries):
            result = at(x + t * d)
            if result[1] > f + 1e-4 * t * slope:  # too far
                if best is not None:
                    break
                t *= 0.25
                continue
            best = (t, result)
            if float(result[2] @ d) >= 0.9 * slope:  # the slope has flattened enough
                return best
            t *= 4.0  # still steep: go further
        return best

    @staticmethod
    def direction(g: np.ndarray, history) -> np.ndarray:
        """H·g by the two-loop recursion over the stored (s, y) pairs."""
        q, alphas = g.copy(), []
        for s, y, rho in reversed(history):
            a = rho * float(s @ q)
            q -= a * y
            alphas.append(a)
        if history:
            s, y, _ = history[-1]
            q *= float(s @ y) / float(y @ y)
        for (s, y, rho), a in zip(history, reversed(alphas)):
            q += (a - rho * float(y @ q)) * s
        return q


def unflatten(x: np.ndarray, shapes) -> list[tf.Tensor]:
    """The flat float64 vector `x` as float32 tensors of `shapes`."""
    values, offset = [], 0
    for shape in shapes:
        size = int(np.prod(shape))
        values.append(tf.constant(x[offset:offset + size].reshape(shape), tf.float32))
        offset += size
    return values
