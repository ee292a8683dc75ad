"""What every tab shares: input widgets that explain bad values, error wiring, and the one adapter
that streams an optimizing run (time limit, status line, loss curve, final files)."""

from __future__ import annotations

import contextlib
import functools
import html
import inspect
import math
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Generator, Iterator

import gradio as gr
import numpy as np
import pandas as pd
from gradio.utils import get_upload_folder

from viz.io import imagefiles
from viz.errors import SEED, InputError, Range, quoted
from viz.model import Backbone, conv_layers, imagenet_labels
from viz.io.disk import prune
from viz.runtime import release_memory, two_at_a_time

ROOT = Path(__file__).resolve().parent.parent  # the repository, where examples/ lies
EXAMPLES = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "examples").glob("*.jpg"))
EXAMPLE = str(ROOT / "examples" / "cat.jpg")  # the photo of every tab's finished example
CHANNEL_EXAMPLES = ["block3_conv3:12", "block4_conv3:42", "block4_conv3:97", "block5_conv3:7", "block5_conv3:300"]
OPTIMIZE = dict(concurrency_id="optimize", concurrency_limit=1, show_progress="minimal")
FORWARD = dict(concurrency_id="forward", concurrency_limit=2)
# A run on a shared 2-vCPU Space stops after this many seconds (0: no limit), keeping what it made.
TIME_LIMIT = float(os.environ.get("VIZ_TIME_LIMIT", 150))
CUT = f" · **cut by the {TIME_LIMIT:.0f} s time limit: unfinished**"
# The most Gradio's cache folder (uploads, every picture sent, downloads) may hold; the oldest files go
# first, checked every JANITOR_SECONDS, sparing the files of the last FRESH_SECONDS (being sent).
DISK_LIMIT_MB = float(os.environ.get("VIZ_DISK_MB", 1000))
JANITOR_SECONDS, FRESH_SECONDS = 30.0, 20.0


# ---------------------------------------------------------------- inputs and errors

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


def user_errors(fn, endpoint: str):
    """`fn` (a function or a generator) with its InputErrors turned into messages for the person, and
    one line on stdout per run for the Space's owner: the endpoint, its seconds and how it ended (done,
    time limit, stopped, refused, error). A streaming handler returns how it ended ("done" or "time limit")."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def stream(*args, **kwargs):
            start, ending = time.monotonic(), "stopped"  # closed before its end: a Stop or a visitor who left
            try:
                with BUSY.running():
                    ending = (yield from fn(*args, **kwargs)) or "done"
            except InputError as err:
                ending = "refused"
                raise gr.Error(str(err), print_exception=False) from None
            except Exception:
                ending = "error"
                raise
            finally:
                log_run(endpoint, time.monotonic() - start, ending)
        return stream

    @functools.wraps(fn)
    def call(*args, **kwargs):
        start, ending = time.monotonic(), "error"
        try:
            with BUSY.running():
                result, ending = fn(*args, **kwargs), "done"
            return result
        except InputError as err:
            ending = "refused"
            raise gr.Error(str(err), print_exception=False) from None
        finally:
            log_run(endpoint, time.monotonic() - start, ending)
    return call


def log_run(endpoint: str, seconds: float, ending: str) -> None:
    print(f"run {endpoint} {seconds:.1f} s {ending}", flush=True)


def wire(button: gr.Button, fn, inputs: list, outputs: list, api_name: str, **options):
    """Connect a button to a viz-backed handler whose InputErrors become messages for people.

    (Gradio's `validator` would refuse bad images before the queue, but it turns a bad parameter
    into a bare HTTP 400 for API clients, losing the message; so every check runs in the job.)"""
    return button.click(user_errors(fn, "/" + api_name), inputs=inputs, outputs=outputs, api_name=api_name,
                        **options)


class ImageInput(gr.Image):
    """An image upload passed on as its file path, undecoded: `imagefiles.load_image` decodes it (its
    first frame only, its size checked first) and says what is wrong with a file that is no image.
    Gradio's own Image would decode and convert every frame of an animation before that."""

    is_template = True  # drawn by Gradio's own Image component

    def preprocess(self, payload):
        if payload is None or payload.path:  # an upload, already checked to lie in Gradio's upload folder
            return None if payload is None else str(payload.path)
        try:  # a data: URL, written to a file by Gradio
            return super().preprocess(payload)
        except Exception:
            return None


