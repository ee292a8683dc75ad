"""The Microscope tab: a layer's atlas of channel pictures, a page per unit, and links that open them."""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass
from typing import Callable

import gradio as gr
import numpy as np

from viz import atlas, circuits
from viz.errors import InputError
from viz.io import cache, imagefiles, patches
from viz.microscope import TILE
from viz.model import LAST_CONV, Backbone, conv_layers

from .links import ADDRESS_UNIT, LAYER, UNIT, link_to, unit_query, wanted_view
from .photos import EXAMPLES, ROOT, SharedPhoto, share_button
from .runs import FORWARD, OPTIMIZE, handler_of, stopper, user_errors, wire, wire_stop
from .showcase import example_of
from .streaming import Outputs, View, streamed
from .tab import Page, Tab, UnitSource
from .widgets import WRAPPED_CAPTIONS, Dropdown, ImageInput, Number, result_gallery

TAB_ID = "microscope"
PENDING = np.full((TILE.size, TILE.size, 3), 235, np.uint8)  # a tile not computed yet
OUTPUTS = Outputs(shown=1)
GROUPS = {"inputs": "Its inputs: the units below that excite it most, then those that inhibit it",
          "outputs": "Its outputs: the units above that it excites most, then those it inhibits",
          "below": "Two layers below, through expanded weights"}
CIRCUIT_OUTPUTS = Outputs(shown=len(GROUPS) + 1)  # a gallery a group, the numbers (JSON), the status line
CIRCUIT_INTRO = ("**How it is built** (after Olah et al., [*Zoom In*](https://distill.pub/2020/circuits/zoom-in/), "
                 "and Voss et al., [*Visualizing Weights*](https://distill.pub/2020/circuits/visualizing-weights/)): "
                 "each unit it reads and feeds, as its own picture with the weights that connect them in the corner "
                 "(red excites, blue inhibits; **w** is their sum), and the **ablation** that checks them: how much "
                 "this unit's response to its own picture changes when that input is zeroed (then on your photo). "
                 "Click a unit to open its page.")
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


def show_circuit(backbone: Backbone, pictures: cache.TileCache, values: dict, draw: bool = True):
    """A unit's circuit: its inputs, outputs and the layer two below, each as its picture and weights,
    with the ablation that checks them; at once from the cached pictures, then (`draw`) each missing
    one as it is made."""
    photo = imagefiles.load_image(values["image"]) if values["image"] and draw else None
    states = atlas.circuit_page(backbone, values["unit"], photo, pictures, draw=draw)
    try:
        first = next(states)
    except InputError:
        if draw:
            raise
        return  # at once, beside the unit's page, which says what is wrong
    for state in itertools.chain([first], states):
        found = state.circuit
        shown = tuple([shown_link(link, state.pictures) for link in getattr(found, group)] for group in GROUPS)
        done = len(state.pictures)
        yield View(done, state.wanted, state.seconds, (*shown, circuit_numbers(found)),
                   resume="open the unit again to go on: finished pictures are kept",
                   progress=f"**How {found.unit} is built** · {circuit_notes(found)} · {done} / {state.wanted} pictures")


def shown_link(link: circuits.Link, pictures: dict) -> tuple[np.ndarray, str]:
    """A link as the gallery shows it: the unit's picture (a colour's weights alone) and its figures."""
    if link.channel is None:
        picture = circuits.pattern_picture(link.pattern, TILE.size)
    else:
        picture = circuits.with_pattern(pictures.get(link.unit, PENDING), link.pattern)
    checked = [f"{prefix}{link.change[name]:+.0%}" for name, prefix in ((atlas.OWN, ""), (atlas.PHOTO, "photo "))
               if name in link.change]
    return picture, " · ".join([link.unit, f"w {link.weight:+.2f}", *checked])


def circuit_notes(found: circuits.Circuit) -> str:
    """Which layers the circuit's groups lie in, and how they connect."""
    where = {"inputs": "inputs from", "outputs": "outputs to", "below": "two below:"}
    return "; ".join(f"{where[group]} {note}" for group, note in found.notes.items())


def circuit_numbers(found: circuits.Circuit) -> dict:
    """The circuit's figures for a program: each link's unit, weight and ablation changes."""
    def rows(links):
        return [{"unit": link.unit, "weight": round(link.weight, 4),
                 "ablation": {name: round(value, 4) for name, value in link.change.items()}} for link in links]
    return {"unit": found.unit, "notes": found.notes,
            **{group: rows(getattr(found, group)) for group in GROUPS}}


def unit_of_link(evt: gr.SelectData) -> str:
    """The unit behind a clicked picture of a circuit (its caption's first part)."""
    name = str((evt.value or {}).get("caption") or "").split(" · ")[0]
    if ":" not in name:
        raise InputError(f"{name or 'This picture'} is one of the photo's colours: it has no page of its own.")
    return name


def readiness(backbone: Backbone, pictures: cache.TileCache) -> str:
    """How much of the whole atlas is drawn and kept, layer by layer in the order the server fills it."""
    found = atlas.ready(backbone, pictures)
    done, count = sum(d for d, _ in found.values()), sum(n for _, n in found.values())
    layers = " · ".join(f"{layer} {found[layer][0]}/{found[layer][1]}" for layer in atlas.fill_order(backbone))
    return (f"**The atlas: {done:,} of {count:,} channel pictures ready** ({done / count:.0%}; the server draws "
            f"the rest while nobody waits, those visitors met missing first): {layers}")


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
            open_unit, share = gr.Button("Open the unit", variant="primary", elem_id="open-unit"), share_button()
        with gr.Column(scale=3):
            about = gr.Markdown(elem_id="unit-about")
            pictures = result_gallery(label="The unit", columns=4, height=520, object_fit="contain",
                                      elem_id="unit-pictures")
    return form, open_unit, share, [pictures, about]


