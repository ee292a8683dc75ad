"""THE optimization loop: make images that minimize an objective on a network's features.

Reconstruction, class/channel visualization and style transfer all run here; they differ only in
the parametrization, the objective, the transforms and the optimizer they hand in. `optimize` is
a generator: it yields a `Snapshot` every `every` steps, and closing it stops the work at once.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterator

import keras
import numpy as np
import tensorflow as tf

from .images import to_uint8
from .objectives import Objective

OPTIMIZERS = ("adam", "lbfgs")


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
    jit: bool = False,
) -> Iterator[Snapshot]:
    """Minimize `objective` over `param` = (variables, to_image); `net` maps [0, 1] images to features.

    Yields a Snapshot every `every` steps and after the last one. Seeded: the same inputs and seed
    give the same images.
    """
    variables, to_image = param
    rng = tf.random.Generator.from_seed(seed)
    evaluate = tf.function(lambda: loss_and_gradients(objective, to_image, net, variables, transform, rng),
                           jit_compile=jit)
    stepper = make_optimizer(optimizer, lr).minimize(evaluate, variables)
    start = time.perf_counter()
    for step in range(1, steps + 1):
        terms = next(stepper)
        if step % every == 0 or step == steps:
            losses = {name: value.numpy() for name, value in terms.items()}
            yield Snapshot(step, to_uint8(to_image().numpy()), losses, time.perf_counter() - start)


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
    """Keras' Adam, its update compiled together with the evaluation."""

    def __init__(self, lr: float):
        self.optimizer = keras.optimizers.Adam(lr)

    def minimize(self, evaluate, variables) -> Iterator[dict]:
        self.optimizer.build(variables)

        @tf.function
        def step():
            terms, _, grads = evaluate()
            self.optimizer.apply_gradients(zip(grads, variables))
            return terms

        while True:
            yield step()


class LBFGS:
    """Limited-memory BFGS with a backtracking (Armijo) line search, for deterministic objectives.

    The evaluation is compiled; the two-loop recursion runs in numpy on the flattened variables.
    """

    backtracks = 6

    def __init__(self, lr: float = 1.0, memory: int = 10):
        self.lr, self.memory = lr, memory

    def minimize(self, evaluate, variables) -> Iterator[dict]:
        terms, f, g = self.flat_eval(evaluate)
        history: list[tuple[np.ndarray, np.ndarray, float]] = []
        while True:
            x = self.get(variables)
            d = -self.direction(g, history)
            slope = float(g @ d)
            if slope >= 0:  # not a descent direction: restart from steepest descent
                history.clear()
                d, slope = -g, -float(g @ g)
            t = self.lr if history else self.lr / max(np.abs(g).max(), 1e-12) * 0.01
            for _ in range(self.backtracks):
                self.set(variables, x + t * d)
                new_terms, new_f, new_g = self.flat_eval(evaluate)
                if new_f <= f + 1e-4 * t * slope:
                    break
                t *= 0.25
            else:  # no decrease along d (converged, or a stale history): stay, forget the history
                self.set(variables, x)
                history.clear()
                yield terms
                continue
            s, y = t * d, new_g - g
            if float(s @ y) > 1e-10:
                history.append((s, y, 1.0 / float(s @ y)))
                history[:] = history[-self.memory:]
            yield terms
            terms, f, g = new_terms, new_f, new_g

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