def quotes_escaped(component: type) -> type:
    """A Gradio choice input whose own refusals ("Value: ... is not in the list of choices") are
    shortened and HTML-escaped: they quote what was sent, and a message shows as HTML, where a sent
    link or tag would be live. (A subclass of the component itself, so that Gradio draws it as one.)"""
    class Escaped(component):
        is_template = True

        def preprocess(self, payload):
            try:
                return super().preprocess(payload)
            except gr.Error as err:
                text = str(err.message)
                text = text if len(text) <= 400 else text[:399] + "…"
                raise gr.Error(html.escape(text, quote=False), print_exception=False) from None

    Escaped.__name__ = Escaped.__qualname__ = component.__name__
    return Escaped


Dropdown, Radio, CheckboxGroup = (quotes_escaped(c) for c in (gr.Dropdown, gr.Radio, gr.CheckboxGroup))


@dataclass
class SharedPhoto:
    """A tab's photo input and its button that offers the photo to every other tab."""

    photo: gr.Image
    share: gr.Button


def share_button() -> gr.Button:
    return gr.Button("Use this photo in every tab", size="sm", variant="secondary")


def share_photos(photos: list[SharedPhoto]) -> None:
    """Each tab's button puts its photo in every other tab (one upload, every tab)."""
    for shared in photos:
        others = [p.photo for p in photos if p is not shared]
        shared.share.click(functools.partial(copies, len(others)), shared.photo, others, api_visibility="private",
                           queue=False)


def copies(count: int, photo) -> list:
    return [photo] * count


class Slider(gr.Slider):
    """A Gradio slider whose wrong-type values (from API callers) get a clear message."""

    is_template = True

    def preprocess(self, payload):
        return super().preprocess(as_number(payload, self.label))


class Number(gr.Number):
    """A Gradio number box whose wrong-type values (from API callers) get a clear message."""

    is_template = True

    def preprocess(self, payload):
        return super().preprocess(None if payload is None else as_number(payload, self.label))


def slider(setting: Range, **kwargs) -> Slider:
    """A slider over an analysis's Range: its bounds, default, increment and name, as the analysis
    checks them (`value` and `label` may be given where the default depends on the weights)."""
    return Slider(setting.low, setting.high, **{"value": setting.default, "step": setting.step,
                                                "label": setting.label or setting.name, **kwargs})


def number(setting: Range, **kwargs) -> Number:
    """A number box over an analysis's Range (see `slider`)."""
    return Number(**{"value": setting.default, "minimum": setting.low, "maximum": setting.high,
                     "label": setting.label or setting.name, **kwargs})


def seed_box() -> Number:
    """The random seed every run takes: a whole number."""
    return number(SEED, precision=0, maximum=None)


def as_number(value, label) -> float:
    """`value` as a finite float, or a message naming the widget."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    if not math.isfinite(number):
        raise gr.Error(f"{label} must be a number, not {quoted(value)}.", print_exception=False)
    return number


def link_to(query: str, text: str | None = None) -> str:
    """A Markdown link to a view of this app (`?unit=...`): on a Space, the Space's own page (which
    hands its query to the app), so that a copied link opens the same view; elsewhere, this page."""
    space = os.environ.get("SPACE_ID")
    url = f"https://huggingface.co/spaces/{space}{query}" if space else query
    return f"[{text or query}]({url})"


def target_suggestions(backbone: Backbone) -> list[str]:
    """What a target box offers: the class names (with the classifier), example channels, the layers."""
    return (imagenet_labels() if backbone.has_classifier else []) + CHANNEL_EXAMPLES + conv_layers(backbone)


def wire_run(button: gr.Button, stop: gr.Button, fn, inputs: list, outputs: list, api_name: str):
    """Wire an optimizing tab: its runs share one worker, and `stop` cancels the current one
    (what it made so far stays on the page)."""
    event = wire(button, fn, inputs, outputs, api_name, **OPTIMIZE)
    stop.click(None, cancels=[event])
    return event


# ---------------------------------------------------------------- streaming runs

@dataclass
class View:
    """What a tab shows of one state of its run, and what it saves if that state is the last."""

    step: int
    steps: int
    seconds: float
    gallery: list[tuple[np.ndarray, str]]
    pngs: dict[str, np.ndarray]  # file name (without .png) -> image, written when the run ends
    note: str = ""  # added to the status line
    curve: list[dict] = field(default_factory=list)  # rows this state adds to the loss curve
    frame: np.ndarray | None = None  # this state's frame of the run's GIF


def stream(run: Generator, view: Callable[[object], View], curve: bool = False, gif: str | None = None) -> Iterator:
    """Show a time-limited run state by state, then once more with how it ended and its files.

    Yields (gallery, curve, status, files), or (gallery, status, files) without a `curve`; files
    are None until the end, then the last state's PNGs and, if `gif` names one, the frames as a GIF.
    Returns how the run ended ("done" or "time limit")."""
    rows, frames, last = [], [], None
    limited = TimeLimited(run)
    for state in limited:
        last = view(state)
        rows += last.curve
        frames += [] if last.frame is None else [last.frame]
        yield outputs(last.gallery, rows if curve else None, status_line(last) + last.note, None)
    if last is None:  # stopped before its first snapshot: nothing to show or save
        yield outputs([], [] if curve else None, "**No result**: the run ended before its first step.", None)
        return
    files = save_files(last.pngs, frames, gif)
    yield outputs(last.gallery, rows if curve else None,
                  status_line(last, running=False) + last.note + ending(last, limited.cut), files)
    return limited.ending


def outputs(gallery, rows: list[dict] | None, status: str, files) -> tuple:
    """The values of a streaming tab's outputs; `rows` None means the tab has no loss curve."""
    if rows is None:
        return gallery, status, files
    return gallery, pd.DataFrame(rows) if rows else None, status, files


