"""The one streaming adapter: a run's states become what its tab shows, step by step, within the time
limit, then once more with how the run ended (the one place that words it) and its files."""

from __future__ import annotations

import functools
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
import pandas as pd
from gradio.context import LocalContext

from viz.engine.optimize import TimeUp, stop_by
from viz.runtime import release_memory

from .files import save_files

NO_RESULT = "**No result**: the run ended before its first step."
STOPPED_FIRST = "**Stopped** before its first step: nothing was made."
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

    @property
    def status_at(self) -> int:
        """Where the status line is among the outputs."""
        return self.shown + self.curve

    def cleared(self, status: str) -> tuple:
        """No result shown, no curve, no files: only `status`."""
        return self.values((None,) * self.shown, [], status, None)

    def values(self, shown: tuple, rows: list[dict], status: str, files) -> tuple:
        curve = (pd.DataFrame(rows) if rows else None,) if self.curve else ()
        return (*shown, *curve, status, *((files,) if self.files else ()))


class Halts:
    """A person's Stop for one tab's runs, by session: the run of a session that is running ends at its
    next evaluation and shows what it made; a run still waiting stops as soon as its turn comes."""

    def __init__(self):
        self.events, self.lock = {}, threading.Lock()

    def begin(self, session: str | None) -> threading.Event:
        """The halt of the run of `session` that starts now (already set if Stop came while it waited)."""
        with self.lock:
            return self.events.setdefault(session, threading.Event())

    def end(self, session: str | None, halt: threading.Event) -> None:
        with self.lock:
            if self.events.get(session) is halt:
                del self.events[session]

    def asked(self, session: str | None) -> bool:
        """Whether the run of `session` has been asked to stop (it ends at once, or when its turn comes)."""
        with self.lock:
            halt = self.events.get(session)
        return halt is not None and halt.is_set()

    def ask(self, session: str | None, waiting: bool) -> None:
        """Stop the run of `session` that is running, or (`waiting`) the one that waits for its turn."""
        with self.lock:
            halt = self.events.setdefault(session, threading.Event()) if waiting else self.events.get(session)
        if halt is not None:
            halt.set()


def this_session() -> str | None:
    """The session of the request being served (None outside one: a test, the background fill)."""
    request = LocalContext.request.get(None)
    return getattr(request, "session_hash", None)


def streamed(handler: Callable[[dict], Iterator[View]], outputs: Outputs, time_limit: float) -> Callable:
    """`handler(values)`, which yields Views, as a Gradio handler that yields its outputs' values (see
    `stream`) and returns how the run ended; its `halts` take a Stop (`ui.runs.wire_stop`)."""
    halts = Halts()

    @functools.wraps(handler)
    def run(values: dict):
        session = this_session()
        halt = halts.begin(session)
        try:
            return (yield from stream(handler(values), outputs, time_limit, halt))
        finally:
            halts.end(session, halt)
    run.halts, run.outputs = halts, outputs
    return run


def stream(run: Iterator[View], outputs: Outputs, time_limit: float, halt: threading.Event | None = None
           ) -> Iterator[tuple]:
    """Show a time-limited run state by state, then once more with how it ended and its files (None
    until then). Returns how the run ended ("done", "time limit" or "stopped": `halt` was set)."""
    rows, frames, last = [], [], None
    limited = TimeLimited(run, time_limit, halt)
    for view in limited:
        last = view
        rows += view.curve
        frames += [] if view.frame is None else [view.frame]
        shown = view.shown if view.sending is None else view.sending
        yield outputs.values(shown, rows, status_line(view) + view.note, None)
    if last is None:  # stopped before its first snapshot: nothing to show or save
        yield outputs.cleared(STOPPED_FIRST if limited.halted else NO_RESULT)
        return limited.ending
    files = save_files(last.pngs, frames, outputs.gif) if outputs.files else None
    status = status_line(last, running=False) + last.note + ending(last, limited.ending, time_limit)
    yield outputs.values(last.shown, rows, status, files)
    return limited.ending


class TimeLimited:
    """A streaming run's states until `seconds` have passed (0: no limit; then `cut` is True) or `halt`
    is set (then `halted`); the run is then closed, within one evaluation (see `stop_by`). However it
    ends (done, limit, Stop, disconnect), the memory it used is handed back."""

    def __init__(self, run: Iterator, seconds: float, halt: threading.Event | None = None):
        self.run, self.seconds, self.halt = run, seconds, halt
        self.cut = self.halted = False

    @property
    def ending(self) -> str:
        return "stopped" if self.halted else "time limit" if self.cut else "done"

    def __iter__(self) -> Iterator:
        deadline = time.monotonic() + self.seconds if self.seconds else None
        try:
            while not self.stopped(deadline):
                with stop_by(deadline, self.halt):  # the run's own loops check both at every evaluation
                    item = next(self.run, DONE)
                if item is DONE:
                    return
                yield item
        except TimeUp:
            self.stopped(deadline)
        finally:
            self.run.close()
            release_memory()

    def stopped(self, deadline: float | None) -> bool:
        """Whether the run must end now (asked to stop, or past its deadline); notes which."""
        self.halted = self.halt is not None and self.halt.is_set()
        self.cut = not self.halted and deadline is not None and time.monotonic() > deadline
        return self.halted or self.cut


def status_line(view: View, running: bool = True) -> str:
    """The progress line every streaming tab shows: how far, how long so far, and while it runs,
    roughly how long is left (at the pace so far; coarse-to-fine runs start fast, so early guesses
    are low)."""
    line = (view.progress or f"**Step {view.step} / {view.steps}**") + f" · {view.seconds:.0f} s"
    if running and 0 < view.step < view.steps:
        line += f" · about {view.seconds / view.step * (view.steps - view.step):.0f} s left"
    return line


def ending(view: View, how: str, time_limit: float) -> str:
    """How a streamed run ended (`how`: TimeLimited.ending), for its status line: stopped by the person,
    cut by the time limit (unfinished), every step done, or converged early (more steps would change
    little)."""
    if how == "stopped":
        return f" · **stopped at step {view.step} of {view.steps}** (Stop): what it had made is kept"
    if how == "time limit":
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
