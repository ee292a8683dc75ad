"""Which faithfulness protocol tells a good map from a random one on these weights, and how every
method fares under the one the app shows.

Photos the app was not tuned on (Matplotlib's and Gradio's sample photos, and the cat example), two
channel targets each (the photo's strongest channel at block5_conv3 and at block4_conv3, so that
there is evidence to take apart). For every map (the gradient methods, the channel's own activation
map: where it fires, upsampled, a map known to be right) and for random orders:

  deletion, pixels       one order, the most relevant pixels greyed first (RISE's deletion, to grey)
  deletion, patches      the same by 16 px patches
  gap, patches           the area of least-relevant-first minus most-relevant-first (the app's)
  insertion, patches     the most relevant patches pasted first into a blurred copy (the app's)
  gap, blur fill         the gap when deleted patches are blurred instead of greyed (ROAD's idea)

"beats random" counts the cases where a map does better than every one of the random orders.
Then RISE's own protocol (pixels deleted to black, inserted into a blur, 1 % a step) beside its
published VGG16 figures, which only the ImageNet weights and class targets could reproduce.

Run: python benchmarks/faithfulness.py [--methods ...]
"""

import argparse
import sys
from pathlib import Path

import matplotlib
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from viz import attribution as A  # noqa: E402
from viz import faithfulness as F  # noqa: E402
from viz import images  # noqa: E402
from viz.io import imagefiles  # noqa: E402
from viz.io.weights import load_backbone  # noqa: E402
from viz.model import features  # noqa: E402
from viz.precision import fast_precision  # noqa: E402
from viz.runtime import configure_runtime  # noqa: E402
from viz.targets import parse_target  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
OWN = "own activation"
PROTOCOLS = {  # name -> (protocol, the area that rates it, whether higher is better)
    "deletion, pixels": (F.Protocol(patch=4, fill="grey"), "deletion", False),
    "deletion, patches": (F.Protocol(fill="grey"), "deletion", False),
    "gap, patches": (F.Protocol(fill="grey"), "gap", True),
    "insertion, patches": (F.Protocol(fill="grey"), "insertion", True),
    "gap, blur fill": (F.Protocol(fill="blur"), "gap", True),
}
RISE_PROTOCOL = F.Protocol(patch=4, fill="black", seeds=1, fractions=tuple(np.linspace(0, 1, 21)))
RISE_PUBLISHED = {"deletion": 0.098, "insertion": 0.666}  # Petsiuk et al. 2018, Table 1, VGG16 (ImageNet)


def photos() -> dict[str, np.ndarray]:
    import gradio

    gradio_images = Path(gradio.__file__).parent / "media_assets" / "images"
    paths = [Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg", ROOT / "examples" / "cat.jpg"]
    paths += [gradio_images / name for name in ("bus.png", "cheetah.jpg", "lion.jpg", "tower.jpg")]
    return {p.stem: imagefiles.load_image(str(p)) for p in paths if p.is_file()}


def strongest(backbone, picture, layer) -> str:
    acts = features(backbone, images.to_float(picture)[None], [layer])[layer][0]
    return f"{layer}:{int(np.argmax(acts.mean(axis=(0, 1))))}"


def own_activation(backbone, picture, target) -> np.ndarray:
    acts = features(backbone, images.to_float(picture)[None], [target.layer])[target.layer][0, ..., target.unit]
    return A.upsample(acts, picture.shape[:2])


def area(curves, rated: str) -> float:
    return curves.gap if rated == "gap" else curves.area(rated)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="*", default=["Grad-CAM", "Grad-CAM++", "LayerCAM", "gradient",
                                                          "SmoothGrad", "IG (black)"])
    args = parser.parse_args()
    configure_runtime()
    backbone = load_backbone("hed")
    shown = args.methods + [OWN]
    print(f"{backbone.source} weights, {fast_precision().name}; protocols by {F.PATCH.default} px patches unless "
          f"said, fractions {F.FRACTIONS}, {F.SEEDS.default} random orders\n")
    wins = {name: {m: 0 for m in shown} for name in PROTOCOLS}
    above_mean = {m: 0 for m in shown}  # the gap positive and above the random orders' mean
    rows, rise_rows, cases = [], [], 0
    for photo_name, photo in photos().items():
        picture = images.fit_for_network(photo, A.SIZE.default)
        for layer in ("block5_conv3", "block4_conv3"):
            target = parse_target(backbone, strongest(backbone, picture, layer))
            run = A.AttributionRun(target.text, methods=args.methods)
            (result,) = A.attribution(backbone, photo, run)
            maps = dict(result.maps, **{OWN: own_activation(backbone, result.photo, target)})
            cases += 1
            for name, (protocol, rated, higher) in PROTOCOLS.items():
                found = F.faithfulness(backbone, result.photo, target, maps, protocol)
                randoms = [area(c, rated) for c in found.random]
                for method in shown:
                    mine = area(found.curves[method], rated)
                    wins[name][method] += mine > max(randoms) if higher else mine < min(randoms)
                if name == "gap, patches":
                    rows.append((f"{photo_name} · {target.text}", found))
                    for method in shown:
                        gap = found.curves[method].gap
                        above_mean[method] += gap > 0 and gap > found.baseline("gap")[0]
            rise = F.faithfulness(backbone, result.photo, target, maps, RISE_PROTOCOL)
            rise_rows.append({m: (rise.curves[m].area("deletion"), rise.curves[m].area("insertion")) for m in shown})
            print(f"{photo_name:>13} · {target.text:<16} done", flush=True)
    print(f"\nbeats every random order, of {cases} cases (photo × channel target):")
    print(f"{'protocol':<20}" + "".join(f"{m[:12]:>13}" for m in shown))
    for name in PROTOCOLS:
        print(f"{name:<20}" + "".join(f"{wins[name][m]:>13}" for m in shown))
    print(f"{'gap > 0, > mean':<20}" + "".join(f"{above_mean[m]:>13}" for m in shown) + "   (the gap positive and "
          "above the random orders' mean)")
    print("\nthe app's protocol (16 px patches to grey; insertion into a blur), per case: "
          "deletion ↓ / reverse ↑ / gap ↑ / insertion ↑")
    for label, found in rows:
        print(f"{label}")
        for method in shown:
            c = found.curves[method]
            print(f"  {method:<15}{c.area('deletion'):7.3f}{c.area('reverse'):7.3f}{c.gap:+8.3f}{c.area('insertion'):7.3f}")
        means = [found.baseline(k)[0] for k in ("deletion", "reverse", "gap", "insertion")]
        spread = found.baseline("gap")[1]
        print(f"  {'random (mean)':<15}{means[0]:7.3f}{means[1]:7.3f}{means[2]:+8.3f}{means[3]:7.3f}   gap ± {spread:.3f}")
    print("\nRISE's protocol (pixels to black, insertion into a blur; mean over the cases) beside its published "
          "VGG16 figures:")
    for method in shown:
        deletion = np.mean([r[method][0] for r in rise_rows])
        insertion = np.mean([r[method][1] for r in rise_rows])
        print(f"  {method:<15} deletion {deletion:.3f}  insertion {insertion:.3f}")
    print(f"  {'RISE (paper)':<15} deletion {RISE_PUBLISHED['deletion']:.3f}  insertion {RISE_PUBLISHED['insertion']:.3f}"
          "  (ImageNet weights, class probabilities: comparable only there; here offline weights and channels)")


if __name__ == "__main__":
    main()