class TimeLimited:
    """A streaming run's states until TIME_LIMIT seconds have passed (then `cut` is True and the run
    is closed); however it ends (done, limit, Stop, disconnect), the memory it used is handed back."""

    def __init__(self, run: Generator):
        self.run, self.cut = run, False

    @property
    def ending(self) -> str:
        return "time limit" if self.cut else "done"

    def __iter__(self) -> Iterator:
        start = time.monotonic()
        try:
            for item in self.run:
                yield item
                if TIME_LIMIT and time.monotonic() - start > TIME_LIMIT:
                    self.cut = True
                    return
        finally:
            self.run.close()
            release_memory()


def keep_cache_small(folder: str | None = None, limit_mb: float = DISK_LIMIT_MB, every: float = JANITOR_SECONDS,
                     spare_seconds: float = FRESH_SECONDS) -> threading.Thread:
    """Start a thread that keeps Gradio's cache folder within `limit_mb`, every `every` seconds: what
    one client can make the process hold on disk is bounded, however long it loops."""
    def janitor():
        while True:
            prune(Path(folder or get_upload_folder()), limit_mb * 2 ** 20, spare_seconds=spare_seconds)
            time.sleep(every)

    thread = threading.Thread(target=janitor, name="cache-janitor", daemon=True)
    thread.start()
    return thread


def save_files(pngs: dict[str, np.ndarray], frames: list[np.ndarray] = (), gif: str | None = None,
               fast: bool = False) -> list[str]:
    """Write a run's results (and its frames as `gif`.gif) into a new folder in Gradio's cache, so
    they exist when yielded; Gradio serves them from there and its delete_cache removes them.
    `fast` PNGs trade a few more bytes for faster writing (imagefiles.save_png)."""
    os.makedirs(get_upload_folder(), exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="run-", dir=get_upload_folder()))
    files = two_at_a_time(lambda item: imagefiles.save_png(item[1], str(folder / f"{item[0]}.png"), fast), pngs.items())
    if gif and frames:
        files.append(imagefiles.save_animation(frames, str(folder / f"{gif}.gif")))
    return files


def status_line(view: View, running: bool = True) -> str:
    """The progress line every streaming tab shows: how far, how long so far, and while it runs,
    roughly how long is left (at the pace so far; coarse-to-fine runs start fast, so early guesses
    are low)."""
    line = f"**Step {view.step} / {view.steps}** · {view.seconds:.0f} s"
    if running and 0 < view.step < view.steps:
        line += f" · about {view.seconds / view.step * (view.steps - view.step):.0f} s left"
    return line


def ending(view: View, cut: bool = False) -> str:
    """How a streamed run ended, for its status line: every step done, converged early (finished:
    more steps would change little), or cut by the time limit (unfinished)."""
    if cut:
        return CUT + " (fewer steps or a smaller size finish sooner)"
    if view.step >= view.steps:
        return " · done"
    return f" · done: converged at step {view.step} (more steps would change little)"


def log10_loss(value: float) -> float:
    """A loss as a point of a log-scale curve (zero clamped)."""
    return math.log10(max(value, 1e-12))
