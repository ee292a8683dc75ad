"""The Activations tab (feature maps, heat map, top-5) and its "Where does it look?" section."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Callable

import gradio as gr

from viz import attribution as attr
from viz.io import imagefiles
from viz import images
from viz.activations import CHANNELS, ORDERS, RESOLUTION, VIEWS, activations, channel_at
from viz.model import Backbone, conv_layers, pool_layers

from .common import (EXAMPLE, EXAMPLES, FORWARD, CheckboxGroup, Dropdown, ImageInput, Radio, SharedPhoto, save_files,
                     share_button, slider, target_suggestions, wire)
from .showcase import Showcase

WHAT_SCORES = {"class": "logit", "channel": "mean activation", "layer": "mean activation"}


def run_activations(backbone: Backbone, image: str, layers: list[str] | None = None, top: int = CHANNELS.default,
                    order: str = ORDERS[0], view: str = VIEWS[0], resolution: int = RESOLUTION.default):
    """Feature maps of each layer, the block5 heat map, and (with the classifier) the top-5 classes."""
    photo = images.fit_for_network(imagefiles.load_image(image), int(resolution))
    result = activations(backbone, photo, layers=layers or None, top=int(top), order=order, view=view)
    top5 = {label: p for label, p in result.top5} if result.top5 else None
    # 13 large grids: written here at a fast PNG level (Gradio's own encoding was a large share of the run)
    files = save_files({f"{k:02d}-{caption.split(' ')[0]}": grid for k, (grid, caption) in enumerate(result.grids)},
                       fast=True)
    return list(zip(files, [caption for _, caption in result.grids])), result.heatmap, top5, result.fc2


@dataclass
class ChannelPicker:
    """A clickable grid: `name_unit(*inputs, evt)` gives the `layer:channel` clicked; `photo` is the
    image the grid was made from (the unit page shows the unit on it)."""

    grid: gr.Image
    name_unit: Callable
    inputs: list
    photo: gr.Image


def pick_grid(evt: gr.SelectData):
    """A grid chosen in the gallery, shown large where its cells can be clicked, and its layer."""
    return evt.value["image"]["path"], layer_of(evt.value["caption"])


def first_grid(grids: list[tuple[str, str]] | None):
    """The first grid of a new result in the picker, so that a visitor sees what can be clicked
    before choosing another grid (an empty box said nothing)."""
    if not grids:
        return None, ""
    path, caption = grids[0]
    return path, layer_of(caption)


def layer_of(caption: str) -> str:
    """The layer a grid's caption ("block1_conv1 · 224×224×64 · …") names."""
    return caption.split(" · ")[0]


def unit_at(backbone: Backbone, image: str, layer: str, top: int, order: str, resolution: int,
            evt: gr.SelectData) -> str:
    """The `layer:channel` under a click on the chosen grid (the grid recomputed from the same photo)."""
    photo = images.fit_for_network(imagefiles.load_image(image), int(resolution))
    channel = channel_at(backbone, photo, layer, int(top), order, *evt.index)
    if channel is None:
        raise gr.Error("That click fell between two channels; click inside a cell.", print_exception=False)
    return f"{layer}:{channel}"


INTRO = ("**What VGG16 sees.** Each grid shows one layer's feature maps for your photo: a cell per channel, "
         "bright where that channel responds. Early layers find edges and colours, deeper ones textures and "
         "parts ([Zeiler & Fergus, 2014](https://arxiv.org/abs/1311.2901)). Try *overlay on image* to see where a "
         "channel fires, then click a channel to open its page in the Microscope.")


