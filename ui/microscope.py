"""The Microscope tab: a layer's atlas of channel pictures, a page per unit, and links that open them."""

from __future__ import annotations

import functools

import gradio as gr
import numpy as np

from viz.io import atlas, imagefiles, patches
from viz.microscope import DEFAULT_LAYER, TILE
from viz.model import Backbone, conv_layers

from .activations import ChannelPicker
from .common import (CUT, EXAMPLES, OPTIMIZE, ROOT, Dropdown, ImageInput, Number, SharedPhoto, TimeLimited, link_to,
                     share_button, user_errors, wire)
from .showcase import Showcase

TAB_ID = "microscope"
PENDING = np.full((TILE.size, TILE.size, 3), 235, np.uint8)  # a tile not computed yet
INTRO = ("**Every channel, as a picture.** A layer's atlas shows each of its channels as the picture that "
         "excites it most; click one for its page: where it fires on a photo, the example patches it likes "
         "best, and a DeepDream caricature. After [OpenAI Microscope](https://openai.com/research/microscope) "
         "and [Olah et al., *Feature Visualization*](https://distill.pub/2017/feature-visualization/). Links open "
         "a view: `?layer=block5_conv3&p=1`, `?unit=block4_conv3:42`.")


def run_atlas(backbone: Backbone, cache: atlas.TileCache, layer: str = DEFAULT_LAYER, page: int = 0):
    """A page of the layer's channel pictures: cached ones at once, the others as their batch finishes
    (within the time limit of every optimizing run)."""
    limited = TimeLimited(atlas.atlas_page(backbone, layer, int(page), cache))
    for state in limited:
        gallery = [(state.pictures.get(c, PENDING), f"{layer}:{c}" + ("" if c in state.pictures else " · computing…"))
                   for c in state.channels]
        done = len(state.pictures)
        status = (f"**{layer}**, page {state.page} of 0–{state.pages - 1}: {done} / {len(state.channels)} "
                  f"channels · {state.seconds:.0f} s" + (" · done" if done == len(state.channels) else ""))
        yield gallery, status
    if limited.cut:
        yield gallery, status + CUT + ": show the page again to go on (finished tiles are kept)"
    return limited.ending


def run_unit(backbone: Backbone, cache: atlas.TileCache, unit: str, image: str | None = None):
    """A unit's page: where it fires, the patches that excite it most (of the scanned photos, or of the
    examples), its pictures."""
    photo = imagefiles.load_image(image) if image else None
    scanned = functools.partial(patches.stored, backbone, cache_folder=cache.folder)
    limited = TimeLimited(atlas.unit_page(backbone, unit, photo, example_photos(), cache, dataset=scanned))
    for page in limited:
        figures = " · ".join(f"{k} {v:.2f}" for k, v in page.figures.items())
        about = f"**{page.unit}** · {figures} · link: {link_to(page.link)}"
        yield page.pictures, about
    if limited.cut:
        yield page.pictures, about + CUT
    return limited.ending


@functools.lru_cache(maxsize=1)
def example_photos() -> dict[str, np.ndarray]:
    """The example photos by file name, decoded once: every unit page looks for its patches in them."""
    return {name.split("/")[-1]: imagefiles.load_image(str(ROOT / name)) for name in EXAMPLES}


def open_link(request: gr.Request):
    """Read `?unit=layer:channel` or `?layer=name[&p=k]` from the page's address (`p`, the atlas page:
    Gradio keeps `page` for its own pages), select this tab and fill its boxes; 'unit', 'layer' or ''
    says what to open."""
    query = dict(request.query_params) if request else {}
    if query.get("unit"):
        return gr.Tabs(selected=TAB_ID), gr.skip(), gr.skip(), query["unit"], "unit"
    if query.get("layer"):
        return gr.Tabs(selected=TAB_ID), query["layer"], page_number(query.get("p")), gr.skip(), "layer"
    return gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip()  # no link: no run


def page_number(text: str | None) -> int:
    """An atlas page from a link's `p` (the first page when it is not a whole number)."""
    text = (text or "").strip()
    return int(text) if text.isdecimal() and len(text) < 6 else 0


def unit_of_tile(layer: str, page: int, evt: gr.SelectData) -> str:
    """The unit behind a clicked atlas tile."""
    return f"{layer}:{int(page) * atlas.PER_PAGE + evt.index}"


