"""The Building blocks tab: your photo's neuron groups (where each fires, its picture, its channels,
what it adds to a target), its activation grid, and the semantic dictionary of any place you click."""

from __future__ import annotations

import functools
import time
from dataclasses import replace

import gradio as gr

from viz import atlas, blocks
from viz.io import cache, imagefiles
from viz.model import LAST_CONV, Backbone, conv_layers

from .links import unit_link
from .photos import EXAMPLE, EXAMPLES, SharedPhoto, share_button
from .runs import OPTIMIZE, by_name, user_errors, wire, wire_stop
from .showcase import example_of
from .streaming import Outputs, View, streamed
from .tab import Page, Tab
from .widgets import Dropdown, ImageInput, number, result_gallery, seed_box, slider, target_suggestions

INTRO = ("**What the network sees in your photo, in pictures.** A layer's activations are split into a few "
         "*neuron groups* (non-negative matrix factorization): each group fires somewhere on the photo (its "
         "colour), wants to see something (its picture), and is made of channels (linked to their pages). Click "
         "the photo for the channels that fire most at that place. After [Olah et al., *The Building Blocks of "
         "Interpretability*](https://distill.pub/2018/building-blocks/).")
GROUPS_OUTPUTS, GRID_OUTPUTS = Outputs(shown=2), Outputs(shown=1)


def show_groups(backbone: Backbone, values: dict):
    """Neuron groups: the maps and channels at once, then the groups' pictures as they form (each
    snapshot sends only the pictures; the last one everything)."""
    run = blocks.GroupsRun.of(values)
    begin = time.monotonic()
    found = blocks.neuron_groups(backbone, imagefiles.load_image(values["image"]), run)
    maps = [(blocks.group_overlay(found), f"all {len(found.maps)} groups")] + [
        (blocks.group_map(found, g), f"group {g + 1}") for g in range(len(found.maps))]
    about, made = describe(found), blocks.PICTURES
    yield View(0, made.steps, time.monotonic() - begin, (maps, None), progress=about + "\n\n**Drawing the pictures…**")
    for step, pictures, responses in blocks.group_directions_pictures(backbone, found, replace(made, seed=run.seed)):
        shown = [(p, f"group {g + 1} · response {r:.1f}") for g, (p, r) in enumerate(zip(pictures, responses))]
        yield View(step, made.steps, time.monotonic() - begin, (maps, shown), sending=(gr.skip(), shown),
                   progress=about + f"\n\n**Pictures: step {step} / {made.steps}**")


def describe(found: blocks.NeuronGroups) -> str:
    """The groups in words: the energy they explain, each one's top channels (linked) and contributions."""
    lines = [f"**{len(found.maps)} groups at {found.layer}** explain {100 * found.explained:.0f} % of the "
             "activations' energy (1 − ‖A − W·H‖² / ‖A‖²)."]
    for g in range(len(found.maps)):
        channels = ", ".join(f"{unit_link(f'{found.layer}:{c}', str(c))} ({100 * share:.0f} %)"
                             for c, share in found.channels(g))
        adds = " · ".join(f"{target}: {values[g]:+.2f}" for target, values in found.contributions.items())
        lines.append(f"- group {g + 1}: channels {channels}" + (f" · adds to {adds}" if adds else ""))
    if found.contributions:
        lines.append("*Adds to: the group's part of the activations times the target's gradient (first order).*")
    return "\n".join(lines)


def show_grid(backbone: Backbone, values: dict):
    """The activation grid: a picture per cell of the photo, a View as they form."""
    run = blocks.GridRun.of(values)
    for grid in blocks.activation_grid(backbone, imagefiles.load_image(values["image"]), run):
        yield View(grid.step, grid.steps, grid.seconds, (grid.picture,),
                   note=f" · {grid.rows} × {grid.columns} cells at {run.layer}")


def show_dictionary(backbone: Backbone, pictures: cache.TileCache, values: dict):
    """The channels that fire most at (x, y) (fractions of the photo's width and height), each as its
    atlas picture (computed once, then cached) drawn as large as it fires, and links to their unit pages."""
    place = blocks.Place.of(values)
    found = blocks.dictionary(backbone, imagefiles.load_image(values["image"]), place)
    *_, tiles = atlas.tiles(backbone, place.layer, [c for c, _ in found], pictures)
    entries = blocks.sized_by_activation([tiles[c] for c, _ in found], [value for _, value in found])
    gallery = [(entry, f"{place.layer}:{c} · +{value:.1f}") for entry, (c, value) in zip(entries, found)]
    links = ", ".join(unit_link(f"{place.layer}:{c}") for c, _ in found)
    return gallery, (f"At ({place.x:.2f}, {place.y:.2f}), the channels that fire there most above their mean over the "
                     f"photo, most first: {links}")