def activations_tab(backbone: Backbone) -> tuple[ChannelPicker, SharedPhoto, list[Showcase]]:
    """The tab's widgets, wired to /activations; the attribution section shares its image. Returns
    how a click on a grid names a unit (for the Microscope), its photo (shared with the other tabs)
    and its finished examples (shown at the first visit)."""
    layer_choices = [n for n in backbone.layer_names if n in conv_layers(backbone) + pool_layers(backbone)]
    with gr.Tab("Activations", id="activations", elem_id="tab-activations"):
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=1):
                image = ImageInput(type="filepath", label="Image", height=300, elem_id="activations-image")
                run = gr.Button("Show activations", variant="primary")
                shared = SharedPhoto(image, share_button())
                gr.Examples([[p] for p in EXAMPLES], inputs=[image])
                with gr.Accordion("Settings", open=False):
                    layers = Dropdown(layer_choices, value=conv_layers(backbone), multiselect=True,
                                      label="Layers", info="Every conv layer by default; pooling layers too.")
                    top = slider(CHANNELS, info=f"The top N by the order below ({CHANNELS.high} = all).")
                    order = Radio(list(ORDERS), value=ORDERS[0], label="Order channels by")
                    view = Radio(list(VIEWS), value=VIEWS[0], label="View",
                                 info="Overlay lays each map over the greyscale photo: where does it fire?")
                    resolution = slider(RESOLUTION)
            with gr.Column(scale=2):
                grids = gr.Gallery(label="Feature maps, one grid per layer (its size · channels shown · silent "
                                         "channels: those at zero everywhere)", columns=3, height=620,
                                   elem_id="activation-grids", object_fit="contain", format="png")
                with gr.Row():
                    heat = gr.Image(label="What block 5 responds to (sum of block5_conv3)", height=260,
                                    format="png")
                    top5 = gr.Label(num_top_classes=5, label="Top-5 ImageNet classes", elem_id="top5",
                                    visible=backbone.has_classifier)
                    fc2 = gr.Image(label="fc2: 4096 values as 64×64", height=260, format="png",
                                   elem_id="fc2-picture", visible=backbone.has_classifier)
                if not backbone.has_classifier:
                    gr.Markdown("*Class predictions and fc2 need the ImageNet classifier, which these "
                                "weights do not have.*")
                picker = gr.Image(label="Click a channel: its unit page opens in the Microscope "
                                        "(click a grid above to bring it here)", interactive=False, format="png",
                                  height=360, elem_id="grid-picker")
                picked_layer = gr.State("")
        handler = functools.partial(run_activations, backbone)
        shown = wire(run, handler, [image, layers, top, order, view, resolution], [grids, heat, top5, fc2],
                     "activations", **FORWARD)
        shown.success(first_grid, grids, [picker, picked_layer], api_visibility="private")
        grids.select(pick_grid, None, [picker, picked_layer], api_visibility="private")
        attribution_showcase = attribution_section(backbone, image)

    def name_unit(image: str, layer: str, top: int, order: str, resolution: int, evt: gr.SelectData) -> str:
        return unit_at(backbone, image, layer, top, order, resolution, evt)  # Gradio sees `evt` here

    def example_run():
        values = handler(EXAMPLE)
        return (*values, *first_grid(values[0]))

    showcase = Showcase("activations", example_run, [grids, heat, top5, fc2, picker, picked_layer],
                        {image: EXAMPLE}, (EXAMPLE,))
    picker_of_units = ChannelPicker(picker, name_unit, [image, picked_layer, top, order, resolution], image)
    return picker_of_units, shared, [showcase, attribution_showcase]


def run_attribution(backbone: Backbone, image: str, target: str = "", methods: list[str] | None = None,
                    layer: str = attr.DEFAULT_LAYER, noise: float = attr.NOISE.default,
                    samples: int = attr.SAMPLES.default, top: int = attr.TOP.default):
    """Heat maps of where the evidence for the target lies, laid over the photo with a colour scale."""
    photo = imagefiles.load_image(image)
    results = attr.attribution(backbone, photo, target=target or None, methods=methods or list(attr.METHODS),
                               layer=layer, noise=noise, samples=int(samples), top=int(top))
    return [(images.with_colorbar(images.heat_overlay(r.photo, heat)), attribution_caption(r, method))
            for r in results for method, heat in r.maps.items()]


def attribution_caption(result: attr.Attribution, method: str) -> str:
    """Method, Grad-CAM's layer, target and score."""
    where = f" at {result.layer}" if method.startswith("Grad-CAM") else ""
    what = WHAT_SCORES[result.target.kind]
    return f"{method}{where} · {result.target.text} ({what} {result.score:.2f})"


def attribution_section(backbone: Backbone, image: gr.Image) -> Showcase:
    """The attribution widgets under the Activations tab, wired to /attribution; its finished example."""
    default_target = "" if backbone.has_classifier else attr.DEFAULT_LAYER
    gr.Markdown("### Where does it look?\nWhich pixels the evidence for a class (or a channel) comes from: "
                "[Grad-CAM](https://arxiv.org/abs/1610.02391) weighs the last conv maps by their gradients; "
                "[SmoothGrad](https://arxiv.org/abs/1706.03825) averages the pixel gradients of noisy copies. "
                "Bright is where the target's score depends most on the photo.")
    with gr.Row():
        with gr.Column(scale=1):
            # A default in both modes, so that API callers may send the image alone.
            target = Dropdown(target_suggestions(backbone), allow_custom_value=True, label="Target",
                              value=default_target,
                              info=("Empty: the top predicted classes. " if backbone.has_classifier else "")
                              + "A class, a channel (layer:channel) or a layer.")
            explain = gr.Button("Explain", variant="primary")
            with gr.Accordion("Settings", open=False):
                methods = CheckboxGroup(list(attr.METHODS), value=list(attr.METHODS), label="Methods")
                layer = Dropdown(conv_layers(backbone), value=attr.DEFAULT_LAYER, label="Grad-CAM layer")
                noise = slider(attr.NOISE)
                samples = slider(attr.SAMPLES)
                top = slider(attr.TOP,
                             visible=backbone.has_classifier)
        with gr.Column(scale=2):
            maps = gr.Gallery(label="Attribution maps (captions: the method, the target and its score)", columns=4,
                              height=360, object_fit="contain", elem_id="attribution-maps", format="png")
    handler = functools.partial(run_attribution, backbone)
    wire(explain, handler, [image, target, methods, layer, noise, samples, top], [maps], "attribution", **FORWARD)
    return Showcase("attribution", lambda: (handler(EXAMPLE, default_target),), [maps], {}, (EXAMPLE, default_target))
