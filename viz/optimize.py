"""THE optimization loop: make images that minimize an objective on a network's features.

Reconstruction, class/channel visualization and style transfer all run here; they differ only in
the parametrization, the objective, the transforms and the optimizer they hand in. `optimize` is
a generator: it yields a `Snapshot` every `every` steps, and closing it stops the work at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from functools import partial
from itertools import zip_longest
from typing import Callable, Iterator

import numpy as np
import tensorflow as tf

from .images import to_uint8
from .objectives import Objective

OPTIMIZERS = ("adam", "lbfgs")
DEFAULT_LR = {"adam": 0.02, "lbfgs": 1.0}  # a step size for pixels in [0, 1]; L-BFGS's is its line search's first try
MIN_STAGE_SIDE = 32  # a coarse stage (octave, style stage) is never smaller than this
CONVERGENCE_WINDOW = 20  # steps over which `tolerance` judges whether the loss still moves


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


def optimize(
    objective: Objective,
    param,
    net: Callable[[tf.Tensor], dict],
    steps: int = 200,
    every: int = 10,
    optimizer: str = "adam",
    lr: float = 0.05,
    transform=None,
    seed: int = 0,
    max_wait: float = 2.0,
    tolerance: float = 0.0,
) -> Iterator[Snapshot]:
    """Minimize `objective` over `param` = (variables, to_image); `net` maps [0, 1] images to features.

    Yields a Snapshot after the first step (so the page shows something at once), every `every`
    steps, or sooner once `max_wait` seconds have passed since the last one (so a Stop, which acts
    between yields, is prompt), and after the last step (which comes early if the optimizer
    converges, or once the loss fell by less than `tolerance` of itself over the last
    CONVERGENCE_WINDOW steps). Seeded: the same inputs and seed give the same images.
    """
    variables, to_image = param
    rng = tf.random.Generator.from_seed(seed)
    evaluate = partial(loss_and_gradients, objective, to_image, net, variables, transform, rng)
    compile_ = partial(tf.function, autograph=False)
    stepper = until_flat(make_optimizer(optimizer, lr).minimize(evaluate, variables, compile_), tolerance)
    start, last = time.perf_counter(), None
    shown = start
    for step in range(1, steps + 1):
        terms, done = next(stepper, None), False
        if terms is None:  # the optimizer has converged: report where it stopped
            terms, step, done = last, step - 1, True
        if step % every == 0 or step in (1, steps) or done or time.perf_counter() - shown > max_wait:
            losses = {name: value.numpy() for name, value in terms.items()}
            shown = time.perf_counter()
            yield Snapshot(step, to_uint8(to_image().numpy()), losses, shown - start)
        if done:
            return
        last = terms


def until_flat(stepper: Iterator[dict], tolerance: float, window: int = CONVERGENCE_WINDOW) -> Iterator[dict]:
    """The optimizer's steps, ending once the total loss fell by less than `tolerance` (relative) over
    the last `window` steps: a converged run stops instead of burning its remaining steps."""
    totals = []
    for terms in stepper:
        yield terms
        if tolerance:
            totals.append(float(tf.add_n([tf.reduce_sum(v) for v in terms.values()])))
            if len(totals) > window and totals[-window - 1] - totals[-1] < tolerance * abs(totals[-window - 1]):
                return


def side_by_side(runs: list[Iterator[Snapshot]]) -> Iterator[list[Snapshot]]:
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
    Steps are counted across stages."""
    done, pictures = 0, None
    for shape, steps in plan:
        for snapshot in run_stage(shape, steps, pictures):
            pictures = snapshot.images
            yield replace(snapshot, step=done + snapshot.step)
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


def loss_and_gradients(objective, to_image, net, variables, transform, rng):
    """One evaluation: the terms (B,) by name, their total, and its gradients for `variables`."""
    with tf.GradientTape() as tape:
        images = to_image()
        seen = images if transform is None else transform(images, rng)
        terms = objective(net(seen), images)
        total = tf.add_n([tf.reduce_sum(value) for value in terms.values()])
    return terms, total, tape.gradient(total, variables)


def make_optimizer(name: str, lr: float):
    if name == "adam":
        return Adam(lr)
    if name == "lbfgs":
        return LBFGS(lr)
    raise ValueError(f"Unknown optimizer {name!r}; use one of {OPTIMIZERS}.")


