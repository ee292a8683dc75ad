"""How a tab's handler becomes an endpoint: its InputErrors turned into messages, one log line per run,
the visitors' runs counted (background work steps aside), the form's values passed by name, and the
concurrency groups every run joins."""

from __future__ import annotations

import contextlib
import functools
import inspect
import statistics
import threading
import time
from collections import defaultdict, deque
from typing import Callable

import gradio as gr
from gradio.context import LocalContext

from viz.errors import InputError
from viz.runtime import trim_memory

from .guard import LISTENERS, in_group, running, waiting
from .streaming import this_session

OPTIMIZE = dict(concurrency_id="optimize", concurrency_limit=1, show_progress="minimal")
FORWARD = dict(concurrency_id="forward", concurrency_limit=2)
FIRST_GUESS = 30.0  # seconds an optimizing run is guessed to take before any has been timed


class Busy:
    """Counts the visitors' runs in progress and tells each listener when the first starts (True) and
    the last ends (False): background work steps aside while anyone waits for a picture."""

    def __init__(self):
        self.count, self.lock, self.listeners = 0, threading.Lock(), []

    @contextlib.contextmanager
    def running(self):
        self.change(+1)
        try:
            yield
        finally:
            self.change(-1)

    def change(self, by: int) -> None:
        with self.lock:
            self.count += by
            if self.count == (1 if by > 0 else 0):
                for listener in self.listeners:
                    try:
                        listener(self.count > 0)
                    except Exception as err:  # background work must never refuse a visitor's run
                        print(f"a listener of runs failed: {type(err).__name__}", flush=True)


BUSY = Busy()


class Refusals:
    """Why each session's last run of an endpoint was refused, until its page shows it (kept for the
    most recent sessions only: an API caller never asks)."""

    KEEP = 256

    def __init__(self):
        self.said, self.lock = {}, threading.Lock()

    def note(self, endpoint: str, message: str) -> None:
        with self.lock:
            self.said[(this_session(), endpoint)] = message
            while len(self.said) > self.KEEP:
                del self.said[next(iter(self.said))]

    def take(self, session: str | None, endpoint: str) -> str | None:
        with self.lock:
            return self.said.pop((session, endpoint), None)


REFUSALS = Refusals()


def user_errors(fn, endpoint: str):
    """`fn` (a function or a generator) with its InputErrors turned into messages for the person, and
    one line on stdout per run for the Space's owner: the endpoint, its seconds and how it ended (done,
    time limit, stopped, refused, error, or abandoned: its client never listened, so it never ran). A
    streaming handler returns how it ended ("done", "time limit" or "stopped")."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def stream(*args, **kwargs):
            if not listened():
                return log_run(endpoint, 0.0, "abandoned")
            start, ending = time.monotonic(), "stopped"  # closed before its end: a Stop or a visitor who left
            event = CLOCK.start()
            try:
                with BUSY.running():
                    ending = (yield from fn(*args, **kwargs)) or "done"
            except InputError as err:
                ending = "refused"
                REFUSALS.note(endpoint, str(err))
                raise gr.Error(str(err), print_exception=False) from None
            except Exception:
                ending = "error"
                raise
            finally:
                trim_memory()
                seconds = time.monotonic() - start
                log_run(endpoint, seconds, ending)
                CLOCK.end(event, endpoint, seconds, ending)
        return stream

    @functools.wraps(fn)
    def call(*args, **kwargs):
        if not listened():
            log_run(endpoint, 0.0, "abandoned")
            raise gr.Error("Nobody is waiting for this result.", print_exception=False)
        start, ending = time.monotonic(), "error"
        try:
            with BUSY.running():
                result, ending = fn(*args, **kwargs), "done"
            return result
        except InputError as err:
            ending = "refused"
            REFUSALS.note(endpoint, str(err))
            raise gr.Error(str(err), print_exception=False) from None
        finally:
            trim_memory()
            log_run(endpoint, time.monotonic() - start, ending)
    return call


def listened() -> bool:
    """Whether the client of the run now starting listens for its results (or this is no visitor's run:
    the background fill, a test calling a handler)."""
    return LISTENERS.heard(this_session())


class Clock:
    """When each run now in progress started, and how long the last runs of each endpoint took: what a
    visitor waiting in the queue is told."""

    def __init__(self):
        self.started, self.took = {}, defaultdict(lambda: deque(maxlen=20))

    def start(self) -> str | None:
        event = LocalContext.event_id.get(None)
        if event is not None:
            self.started[event] = time.monotonic()
        return event

    def end(self, event: str | None, endpoint: str, seconds: float, ending: str) -> None:
        self.started.pop(event, None)
        if ending in ("done", "time limit"):
            self.took[endpoint].append(seconds)

    def left(self, event) -> float:
        """About how many seconds a queued or running event has left (its endpoint's median so far)."""
        past = self.took.get("/" + str(event.fn.api_name)) or [t for runs in self.took.values() for t in runs]
        typical = statistics.median(past) if past else FIRST_GUESS
        elapsed = time.monotonic() - self.started.get(event._id, time.monotonic())
        return max(typical - elapsed, typical / 5)


CLOCK = Clock()


def log_run(endpoint: str, seconds: float, ending: str) -> None:
    print(f"run {endpoint} {seconds:.1f} s {ending}", flush=True)


def waiting_words(blocks) -> Callable[[], str]:
    """A status line for a run about to join the optimizing queue: how many runs are ahead, and about
    how long until it starts (said before it waits, where Gradio would only show 'queue: 2/3')."""
    def words() -> str:
        queue = getattr(blocks, "_queue", None)
        ahead = in_group(queue, OPTIMIZE["concurrency_id"]) if queue is not None else []
        if not ahead:
            return "Starting…"
        seconds = sum(CLOCK.left(event) for event in ahead)
        runs = "1 run" if len(ahead) == 1 else f"{len(ahead)} runs"
        return (f"**Waiting for {runs} ahead of yours** (the server makes one picture at a time): yours should "
                f"start in about {seconds:.0f} s.")
    return words


def by_name(fn: Callable[[dict], object], form: dict) -> Callable:
    """`fn(values)`, which takes a form's values as one dict by name, as a function of those values in
    the form's order whose parameters carry their names: what Gradio calls, and what its API names.
    The photos the form starts with are required; every later value may be left out (None), which
    Gradio's clients then fill with the widget's own value."""
    names = list(form)
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def call(*values):
            return (yield from fn(dict(zip(names, values))))
    else:
        @functools.wraps(fn)
        def call(*values):
            return fn(dict(zip(names, values)))
    photos = next((k for k, component in enumerate(form.values()) if not isinstance(component, gr.Image)), len(form))
    call.__signature__ = inspect.Signature([
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                          default=inspect.Parameter.empty if k < photos else None) for k, name in enumerate(names)])
    return call


