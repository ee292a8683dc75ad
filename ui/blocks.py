"""The Building blocks tab: your photo's neuron groups (where each fires, its picture, its channels,
what it adds to a target), its activation grid, and the semantic dictionary of any place you click."""

from __future__ import annotations

import functools

import gradio as gr

from viz.io import atlas, imagefiles
from viz import blocks
from viz.errors import SEED
from viz.model import Backbone, conv_layers

from .common import (CUT, EXAMPLE, EXAMPLES, OPTIMIZE, Dropdown, ImageInput, SharedPhoto, TimeLimited, link_to, number,
                     seed_box, share_button, slider, target_suggestions, user_errors, wire)
from .showcase import Showcase

INTRO = ("**What the network sees in your photo, in pictures.** A layer's activations are split into a few "
         "*neuron groups* (non-negative matrix factorization): each group fires somewhere on the photo (its "
         "colour), wants to see something (its picture), and is made of channels (linked to their pages). Click "
         "the photo for the channels that fire most at that place. After [Olah et al., *The Building Blocks of "
         "Interpretability*](https://distill.pub/2018/building-blocks/).")


def run_groups(backbone: Backbone, image: str, layer: str = blocks.DEFAULT_LAYER, groups: int = blocks.GROUPS.default,
               target: str = "", seed: int = SEED.default):
    """Neuron groups: the maps and channels at once, then the groups' pictures as they form."""
    found = blocks.neuron_groups(backbone, imagefiles.load_image(image), layer, groups, target or None, seed)
    maps = [(blocks.group_overlay(found), f"all {len(found.maps)} groups")] + [
        (blocks.group_map(found, g), f"group {g + 1}") for g in range(len(found.maps))]
    about = describe(found)
    yield maps, None, about + " · drawing the groups' pictures…"
    limited = TimeLimited(blocks.group_directions_pictures(backbone, found, seed=seed))
    for step, pictures, responses in limited:  # the maps stay as sent; each snapshot sends only the pictures
        shown = [(p, f"group {g + 1} · response {r:.1f}") for g, (p, r) in enumerate(zip(pictures, responses))]
        yield gr.skip(), shown, about + f" · pictures: step {step} / {blocks.PICTURE_STEPS}"
    yield maps, shown, about + (CUT if limited.cut else " · done")
    return limited.ending


def run_grid(backbone: Backbone, image: str, layer: str = blocks.DEFAULT_LAYER, cells: int = blocks.CELLS.default,
             seed: int = SEED.default):
    """The activation grid: a picture per cell of the photo, streamed as they form."""
    limited = TimeLimited(blocks.activation_grid(backbone, imagefiles.load_image(image), layer, cells, seed=seed))
    for grid in limited:
        status = f"**Step {grid.step} / {grid.steps}** · {grid.rows} × {grid.columns} cells at {layer}"
        yield grid.picture, status
    yield grid.picture, status + (CUT if limited.cut else " · done")
    return limited.ending


def describe(found: blocks.NeuronGroups) -> str:
    """The groups in words: the energy they explain, each one's top channels (linked) and contributions."""
    lines = [f"**{len(found.maps)} groups at {found.layer}** explain {100 * found.explained:.0f} % of the "
             "activations' energy (1 − ‖A − W·H‖² / ‖A‖²)."]
    for g in range(len(found.maps)):
        channels = ", ".join(f"{link_to(f'?unit={found.layer}:{c}', f'{c}')} ({100 * share:.0f} %)"
                             for c, share in found.channels(g))
        adds = " · ".join(f"{target}: {values[g]:+.2f}" for target, values in found.contributions.items())
        lines.append(f"- group {g + 1}: channels {channels}" + (f" · adds to {adds}" if adds else ""))
    if found.contributions:
        lines.append("*Adds to: the group's part of the activations times the target's gradient (first order).*")
    return "\n".join(lines)


