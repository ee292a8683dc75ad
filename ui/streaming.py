"""The one streaming adapter: a run's states become what its tab shows, step by step, within the time
limit, then once more with how the run ended (the one place that words it) and its files."""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
import pandas as pd

from viz.engine.optimize import TimeUp, stop_by
from viz.runtime import release_memory

from .files import save_files

NO_RESULT = "**No result**: the run ended before its first step."
DONE = object()  # what next() gives for a run at its end


@dataclass
class View:
    """What a tab shows of one state of its run: its own outputs' values (`shown`, in order), the
    status line's parts, and what the run saves if this state is its last."""

    step: int
    steps: int
    seconds: float
    shown: tuple
    pngs: dict[str, np.ndarray] = field(default_factory=dict)  # file name (without .png) -> image
    note: str = ""  # added to the status line
    curve: list[dict] = field(default_factory=list)  # rows this state adds to the loss curve
    frame: np.ndarray | None = None  # this state's frame of the run's GIF
    progress: str = ""  # the status line's head, in place of "Step k / n"
    sending: tuple | None = None  # while running, sent in place of `shown` (gr.skip() for what did not change)
    resume: str = "fewer steps or a smaller size finish sooner"  # what to do when the time limit cut it


@dataclass(frozen=True)
class Outputs:
    """A streaming tab's outputs: its own `shown` ones, then a loss curve if it has one, its status line,
    and its files if it has them (the last state's PNGs and, if `gif` names one, the run as a GIF)."""

    shown: int = 1
    curve: bool = False
    files: bool = False
    gif: str | None = None

    def values(self, shown: tuple, rows: list[dict], status: str, files) -> tuple:
        curve = (pd.DataFrame(rows) if rows else None,) if self.curve else ()
        return (*shown, *curve, status, *((files,) if self.files else ()))


def streamed(handler: Callable[[dict], Iterator[View]], outputs: Outputs, time_limit: float) -> Callable:
    """`handler(values)`, which yields Views, as a Gradio handler that yields its outputs' values (see
    `stream`) and returns how the run ended."""
    @functools.wraps(handler)
    def run(values: dict):
        return (yield from stream(handler(values), outputs, time_limit))
    return run


def stream(run: Iterator[View], outputs: Outputs, time_limit: float) -> Iterator[tuple]:
    """Show a time-limited run state by state, then once more with how it ended and its files (None
    until then). Returns how the run ended ("done" or "time limit")."""
    rows, frames, last = [], [], None
    limited = TimeLimited(run, time_limit)
    for view in limited:
        last = view
        rows += view.curve
        frames += [] if view.frame is None else [view.frame]
        shown = view.shown if view.sending is None else view.sending
        yield outputs.values(shown, rows, status_line(view) + view.note, None)
    if last is None:  # stopped before its first snapshot: nothing to show or save
        yield outputs.values((None,) * outputs.shown, [], NO_RESULT, None)
        return limited.ending
    files = save_files(last.pngs, frames, outputs.gif) if outputs.files else None
    status = status_line(last, running=False) + last.note + ending(last, limited.cut, time_limit)
    yield outputs.values(last.shown, rows, status, files)
    return limited.ending


class TimeLimited:
    """A streaming run's states until `seconds` have passed (0: no limit; then `cut` is True and the run
    is closed, within one evaluation of its limit: see `stop_by`); however it ends (done, limit, Stop,
    disconnect), the memory it used is handed back."""

    def __init__(self, run: Iterator, seconds: float):
        self.run, self.seconds, self.cut = run, seconds, False

    @property
    def ending(self) -> str:
        return "time limit" if self.cut else "done"

    def __iter__(self) -> Iterator:
        deadline = time.monotonic() + self.seconds if self.seconds else None
        try:
            while True:
                with stop_by(deadline):  # the run's own loops check it at every evaluation
                    item = next(self.run, DONE)
                if item is DONE:
                    return
                yield item
                if deadline and time.monotonic() > deadline:
                    self.cut = True
                    return
        except TimeUp:
            self.cut = True
        finally:
            self.run.close()
            release_memory()


def status_line(view: View, running: bool = True) -> str:
    """The progress line every streaming tab shows: how far, how long so far, and while it runs,
    roughly how long is left (at the pace so far; coarse-to-fine runs start fast, so early guesses
    are low)."""
    line = (view.progress or f"**Step {view.step} / {view.steps}**") + f" · {view.seconds:.0f} s"
    if running and 0 < view.step < view.steps:
        line += f" · about {view.seconds / view.step * (view.steps - view.step):.0f} s left"
    return line


def ending(view: View, cut: bool, time_limit: float) -> str:
    """How a streamed run ended, for its status line: every step done, converged early (finished:
    more steps would change little), or cut by the time limit (unfinished)."""
    if cut:
        return f" · **cut by the {time_limit:.0f} s time limit: unfinished** ({view.resume})"
    if view.step >= view.steps:
        return " · done"
    return f" · done: converged at step {view.step} (more steps would change little)"


def drained(run: Iterator) -> tuple[object, object]:
    """A generator's last item and its return value, once it has run to its end."""
    last = None
    while True:
        try:
            last = next(run)
        except StopIteration as stop:
            return last, stop.value


def log10_loss(value: float) -> float:
    """A loss as a point of a log-scale curve (zero clamped)."""
    return math.log10(max(value, 1e-12))
