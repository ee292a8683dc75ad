"""The page and its tabs' contract: a tab added through the contract alone is served and callable; a
streamed run says how it ended (done, stopped by a person) and a visitor who waits is told so."""

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import gradio as gr
import numpy as np
from gradio_client import Client

from conftest import serve
from ui import page as page_module
from ui import runs
from ui.runs import wire
from ui.streaming import STOPPED_FIRST, Halts, Outputs, View, stream
from ui.tab import Page, Tab
from ui.widgets import slider
from viz.engine.optimize import check_the_clock
from viz.errors import Range

TIMES = Range("Times", 1, 5, 2)


def toy_tab(page: Page) -> Tab:
    """A tab that repeats a word: a form, a button, an output, an endpoint; nothing else."""
    with gr.Tab("Toy", id="toy"):
        form = {"word": gr.Textbox("hello", label="Word"), "times": slider(TIMES)}
        said = gr.Textbox(label="Said")
        button = gr.Button("Say it")
    wire(button, lambda values: values["word"] * int(values["times"]), form, [said], "toy")
    return Tab()


def test_a_tab_added_through_the_contract_alone_is_served_and_callable(backbone, monkeypatch):
    monkeypatch.setattr(page_module, "TABS", page_module.TABS + [toy_tab])
    server = serve(backbone)
    try:
        client = Client(next(server), verbose=False)
        assert client.predict("ab", 3, api_name="/toy") == "ababab"
        assert client.predict("ab", api_name="/toy") == "abab"  # left out: the widget's own default
        parameters = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/toy"]["parameters"]
        assert [p["parameter_name"] for p in parameters] == ["word", "times"]
        assert "/activations" in client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    finally:
        next(server, None)


def test_every_tab_hands_the_page_its_contract(backbone):
    demo, showcases = page_module.build_page(backbone)
    assert [s.name for s in showcases] == ["activations", "attribution", "blocks", "reconstruction", "visualization",
                                           "style", "microscope"]
    assert len(page_module.TABS) == 7


def counted_run(steps: int, halt_at: int | None = None, halt=None):
    """A streamed run of `steps` views of a small picture; at `halt_at` a Stop arrives mid-evaluation."""
    picture = np.full((8, 8, 3), 128, np.uint8)
    for step in range(1, steps + 1):
        if step == halt_at:
            halt.set()
        check_the_clock()  # as every evaluation of the engine does
        yield View(step, steps, 0.1 * step, (picture,), pngs={"picture": picture})


def test_a_stopped_run_says_at_which_step_and_keeps_what_it_made():
    halt = threading.Event()
    states = list(stream(counted_run(99, halt_at=3, halt=halt), Outputs(files=True), 0, halt))
    *_, status, files = states[-1]
    assert len(states) == 3  # steps 1 and 2, then how it ended
    assert "stopped at step 2 of 99" in status and "done" not in status
    assert files and all(Path(f).exists() for f in files)


def test_a_stop_while_the_run_waits_ends_it_before_its_first_step():
    halts = Halts()
    halts.ask("visitor", waiting=True)  # Stop pressed while the run waited in the queue
    states = list(stream(counted_run(5), Outputs(files=True), 0, halts.begin("visitor")))
    assert states == [(None, STOPPED_FIRST, None)]
    halts.ask("late visitor", waiting=False)  # Stop pressed as the run ended: nothing left to stop
    assert not halts.begin("late visitor").is_set() and not halts.begin("another visitor").is_set()


def test_a_run_that_ends_by_itself_is_done():
    *_, status, files = list(stream(counted_run(4), Outputs(files=True), 0, threading.Event()))[-1]
    assert status.endswith("· done") and files


def test_a_visitor_waiting_behind_others_is_told_in_words(monkeypatch):
    monkeypatch.setattr(runs, "CLOCK", runs.Clock())
    runs.CLOCK.took["/style_transfer"].extend([28, 30, 40])
    style = SimpleNamespace(api_name="style_transfer")
    running = SimpleNamespace(_id="a", fn=style, alive=True, concurrency_id="optimize")
    waiting = SimpleNamespace(_id="b", fn=style, alive=True, concurrency_id="optimize")
    runs.CLOCK.started["a"] = time.monotonic() - 10
    queue = SimpleNamespace(active_jobs=[[running], None],
                            event_queue_per_concurrency_id={"optimize": SimpleNamespace(queue=[waiting])})
    words = runs.waiting_words(SimpleNamespace(_queue=queue))()
    assert "Waiting for 2 runs ahead of yours" in words and "about 50 s" in words  # 30 - 10, then 30
    queue.active_jobs, queue.event_queue_per_concurrency_id = [None], {}
    assert runs.waiting_words(SimpleNamespace(_queue=queue))() == "Starting…"