def microscope_tab(backbone: Backbone, tabs: gr.Tabs, demo: gr.Blocks, picker: ChannelPicker
                   ) -> tuple[SharedPhoto, list[Showcase]]:
    """The tab's widgets, wired to /atlas and /unit, to atlas tiles and activation grids that are
    clicked, and to links; its photo (shared) and its finished example (the default layer's first page)."""
    cache = atlas.TileCache()
    layers = conv_layers(backbone)
    with gr.Tab("Microscope", id=TAB_ID, elem_id="tab-microscope"):
        gr.Markdown(INTRO)
        with gr.Row():
            layer = Dropdown(layers, value=DEFAULT_LAYER, label="Layer", scale=2)
            page = Number(value=0, precision=0, minimum=0, label="Page", scale=1,
                          info=f"{atlas.PER_PAGE} channels a page")
            show = gr.Button("Show the atlas", variant="primary", scale=1)
            stop = gr.Button("Stop", variant="stop", scale=1)
        status = gr.Markdown(elem_id="atlas-status")
        tiles = gr.Gallery(label="Atlas (click a tile for its unit page)", columns=8, height=520, format="png",
                           object_fit="contain", elem_id="atlas", allow_preview=False)
        with gr.Row():
            with gr.Column(scale=1):
                unit = gr.Textbox(label="Unit", placeholder="block4_conv3:42", elem_id="unit-box")
                photo = ImageInput(type="filepath", label="Your photo (optional)", height=200)
                open_unit = gr.Button("Open the unit", variant="primary")
                shared = SharedPhoto(photo, share_button())
            with gr.Column(scale=3):
                about = gr.Markdown(elem_id="unit-about")
                pictures = gr.Gallery(label="The unit", columns=4, height=520, format="png", object_fit="contain",
                                      elem_id="unit-pictures")
        atlas_run = functools.partial(run_atlas, backbone, cache)
        unit_run = functools.partial(run_unit, backbone, cache)
        # Every run here, however it starts (button, click, link), shares the optimizing tabs' one worker,
        # time limit and memory release, and the Stop button.
        runs = [wire(show, atlas_run, [layer, page], [tiles, status], "atlas", **OPTIMIZE),
                wire(open_unit, unit_run, [unit, photo], [pictures, about], "unit", **OPTIMIZE)]
        runs.append(tiles.select(unit_of_tile, [layer, page], [unit], api_visibility="private").success(
            user_errors(unit_run, "unit (atlas tile)"), [unit, photo], [pictures, about], api_visibility="private",
            **OPTIMIZE))
        runs.append(picker.grid.select(picker.name_unit, picker.inputs, [unit], api_visibility="private").success(
            lambda: gr.Tabs(selected=TAB_ID), None, [tabs], api_visibility="private").success(
            user_errors(unit_run, "unit (activation grid)"), [unit, picker.photo], [pictures, about],
            api_visibility="private", **OPTIMIZE))
        # What a link asks for, set once per page view: a run only when it is set (a State's change
        # event fires at every page view, which would queue a run for each).
        wanted = gr.Textbox("", visible=False)
        demo.load(open_link, None, [tabs, layer, page, unit, wanted], api_visibility="private", queue=False)
        runs.append(wanted.change(user_errors(functools.partial(follow_link, atlas_run, unit_run), "link"),
                                  [wanted, layer, page, unit, photo], [tiles, status, pictures, about],
                                  api_visibility="private", **OPTIMIZE))
        stop.click(None, cancels=runs)
    showcase = Showcase("microscope", lambda: atlas_run(DEFAULT_LAYER, 0), [tiles, status], {},
                        (DEFAULT_LAYER, TILE))
    return shared, [showcase]


def follow_link(atlas_run, unit_run, wanted: str, layer: str, page: int, unit: str, photo):
    """Open what a link asked for (nothing without one); returns how the run ended."""
    if wanted == "layer":
        return (yield from relayed(atlas_run(layer, page), lambda gallery, status: (gallery, status, gr.skip(),
                                                                                     gr.skip())))
    if wanted == "unit":
        return (yield from relayed(unit_run(unit, photo), lambda gallery, about: (gr.skip(), gr.skip(), gallery,
                                                                                   about)))
    return "done"


def relayed(run, fill):
    """`run`'s items spread over more outputs by `fill`; returns what `run` returns (closed with it)."""
    try:
        while True:
            try:
                item = next(run)
            except StopIteration as stop:
                return stop.value
            yield fill(*item)
    finally:
        run.close()