def handler_of(fn: Callable[[dict], object], form: dict, label: str) -> Callable:
    """`fn(values)` as Gradio calls it with the values of `form`'s components (names -> components),
    its InputErrors turned into messages, its runs logged as `label`."""
    return user_errors(by_name(fn, form), label)


def wire(trigger, fn: Callable[[dict], object], form: dict, outputs: list, api_name: str | None, label: str = "",
         **options):
    """Connect a button (or an event's listener, e.g. `event.success`) to a viz-backed handler that takes
    the values of `form` (names -> components) by name and whose InputErrors become messages for
    people; `api_name` names its endpoint (None: no endpoint, its runs logged as `label`). A streamed
    optimizing run's status first says whether it waits for others, and about how long.

    (Gradio's `validator` would refuse bad images before the queue, but it turns a bad parameter
    into a bare HTTP 400 for API clients, losing the message; so every check runs in the job.)"""
    listener = getattr(trigger, "click", trigger)
    if options.get("concurrency_id") == OPTIMIZE["concurrency_id"] and hasattr(fn, "outputs"):
        listener = listener(waiting_words(gr.context.Context.root_block), None, outputs[fn.outputs.status_at],
                            queue=False, api_visibility="private").then
    label = "/" + api_name if api_name else label
    named = {"api_name": api_name} if api_name else {"api_visibility": "private"}
    event = listener(handler_of(fn, form, label), inputs=list(form.values()), outputs=outputs, **named, **options)
    if hasattr(fn, "outputs"):
        event.failure(failed(fn.outputs, label), None, outputs, queue=False, api_visibility="private")
    return event


def failed(outputs, endpoint: str) -> Callable:
    """What a streamed tab shows once its run failed: no stale results of an earlier run, and why, in
    its status line, until the next run (the toast closes after a few seconds)."""
    def show(request: gr.Request) -> tuple:
        why = REFUSALS.take(request.session_hash, endpoint)
        status = f"**Not run**: {why}" if why else "**The run failed** (the server's log says why); please try again."
        return outputs.cleared(status)
    return show


def wire_run(button: gr.Button, stop: gr.Button, fn: Callable[[dict], object], form: dict, outputs: list,
             api_name: str):
    """Wire an optimizing tab (`fn` from `ui.streaming.streamed`): its runs share one worker, and `stop`
    ends the current one."""
    wire_stop(stop, [fn])
    return wire(button, fn, form, outputs, api_name, **OPTIMIZE)


def wire_stop(stop: gr.Button, runs: list[Callable]) -> None:
    """`stop` ends this session's runs of `runs` (streamed handlers) that are running or waiting: each
    ends within an evaluation and shows what it made, its files and that it was stopped (an API client
    cancels its job instead)."""
    stop.click(stopper(runs), None, None, queue=False, api_visibility="private")


def stopper(runs: list[Callable]) -> Callable:
    """A handler that asks this session's runs of `runs` (streamed handlers) to stop, running or waiting."""
    blocks, halts = gr.context.Context.root_block, [run.halts for run in runs]

    def stop_runs(request: gr.Request) -> None:
        queue = getattr(blocks, "_queue", None)
        for waits, events in ((False, running(queue)), (True, waiting(queue))) if queue is not None else ():
            for event in events:
                own = getattr(event.fn.fn, "halts", None)
                if event.session_hash == request.session_hash and any(own is h for h in halts):
                    own.ask(request.session_hash, waits)
    return stop_runs