def run_dictionary(backbone: Backbone, cache: atlas.TileCache, image: str, layer: str = blocks.DEFAULT_LAYER,
                   x: float = blocks.X.default, y: float = blocks.Y.default, count: int = blocks.ENTRIES.default):
    """The channels that fire most at (x, y) (fractions of the photo's width and height), each as its
    atlas picture (computed once, then cached) drawn as large as it fires, and links to their unit pages."""
    found = blocks.dictionary(backbone, imagefiles.load_image(image), layer, x, y, count)
    *_, pictures = atlas.tiles(backbone, layer, [c for c, _ in found], cache)
    entries = blocks.sized_by_activation([pictures[c] for c, _ in found], [value for _, value in found])
    gallery = [(entry, f"{layer}:{c} · {value:.1f}") for entry, (c, value) in zip(entries, found)]
    links = ", ".join(link_to(f"?unit={layer}:{c}", f"{layer}:{c}") for c, _ in found)
    return gallery, f"At ({x:.2f}, {y:.2f}), strongest first: {links}"


def clicked_place(image: str, evt: gr.SelectData) -> tuple[float, float]:
    """Where a click fell on the photo, as fractions of its width and height."""
    height, width = imagefiles.load_image(image).shape[:2]
    return (evt.index[0] + 0.5) / width, (evt.index[1] + 0.5) / height


def blocks_tab(backbone: Backbone) -> tuple[SharedPhoto, list[Showcase]]:
    """The tab's widgets, wired to /neuron_groups and /dictionary; its photo (shared) and its example."""
    cache = atlas.TileCache()
    with gr.Tab("Building blocks", id="blocks", elem_id="tab-blocks"):
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=1):
                image = ImageInput(type="filepath", label="Your photo (click it for its dictionary)", height=300,
                                   elem_id="blocks-image")
                with gr.Row():
                    run = gr.Button("Find neuron groups", variant="primary")
                    stop = gr.Button("Stop", variant="stop")
                shared = SharedPhoto(image, share_button())
                layer = Dropdown(conv_layers(backbone), value=blocks.DEFAULT_LAYER, label="Layer")
                groups = slider(blocks.GROUPS)
                target = Dropdown(target_suggestions(backbone), value="", allow_custom_value=True,
                                  label="What the groups add to (optional)",
                                  info="A channel or layer at or after this layer" +
                                       (", or a class; empty: the top classes." if backbone.has_classifier else "."))
                with gr.Accordion("More settings", open=False):
                    seed = seed_box()
                gr.Examples([[p] for p in EXAMPLES], inputs=[image])
            with gr.Column(scale=2):
                maps = gr.Gallery(label="Where each group fires", columns=4, height=330, format="png",
                                  object_fit="contain", elem_id="group-maps")
                about = gr.Markdown(elem_id="groups-about")
                pictures = gr.Gallery(label="What each group wants to see", columns=6, height=200, format="png",
                                      object_fit="contain", elem_id="group-pictures")
                with gr.Row():
                    cells = slider(blocks.CELLS, scale=2)
                    show_grid = gr.Button("Show the activation grid", scale=1)
                grid = gr.Image(label="Activation grid: what the network sees at each place (the activation "
                                      "vector of each cell, as a picture)", format="png", height=420,
                                interactive=False, elem_id="activation-grid")
                grid_status = gr.Markdown(elem_id="grid-status")
                entries = gr.Gallery(label="Semantic dictionary: the channels that fire most where you clicked",
                                     columns=8, height=200, format="png", object_fit="contain",
                                     elem_id="dictionary")
                links = gr.Markdown(elem_id="dictionary-links")
        groups_run = wire(run, functools.partial(run_groups, backbone), [image, layer, groups, target, seed],
                          [maps, pictures, about], "neuron_groups", **OPTIMIZE)
        grid_run = wire(show_grid, functools.partial(run_grid, backbone), [image, layer, cells, seed],
                        [grid, grid_status], "activation_grid", **OPTIMIZE)
        stop.click(None, cancels=[groups_run, grid_run])
        x, y = number(blocks.X, visible=False), number(blocks.Y, visible=False)
        image.select(clicked_place, [image], [x, y], api_visibility="private").success(
            user_errors(functools.partial(run_dictionary, backbone, cache), "/dictionary"), [image, layer, x, y],
            [entries, links], api_name="dictionary", **OPTIMIZE)
    showcase = Showcase("blocks", lambda: run_groups(backbone, EXAMPLE), [maps, pictures, about], {image: EXAMPLE},
                        (EXAMPLE, blocks.DEFAULT_LAYER, blocks.GROUPS, blocks.PICTURE_STEPS, blocks.PICTURE_SIZE))
    return shared, [showcase]