def clicked_place(image: str, evt: gr.SelectData) -> tuple[float, float]:
    """Where a click fell on the photo, as fractions of its width and height (read from its header)."""
    width, height = imagefiles.size_of(image)
    return (evt.index[0] + 0.5) / width, (evt.index[1] + 0.5) / height


def groups_widgets(backbone: Backbone) -> dict:
    """The groups' settings after the photo, by the names the handler and the API know them by."""
    form = {"layer": Dropdown(conv_layers(backbone), value=LAST_CONV, label="Layer"), "groups": slider(blocks.GROUPS),
            "target": Dropdown(target_suggestions(backbone), value="", allow_custom_value=True,
                               label="What the groups add to (optional)",
                               info="A channel or layer at or after this layer" +
                                    (", or a class; empty: the top classes." if backbone.has_classifier else "."))}
    with gr.Accordion("More settings", open=False):
        return form | {"seed": seed_box()}


def results() -> list:
    """Where the views show: the groups' maps, words and pictures; the grid; the dictionary."""
    maps = result_gallery(label="Where each group fires", columns=4, height=330, object_fit="contain",
                          elem_id="group-maps")
    about = gr.Markdown(elem_id="groups-about")
    pictures = result_gallery(label="What each group wants to see", columns=6, height=200,
                              object_fit="contain", elem_id="group-pictures")
    return [maps, pictures, about]


def build(page: Page) -> Tab:
    """The tab, wired to /neuron_groups, /activation_grid and /dictionary: its photo (shared) and its example."""
    with gr.Tab("Building blocks", id="blocks", elem_id="tab-blocks"):
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=1):
                photo = ImageInput(type="filepath", label="Your photo (click it for its dictionary)", height=300,
                                   elem_id="blocks-image")
                with gr.Row():
                    run, stop = gr.Button("Find neuron groups", variant="primary"), gr.Button("Stop", variant="stop")
                share = share_button()
                form = {"image": photo} | groups_widgets(page.backbone)
                gr.Examples([[p] for p in EXAMPLES], inputs=[photo])
            with gr.Column(scale=2):
                outputs = results()
                grid_run, grid_outputs = grid_section(page, form)
                dictionary_outputs = dictionary_section(page, form)
    handler = streamed(functools.partial(show_groups, page.backbone), GROUPS_OUTPUTS, page.time_limit)
    wire(run, handler, form, outputs, "neuron_groups", **OPTIMIZE)
    wire_stop(stop, [handler, grid_run])
    example = example_of("blocks", handler, form, outputs, {"image": EXAMPLE}, settings=(blocks.PICTURES,))
    return Tab(SharedPhoto(photo, share, outputs + grid_outputs + dictionary_outputs), [example])


def grid_section(page: Page, form: dict) -> tuple:
    """The activation grid's widgets, wired to /activation_grid (the photo, layer and seed of the groups);
    its streamed handler (for the tab's Stop) and its outputs."""
    with gr.Row():
        cells = slider(blocks.CELLS, scale=2)
        show = gr.Button("Show the activation grid", scale=1)
    grid = gr.Image(label="Activation grid: what the network sees at each place (the activation vector of each "
                          "cell, as a picture)", format="png", height=420, interactive=False, elem_id="activation-grid")
    status = gr.Markdown(elem_id="grid-status")
    handler = streamed(functools.partial(show_grid, page.backbone), GRID_OUTPUTS, page.time_limit)
    inputs = {"image": form["image"], "layer": form["layer"], "cells": cells, "seed": form["seed"]}
    wire(show, handler, inputs, [grid, status], "activation_grid", **OPTIMIZE)
    return handler, [grid, status]


def dictionary_section(page: Page, form: dict) -> list:
    """The semantic dictionary's widgets: a click on the photo shows the channels that fire most there
    (/dictionary); its outputs."""
    entries = result_gallery(label="Semantic dictionary: the channels that stand out where you clicked", columns=8,
                             height=200, object_fit="contain", elem_id="dictionary")
    links = gr.Markdown(elem_id="dictionary-links")
    x, y = number(blocks.X, visible=False), number(blocks.Y, visible=False)
    inputs = {"image": form["image"], "layer": form["layer"], "x": x, "y": y}
    handler = by_name(functools.partial(show_dictionary, page.backbone, cache.TileCache()), inputs)
    form["image"].select(user_errors(clicked_place, "photo click"), [form["image"]], [x, y],
                         api_visibility="private").success(
        user_errors(handler, "/dictionary"), list(inputs.values()), [entries, links], api_name="dictionary", **OPTIMIZE)
    return [entries, links]
