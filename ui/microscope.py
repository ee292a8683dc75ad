"""The Microscope tab: a layer's atlas of channel pictures, a page per unit, and links that open them."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import gradio as gr
import numpy as np

from viz import atlas
from viz.io import cache, imagefiles, patches
from viz.microscope import TILE
from viz.model import LAST_CONV, Backbone, conv_layers

from .links import LAYER, UNIT, link_to, unit_query, wanted_view
from .photos import EXAMPLES, ROOT, SharedPhoto, share_button
from .runs import OPTIMIZE, handler_of, user_errors, wire, wire_stop
from .showcase import example_of
from .streaming import Outputs, View, streamed
from .tab import Page, Tab, UnitSource
from .widgets import Dropdown, ImageInput, Number, result_gallery

TAB_ID = "microscope"
PENDING = np.full((TILE.size, TILE.size, 3), 235, np.uint8)  # a tile not computed yet
OUTPUTS = Outputs(shown=1)
INTRO = ("**Every channel, as a picture.** A layer's atlas shows each of its channels as the picture that "
         "excites it most; click one for its page: where it fires on a photo, the example patches it likes "
         "best, and a DeepDream caricature. After [OpenAI Microscope](https://openai.com/research/microscope) "
         "and [Olah et al., *Feature Visualization*](https://distill.pub/2017/feature-visualization/). Links open "
         "a view: `?layer=block5_conv3&p=1`, `?unit=block4_conv3:42`.")


def show_atlas(backbone: Backbone, pictures: cache.TileCache, values: dict):
    """A page of the layer's channel pictures: cached ones at once, the others as their batch finishes."""
    for state in atlas.atlas_page(backbone, values["layer"], int(values["page"]), pictures):
        gallery = [(state.pictures.get(c, PENDING), f"{state.layer}:{c}" + ("" if c in state.pictures else
                                                                             " · computing…"))
                   for c in state.channels]
        done, count = len(state.pictures), len(state.channels)
        yield View(done, count, state.seconds, (gallery,), resume="show the page again to go on: finished tiles are kept",
                   progress=f"**{state.layer}**, page {state.page} of 0–{state.pages - 1}: {done} / {count} channels")


def show_unit(backbone: Backbone, pictures: cache.TileCache, values: dict):
    """A unit's page: where it fires, the patches that excite it most (of the scanned photos, or of the
    examples), its pictures."""
    photo = imagefiles.load_image(values["image"]) if values["image"] else None
    scanned = functools.partial(patches.stored, backbone, cache_folder=pictures.folder)
    for page in atlas.unit_page(backbone, values["unit"], photo, example_photos(), pictures, dataset=scanned):
        figures = " · ".join(f"{k} {v:.2f}" for k, v in page.figures.items())
        yield View(page.part, atlas.UNIT_PARTS, page.seconds, (page.pictures,),
                   progress=f"**{page.unit}** · {figures} · link: {link_to(unit_query(page.unit))}")


@functools.lru_cache(maxsize=1)
def example_photos() -> dict[str, np.ndarray]:
    """The example photos by file name, decoded once: every unit page looks for its patches in them."""
    return {name.split("/")[-1]: imagefiles.load_image(str(ROOT / name)) for name in EXAMPLES}


def open_link(request: gr.Request):
    """Read `?unit=layer:channel` or `?layer=name[&p=k]` from the page's address, select this tab, fill
    its boxes and say what to open (a run starts only when a link asks for one: a value set here
    changes, and its change starts the run)."""
    kind, name, page = wanted_view(dict(request.query_params) if request else {})
    if kind == UNIT:
        return gr.Tabs(selected=TAB_ID), gr.skip(), gr.skip(), name, gr.skip(), name
    if kind == LAYER:
        return gr.Tabs(selected=TAB_ID), name, page, gr.skip(), f"{name}:{page}", gr.skip()
    return (gr.skip(),) * 6  # no link: no run


def unit_of_tile(layer: str, page: int, evt: gr.SelectData) -> str:
    """The unit behind a clicked atlas tile."""
    return f"{layer}:{int(page) * atlas.PER_PAGE + evt.index}"


def atlas_widgets(backbone: Backbone) -> tuple[dict, gr.Button, gr.Button, list]:
    """The atlas's inputs by the names its handler and its API know them by, its Show and Stop
    buttons, and where it shows (the tiles, the status line)."""
    with gr.Row():
        form = {"layer": Dropdown(conv_layers(backbone), value=LAST_CONV, label="Layer", scale=2),
                "page": Number(value=0, precision=0, minimum=0, label="Page", scale=1,
                               info=f"{atlas.PER_PAGE} channels a page")}
        show, stop = gr.Button("Show the atlas", variant="primary", scale=1), gr.Button("Stop", variant="stop", scale=1)
    status = gr.Markdown(elem_id="atlas-status")
    tiles = result_gallery(label="Atlas (click a tile for its unit page)", columns=8, height=520,
                           object_fit="contain", elem_id="atlas", allow_preview=False)
    return form, show, stop, [tiles, status]


