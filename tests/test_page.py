"""The page and its tabs' contract: a tab added through the contract alone is served and callable."""

import gradio as gr
from gradio_client import Client

from conftest import serve
from ui import page as page_module
from ui.runs import wire
from ui.tab import Page, Tab
from ui.widgets import slider
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