def circuit_widgets() -> list:
    """Where a unit's circuit shows: a gallery a group, its numbers for programs, its status line."""
    gr.Markdown(CIRCUIT_INTRO)
    status = gr.Markdown(elem_id="circuit-about")
    galleries = [result_gallery(label=label, columns=6, height="auto", object_fit="contain", allow_preview=False,
                                elem_id=f"circuit-{group}", elem_classes=[WRAPPED_CAPTIONS])
                 for group, label in GROUPS.items()]
    with gr.Accordion("The circuit's figures", open=False):
        numbers = gr.JSON(label="weights and ablations")
    return [*galleries, numbers, status]


SCROLL_TO_UNIT = ("(unit) => { document.getElementById('unit-about')?.scrollIntoView({behavior: 'smooth', block: 'start'}); "
                  f"{ADDRESS_UNIT} }}")

@dataclass
class UnitOpener:
    """How a unit's page opens here when something sets the unit box (a button, a tile, another tab's
    picture, a circuit's picture, a link): the one streaming run, its circuit's, the tab's photo by
    default, their outputs."""

    run: Callable[[dict], object]
    circuit: Callable[[dict], object]
    circuit_at_once: Callable[[dict], object]
    unit: gr.Textbox
    photo: gr.Image
    outputs: list
    circuit_outputs: list

    def on(self, trigger, label: str, photo: gr.Image | None = None, api: bool = False):
        """The unit's page (on `photo`, else the tab's) and its circuit, when `trigger` fires (a button, an
        event's `.success`, a component's `.change`), logged as `label` (or as the endpoints /unit and
        /circuit: `api`): this session's earlier unit runs end, the page scrolls to the unit and the
        address names it, its circuit shows at once from the cached pictures, then the page is made,
        then the circuit's missing pictures. The tab's Stop ends them."""
        form = {"unit": self.unit, "image": photo or self.photo}
        listener = getattr(trigger, "click", trigger)
        listener(None, [self.unit], None, js=SCROLL_TO_UNIT, api_visibility="private", queue=False)
        first = listener(stopper(self.runs), None, None, api_visibility="private", queue=False)
        at_once = first.then(handler_of(self.circuit_at_once, form, label + " (circuit)"), list(form.values()),
                             self.circuit_outputs, api_visibility="private", **FORWARD)
        page = wire(at_once.then, self.run, form, self.outputs, "unit" if api else None, label, **OPTIMIZE)
        wire(page.success, self.circuit, form, self.circuit_outputs, "circuit" if api else None, label + " (circuit)",
             **OPTIMIZE)
        return page

    @property
    def runs(self) -> list[Callable]:
        return [self.run, self.circuit, self.circuit_at_once]

    def from_circuits(self) -> None:
        """A click on a circuit's picture opens that unit's page."""
        for gallery in self.circuit_outputs[:len(GROUPS)]:
            event = gallery.select(user_errors(unit_of_link, "circuit click"), None, [self.unit],
                                   api_visibility="private")
            self.on(event.success, "unit (circuit)")


def build(page: Page) -> Tab:
    """The tab, wired to /atlas and /unit, to atlas tiles that are clicked and to links; its photo
    (shared), its finished example (the default layer's first page), and how a click elsewhere opens
    a unit here. Every run here, however it starts, shares the optimizing tabs' one worker, time
    limit and memory release, and the Stop button."""
    pictures = cache.TileCache()
    with gr.Tab("Microscope", id=TAB_ID, elem_id="tab-microscope"):
        gr.Markdown(INTRO)
        atlas_form, show, stop, atlas_outputs = atlas_widgets(page.backbone)
        ready = gr.Markdown(elem_id="atlas-ready")
        unit_form, open_unit, share, unit_outputs = unit_widgets()
        circuit_outputs = circuit_widgets()
        atlas_run = streamed(functools.partial(show_atlas, page.backbone, pictures), OUTPUTS, page.time_limit)
        circuit = functools.partial(show_circuit, page.backbone, pictures)
        opener = UnitOpener(streamed(functools.partial(show_unit, page.backbone, pictures), OUTPUTS, page.time_limit),
                            streamed(circuit, CIRCUIT_OUTPUTS, page.time_limit),
                            streamed(functools.partial(circuit, draw=False), CIRCUIT_OUTPUTS, page.time_limit),
                            unit_form["unit"], unit_form["image"], unit_outputs, circuit_outputs)
        wire(show, atlas_run, atlas_form, atlas_outputs, "atlas", **OPTIMIZE)
        opener.on(open_unit, "unit", api=True)
        follow_links(page, atlas_run, atlas_form, atlas_outputs, opener)
        gr.on([page.blocks.load, show.click], functools.partial(readiness, page.backbone, pictures), None, [ready],
              queue=False, api_visibility="private")
    tile = atlas_outputs[0].select(unit_of_tile, list(atlas_form.values()), [opener.unit], api_visibility="private")
    opener.on(tile.success, "unit (atlas tile)")
    opener.from_circuits()
    wire_stop(stop, [atlas_run, *opener.runs])
    example = example_of("microscope", atlas_run, atlas_form, atlas_outputs, {}, settings=(TILE,))
    return Tab(SharedPhoto(opener.photo, share, unit_outputs + circuit_outputs), [example],
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