class Adam:
    """Adam (Kingma & Ba 2015), its update compiled together with the evaluation in one tf.function.

    Scale-free: ε is relative to the gradient's RMS over the variable, so multiplying the objective
    (or every feature of the network) by c leaves every step unchanged; an absolute ε damped 5–7 % of
    a Fourier image's coefficients on the offline weights and would damp others on ImageNet's.
    Written out rather than Keras' optimizer: a fresh Keras optimizer per run, applied inside a fresh
    tf.function, left about twice as much memory behind per run in a long-running server (measured:
    3.0 against 1.6 MB per small visualization run; the rest is TensorFlow keeping each trace).
    """

    beta_1, beta_2 = 0.9, 0.999  # Keras' defaults
    relative_epsilon = 1e-4  # × the RMS of √s: about the absolute 1e-7 it replaces, on the offline weights

    def __init__(self, lr: float):
        self.lr = lr

    def minimize(self, evaluate, variables, compile_) -> Iterator[dict]:
        moments = [(tf.Variable(tf.zeros_like(v)), tf.Variable(tf.zeros_like(v))) for v in variables]
        count = tf.Variable(0.0)

        def step():
            terms, _, grads = evaluate()
            count.assign_add(1.0)
            rate = self.lr * tf.sqrt(1 - self.beta_2 ** count) / (1 - self.beta_1 ** count)
            for v, g, (m, s) in zip(variables, grads, moments):
                m.assign(self.beta_1 * m + (1 - self.beta_1) * g)
                s.assign(self.beta_2 * s + (1 - self.beta_2) * tf.square(g))
                epsilon = self.relative_epsilon * tf.sqrt(tf.reduce_mean(s)) + 1e-30
                v.assign_sub(rate * m / (tf.sqrt(s) + epsilon))
            return terms

        step = compile_(step)
        while True:
            yield step()


class LBFGS:
    """Limited-memory BFGS with a weak-Wolfe line search (expand while still steep, shrink when the
    loss does not fall enough), for deterministic objectives.

    Stops (ends its iterator) when even a steepest-descent step no longer decreases the loss. Written
    here rather than taken from SciPy or TensorFlow Probability because it must hand back control
    after every step: the run streams its images and a Stop acts between yields.
    """

    tries = 8

    def __init__(self, lr: float = 1.0, memory: int = 10):
        self.lr, self.memory = lr, memory

    def minimize(self, evaluate, variables, compile_) -> Iterator[dict]:
        evaluate = compile_(evaluate)
        terms, f, g = self.flat_eval(evaluate)
        history: list[tuple[np.ndarray, np.ndarray, float]] = []
        while True:
            x = self.get(variables)
            d = -self.direction(g, history)
            slope = float(g @ d)
            if slope >= 0:  # not a descent direction: restart from steepest descent
                history.clear()
                d, slope = -g, -float(g @ g)
            t = self.lr if history else self.lr * 0.01 / max(np.abs(g).max(), 1e-12)
            found = self.line_search(evaluate, variables, x, d, f, slope, t)
            if found is None:  # no decrease along d: a stale history, or convergence if already fresh
                self.set(variables, x)
                yield terms
                if not history:
                    return
                history.clear()
                continue
            t, (new_terms, new_f, new_g) = found
            s, y = t * d, new_g - g
            if float(s @ y) > 1e-10:
                history.append((s, y, 1.0 / float(s @ y)))
                history[:] = history[-self.memory:]
            yield terms
            terms, f, g = new_terms, new_f, new_g

    def line_search(self, evaluate, variables, x, d, f, slope, t):
        """A step t along d with sufficient decrease (Armijo) and, if it can, a flattened slope
        (curvature condition), and the evaluation there; None if the loss never fell."""
        best = None
        for _ in range(self.tries):
            self.set(variables, x + t * d)
            result = self.flat_eval(evaluate)
            if result[1] > f + 1e-4 * t * slope:  # too far
                if best is not None:
                    break
                t *= 0.25
                continue
            best = (t, result)
            if float(result[2] @ d) >= 0.9 * slope:  # the slope has flattened enough
                return best
            t *= 4.0  # still steep: go further
        if best is not None:
            self.set(variables, x + best[0] * d)
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

    @staticmethod
    def flat_eval(evaluate):
        terms, total, grads = evaluate()
        return terms, float(total), np.concatenate([np.ravel(g.numpy()) for g in grads]).astype(np.float64)

    @staticmethod
    def get(variables) -> np.ndarray:
        return np.concatenate([np.ravel(v.numpy()) for v in variables]).astype(np.float64)

    @staticmethod
    def set(variables, x: np.ndarray) -> None:
        offset = 0
        for v in variables:
            size = int(np.prod(v.shape))
            v.assign(x[offset:offset + size].reshape(v.shape).astype(np.float32))
            offset += size
