"""What VGG16 sees and learns: a Gradio app (and API) over the pure functions in `viz`.

Run: python app.py [--weights imagenet|hed|PATH] [--share]
"""

from __future__ import annotations

import argparse
import functools
import inspect
import sys
from pathlib import Path

import gradio as gr

from viz import images
from viz.activations import ORDERS, VIEWS, activations
from viz.errors import InputError
from viz.model import Backbone, WeightsError, conv_layers, load_backbone, pool_layers, resolve_source

HERE = Path(__file__).parent
EXAMPLES = sorted(str(p.relative_to(HERE)) for p in (HERE / "examples").glob("*.jpg"))
TITLE = "What does VGG16 see?"
MAX_UPLOAD = "25mb"


def user_errors(fn):
    """Turn the InputErrors of `fn` (a function or a generator) into messages for the person."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def stream(*args, **kwargs):
            try:
                yield from fn(*args, **kwargs)
            except InputError as err:
                raise gr.Error(str(err), print_exception=False) from None
        return stream

    @functools.wraps(fn)
    def call(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except InputError as err:
            raise gr.Error(str(err), print_exception=False) from None
    return call

from gradio.events import Dependency

class ImageInput(gr.Image):
    """An image upload passed on as its file path; files Gradio cannot open are passed on too, so
    that `images.load_image` can say what is wrong with them."""

    is_template = True  # drawn by Gradio's own Image component

    def preprocess(self, payload):
        try:
            return super().preprocess(payload)
        except Exception:
            return getattr(payload, "path", None)
    from typing import Callable, Literal, Sequence, Any, TYPE_CHECKING
    from gradio.blocks import Block
    if TYPE_CHECKING:
        from gradio.components import Timer
        from gradio.components.base import Component


def header(backbone: Backbone) -> str:
    info = backbone.describe()
    kind = "⚠️ " if "Fell back" in info["note"] else ""
    return (f"# {TITLE}\nFeature maps, reconstructions, class pictures and style transfer on VGG16.\n\n"
            f"{kind}**Weights: `{info['weights']}`** · {info['note']}")


# ---------------------------------------------------------------- Activations

def run_activations(backbone: Backbone, image: str, layers: list[str] | None = None, top: int = 64,
                    order: str = ORDERS[0], view: str = VIEWS[0], resolution: int = 224):
    """Feature maps of each layer, the block5 heat map, and (with the classifier) the top-5 classes."""
    photo = images.fit_long_side(images.load_image(image), int(resolution))
    result = activations(backbone, photo, layers or None, int(top), order, view)
    top5 = {label: p for label, p in result.top5} if result.top5 else None
    return result.grids, result.heatmap, top5, result.fc2


def activations_tab(backbone: Backbone) -> None:
    layer_choices = [n for n in backbone.layer_names if n in conv_layers(backbone) + pool_layers(backbone)]
    with gr.Tab("Activations"):
        with gr.Row():
            with gr.Column(scale=1):
                image = ImageInput(type="filepath", label="Image", height=300)
                layers = gr.Dropdown(layer_choices, value=conv_layers(backbone), multiselect=True,
                                     label="Layers", info="Every conv layer by default; pooling layers too.")
                top = gr.Slider(1, 512, value=64, step=1, label="Channels per layer",
                                info="The top N by the order below (64 = an 8×8 grid, 512 = all).")
                order = gr.Radio(list(ORDERS), value=ORDERS[0], label="Order channels by")
                view = gr.Radio(list(VIEWS), value=VIEWS[0], label="View",
                                info="Overlay lays each map over the greyscale photo: where does it fire?")
                resolution = gr.Slider(128, 448, value=224, step=16, label="Resolution (long side, px)")
                run = gr.Button("Show activations", variant="primary")
                gr.Examples([[p] for p in EXAMPLES], inputs=[image])
            with gr.Column(scale=2):
                grids = gr.Gallery(label="Feature maps, one grid per layer", columns=3, height=620,
                                   object_fit="contain", format="png")
                with gr.Row():
                    heat = gr.Image(label="What block 5 responds to (sum of block5_conv3)", height=260)
                    top5 = gr.Label(num_top_classes=5, label="Top-5 ImageNet classes",
                                    visible=backbone.has_classifier)
                    fc2 = gr.Image(label="fc2: 4096 values as 64×64", height=260,
                                   visible=backbone.has_classifier)
                if not backbone.has_classifier:
                    gr.Markdown("*Class predictions and fc2 need the ImageNet classifier, which these "
                                "weights do not have.*")
        run.click(user_errors(functools.partial(run_activations, backbone)),
                  inputs=[image, layers, top, order, view, resolution], outputs=[grids, heat, top5, fc2],
                  api_name="activations", concurrency_id="forward", concurrency_limit=2)


# ---------------------------------------------------------------- the page

def build_app(backbone: Backbone) -> gr.Blocks:
    """The whole page; every tab is also a named API endpoint."""
    with gr.Blocks(title=TITLE, delete_cache=(1800, 3600)) as demo:
        gr.Markdown(header(backbone))
        activations_tab(backbone)

        def model_info() -> dict:
            """The model, the weights in use and whether the ImageNet classifier is available."""
            return backbone.describe()

        gr.api(model_info, api_name="model_info")
    return demo


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weights", default=None,
                        help="imagenet (default; falls back to hed offline), hed, or a path to a VGG16 "
                             "weights file. Also read from $VIZ_WEIGHTS.")
    parser.add_argument("--share", action="store_true", help="Ask Gradio for a public share link.")
    return parser.parse_args(argv)


def launch(demo: gr.Blocks, share: bool = False, block: bool = True, **kwargs) -> gr.Blocks:
    """Serve the app (GRADIO_SERVER_NAME/PORT apply); say plainly when a share link is not made."""
    demo.queue(max_size=32, default_concurrency_limit=1)
    # ssr_mode/run_history off: mitigation for the gradio 6.31 advisory (CVE-2026-134825).
    demo.launch(share=share, ssr_mode=False, run_history=False, show_error=False,
                max_file_size=MAX_UPLOAD, prevent_thread_lock=True, **kwargs)
    if share and not demo.share_url:
        print("No share link could be created (is this machine offline?); the app is only "
              f"served locally at {demo.local_url}", file=sys.stderr, flush=True)
    if block:
        demo.block_thread()
    return demo


def main(argv=None) -> None:
    args = parse_args(argv)
    try:
        backbone = load_backbone(resolve_source(args.weights))
    except WeightsError as err:
        sys.exit(f"error: {err}")
    print(f"VGG16 weights: {backbone.source}. {backbone.note}", flush=True)
    launch(build_app(backbone), share=args.share)


if __name__ == "__main__":
    main()
class Slider(gr.Slider):
    """A Gradio slider whose wrong-type values (from API callers) get a clear message."""

    is_template = True

    def preprocess(self, payload):
        return super().preprocess(as_number(payload, self.label))
    from typing import Callable, Literal, Sequence, Any, TYPE_CHECKING
    from gradio.blocks import Block
    if TYPE_CHECKING:
        from gradio.components import Timer
        from gradio.components.base import Component

    
class Number(gr.Number):
    """A Gradio number box whose wrong-type values (from API callers) get a clear message."""

    is_template = True

    def preprocess(self, payload):
        return super().preprocess(None if payload is None else as_number(payload, self.label))
    from typing import Callable, Literal, Sequence, Any, TYPE_CHECKING
    from gradio.blocks import Block
    if TYPE_CHECKING:
        from gradio.components import Timer
        from gradio.components.base import Component

    