def unit_widgets() -> tuple[dict, gr.Button, gr.Button, list]:
    """The unit page's inputs by name, its Open and Share buttons, and where it shows."""
    with gr.Row():
        with gr.Column(scale=1):
            form = {"unit": gr.Textbox(label="Unit", placeholder="block4_conv3:42", elem_id="unit-box"),
                    "image": ImageInput(type="filepath", label="Your photo (optional)", height=200)}
            open_unit, share = gr.Button("Open the unit", variant="primary"), share_button()
        with gr.Column(scale=3):
            about = gr.Markdown(elem_id="unit-about")
            pictures = result_gallery(label="The unit", columns=4, height=520, object_fit="contain",
                                      elem_id="unit-pictures")
    return form, open_unit, share, [pictures, about]


SCROLL_TO_UNIT = "() => { document.getElementById('unit-about')?.scrollIntoView({behavior: 'smooth', block: 'start'}); }"

@dataclass
class UnitOpener:
    """How a unit's page opens here when something sets the unit box (a button, a tile, another tab's
    picture, a link): the one streaming run, the tab's photo by default, its outputs."""

    run: Callable[[dict], object]
    unit: gr.Textbox
    photo: gr.Image
    outputs: list

    def on(self, listener, label: str, photo: gr.Image | None = None):
        """The unit's page (on `photo`, else the tab's), run when `listener` fires (an event's
        `.success`, a component's `.change`), logged as `label` (the tab's Stop ends it: `wire_stop`);
        the page scrolls to it at once, wherever the click was."""
        form = {"unit": self.unit, "image": photo or self.photo}
        listener(None, None, None, js=SCROLL_TO_UNIT, api_visibility="private", queue=False)
        return listener(handler_of(self.run, form, label), list(form.values()), self.outputs,
                        api_visibility="private", **OPTIMIZE)


def build(page: Page) -> Tab:
    """The tab, wired to /atlas and /unit, to atlas tiles that are clicked and to links; its photo
    (shared), its finished example (the default layer's first page), and how a click elsewhere opens
    a unit here. Every run here, however it starts, shares the optimizing tabs' one worker, time
    limit and memory release, and the Stop button."""
    pictures = cache.TileCache()
    with gr.Tab("Microscope", id=TAB_ID, elem_id="tab-microscope"):
        gr.Markdown(INTRO)
        atlas_form, show, stop, atlas_outputs = atlas_widgets(page.backbone)
        unit_form, open_unit, share, unit_outputs = unit_widgets()
        atlas_run = streamed(functools.partial(show_atlas, page.backbone, pictures), OUTPUTS, page.time_limit)
        opener = UnitOpener(streamed(functools.partial(show_unit, page.backbone, pictures), OUTPUTS, page.time_limit),
                            unit_form["unit"], unit_form["image"], unit_outputs)
        wire(show, atlas_run, atlas_form, atlas_outputs, "atlas", **OPTIMIZE)
        wire(open_unit, opener.run, unit_form, unit_outputs, "unit", **OPTIMIZE)
        follow_links(page, atlas_run, atlas_form, atlas_outputs, opener)
    tile = atlas_outputs[0].select(unit_of_tile, list(atlas_form.values()), [opener.unit], api_visibility="private")
    opener.on(tile.success, "unit (atlas tile)")
    wire_stop(stop, [atlas_run, opener.run])
    example = example_of("microscope", atlas_run, atlas_form, atlas_outputs, {}, settings=(TILE,))
    return Tab(SharedPhoto(opener.photo, share, unit_outputs), [example],
               open_unit=functools.partial(open_from, page, opener))


def open_from(page: Page, opener: UnitOpener, source: UnitSource) -> None:
    """A click on another tab's picture of channels opens the unit's page here, on that picture's photo."""
    event = source.picture.select(user_errors(source.name_unit, "grid click"), source.inputs, [opener.unit],
                                  api_visibility="private")
    event = event.success(lambda: gr.Tabs(selected=TAB_ID), None, [page.tabs], api_visibility="private")
    opener.on(event.success, "unit (activation grid)", source.photo)


def follow_links(page: Page, atlas_run, atlas_form: dict, atlas_outputs: list, opener: UnitOpener):
    """What a link asks for (`?layer=`, `?unit=`), read once per page view; opens the unit's page, and
    returns the atlas's run."""
    wanted_layer, wanted_unit = gr.Textbox("", visible=False), gr.Textbox("", visible=False)
    page.blocks.load(open_link, None, [page.tabs, *atlas_form.values(), opener.unit, wanted_layer, wanted_unit],
                     api_visibility="private", queue=False)
    opener.on(wanted_unit.change, "link")
    return wanted_layer.change(handler_of(atlas_run, atlas_form, "link"), list(atlas_form.values()), atlas_outputs,
                               api_visibility="private", **OPTIMIZE)
