"""The Activations tab: feature maps of every layer, the block5 heat map, the top-5 classes."""

from __future__ import annotations

import functools

import gradio as gr

from viz.activations import CHANNELS, ORDERS, RESOLUTION, VIEWS, ActivationsRun, activations, channel_at
from viz.io import imagefiles
from viz.model import Backbone, conv_layers, pool_layers

from .files import save_files
from .photos import EXAMPLE, EXAMPLES, SharedPhoto, share_button
from .runs import FORWARD, wire
from .showcase import Showcase, example_of
from .tab import Page, Tab, UnitSource
from .widgets import Dropdown, ImageInput, Radio, result_gallery, slider

INTRO = ("**What VGG16 sees.** Each grid shows one layer's feature maps for your photo: a cell per channel, "
         "bright where that channel responds. Early layers find edges and colours, deeper ones textures and "
         "parts ([Zeiler & Fergus, 2014](https://arxiv.org/abs/1311.2901)). Try *overlay on image* to see where a "
         "channel fires, then click a channel to open its page in the Microscope.")


def show_activations(backbone: Backbone, values: dict):
    """Feature maps of each layer, the block5 heat map, and (with the classifier) the top-5 classes."""
    result = activations(backbone, imagefiles.load_image(values["image"]), ActivationsRun.of(values))
    top5 = {label: p for label, p in result.top5} if result.top5 else None
    # 13 large grids: written here at a fast PNG level (Gradio's own encoding was a large share of the run)
    files = save_files({f"{k:02d}-{caption.split(' ')[0]}": grid for k, (grid, caption) in enumerate(result.grids)},
                       fast=True)
    return list(zip(files, [caption for _, caption in result.grids])), result.heatmap, top5, result.fc2


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


def unit_namer(backbone: Backbone):
    """What names the unit under a click on the chosen grid (the grid recomputed from the same photo)."""
    def unit_at(image: str, layer: str, top: int, order: str, resolution: int, evt: gr.SelectData) -> str:
        run = ActivationsRun(top=top, order=order, resolution=resolution)
        channel = channel_at(backbone, imagefiles.load_image(image), layer, run, *evt.index)
        if channel is None:
            raise gr.Error("That click fell between two channels; click inside a cell.", print_exception=False)
        return f"{layer}:{channel}"

    return unit_at


def settings_widgets(backbone: Backbone) -> dict:
    """The maps' settings by the names the handler and the API know them by, in the API's order."""
    choices = [n for n in backbone.layer_names if n in conv_layers(backbone) + pool_layers(backbone)]
    with gr.Accordion("Settings", open=False):
        return {"layers": Dropdown(choices, value=conv_layers(backbone), multiselect=True, label="Layers",
                                   info="Every conv layer by default; pooling layers too."),
                "top": slider(CHANNELS, info=f"The top N by the order below ({CHANNELS.high} = all)."),
                "order": Radio(list(ORDERS), value=ORDERS[0], label="Order channels by"),
                "view": Radio(list(VIEWS), value=VIEWS[0], label="View",
                              info="Overlay lays each map over the greyscale photo: where does it fire?"),
                "resolution": slider(RESOLUTION)}


def results(backbone: Backbone) -> list:
    """Where the maps show: the grids, the heat map, the top-5 classes, fc2 (the last two with the classifier)."""
    grids = result_gallery(label="Feature maps, one grid per layer (its size · channels shown · silent channels: "
                                 "those at zero everywhere)", columns=3, height=620, elem_id="activation-grids",
                           object_fit="contain")
    with gr.Row():
        heat = gr.Image(label="What block 5 responds to (sum of block5_conv3)", height=260, format="png")
        top5 = gr.Label(num_top_classes=5, label="Top-5 ImageNet classes", elem_id="top5",
                        visible=backbone.has_classifier)
        fc2 = gr.Image(label="fc2: 4096 values as 64×64", height=260, format="png", elem_id="fc2-picture",
                       visible=backbone.has_classifier)
    if not backbone.has_classifier:
        gr.Markdown("*Class predictions and fc2 need the ImageNet classifier, which these weights do not have.*")
    return [grids, heat, top5, fc2]


def build(page: Page) -> Tab:
    """The tab, wired to /activations: its photo (shared), its finished example, and its grids, where a
    click names a unit (for the Microscope)."""
    with gr.Tab("Activations", id="activations", elem_id="tab-activations"):
        gr.Markdown(INTRO)
        with gr.Row():
            with gr.Column(scale=1):
                photo = ImageInput(type="filepath", label="Image", height=300, elem_id="activations-image")
                run = gr.Button("Show activations", variant="primary")
                share = share_button()
                gr.Examples([[p] for p in EXAMPLES], inputs=[photo])
                form = {"image": photo, **settings_widgets(page.backbone)}
            with gr.Column(scale=2):
                outputs = results(page.backbone)
                picker = gr.Image(label="Click a channel: its unit page opens in the Microscope (click a grid above "
                                        "to bring it here)", interactive=False, format="png", height=360,
                                  elem_id="grid-picker")
                picked_layer = gr.State("")
        handler = functools.partial(show_activations, page.backbone)
        shown = wire(run, handler, form, outputs, "activations", **FORWARD)
        shown.success(first_grid, outputs[0], [picker, picked_layer], api_visibility="private")
        outputs[0].select(pick_grid, None, [picker, picked_layer], api_visibility="private")
    source = UnitSource(picker, unit_namer(page.backbone),
                        [photo, picked_layer, form["top"], form["order"], form["resolution"]], photo)
    return Tab(SharedPhoto(photo, share, outputs + [picker]),
               [maps_example(handler, form, outputs + [picker, picked_layer])],
               unit_sources=[source])


def maps_example(handler, form: dict, outputs: list) -> Showcase:
    """The tab's example: the maps of the example photo, its first grid in the picker."""
    def with_first_grid(values: dict) -> tuple:
        shown = handler(values)
        return (*shown, *first_grid(shown[0]))

    return example_of("activations", with_first_grid, form, outputs, {"image": EXAMPLE})
