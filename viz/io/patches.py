"""Dataset examples: each channel's strongest patches over a folder of photos (thousands on a Space),
found in one scan and kept on disk beside the atlas tiles, so that a unit page shows what excites
the unit across many photos, not only the four examples. After OpenAI Microscope's dataset examples.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from pathlib import Path
from typing import Callable

import numpy as np

from .. import images
from . import imagefiles
from .cache import PATCHES_FOLDER, TileCache, weights_digest
from ..model import Backbone, conv_layers, features, receptive_field

KEEP = 6  # patches kept per channel, at most one per photo
SIDE = 224  # every photo is seen at this long side, so that activations compare across photos
SHOWN = 96  # px of a patch on the page
CHECKPOINT_EVERY = 20  # photos between two saves of a scan's progress (a stopped scan goes on from there)
PROGRESS_FILE = "scan-progress.npz"
SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp"}
PHOTOS_ENV = "VIZ_PHOTOS"
ROOT = Path(__file__).resolve().parents[2]  # the repository, where examples/ lies


def photos_in(folder: str | os.PathLike) -> list[Path]:
    """The photos under `folder` (any depth), in a stable order."""
    return sorted(p for p in Path(folder).rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file())


def packaged_photos() -> list[Path]:
    """Photos the installed packages ship (Gradio's media assets, Matplotlib's sample data): with the
    examples, what an offline server scans."""
    import gradio
    import matplotlib

    found = photos_in(Path(gradio.__file__).parent / "media_assets" / "images")
    found += [Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"]
    return [p for p in found if p.is_file() and "logo" not in p.name]


def scan(backbone: Backbone, paths: list[Path], layers: list[str] | None = None, keep: int = KEEP,
         progress: Callable[[str], None] = lambda line: None, checkpoint: Path | None = None) -> dict[str, np.ndarray]:
    """For each layer, each channel's `keep` strongest photos: an array (channels, keep, 4) of
    (activation, photo index, row, column), strongest first; one forward pass a photo for all
    layers. Photos that do not decode are skipped. With a `checkpoint` file the progress is saved
    every CHECKPOINT_EVERY photos, and a scan of the same photos stopped before goes on from there."""
    layers = layers or conv_layers(backbone)
    best, begin = resumed(checkpoint, paths, layers)
    for index, path in enumerate(paths[begin:], start=begin):
        picture = decoded(path)
        if picture is not None:
            for layer, values in features(backbone, images.to_float(picture)[None], layers).items():
                best[layer] = strongest_so_far(best.get(layer), values[0], index, keep)
        if checkpoint is not None and (index + 1) % CHECKPOINT_EVERY == 0:
            save_progress(checkpoint, paths, index + 1, best)
        progress(f"{index + 1} / {len(paths)} photos")
    return best


def decoded(path: Path) -> np.ndarray | None:
    """A photo as the scan sees it, or None for a file that does not decode (skipped)."""
    try:
        return images.fit_for_network(imagefiles.load_image(str(path)), SIDE)
    except Exception:  # noqa: BLE001 - a broken file in a folder of thousands is skipped
        return None


def strongest_so_far(best: np.ndarray | None, values: np.ndarray, index: int, keep: int) -> np.ndarray:
    """Each channel's `keep` strongest (activation, photo, row, column) so far, with photo `index`'s
    strongest place (`values`: its activations, rows × columns × channels) merged in."""
    flat = values.reshape(-1, values.shape[-1])
    where = flat.argmax(axis=0)
    row, column = np.divmod(where, values.shape[1])
    found = np.stack([flat[where, np.arange(flat.shape[1])], np.full(where.shape, index), row, column], axis=1)
    merged = found[:, None] if best is None else np.concatenate([best, found[:, None]], axis=1)
    order = np.argsort(-merged[..., 0], axis=1, kind="stable")[:, :keep]
    return np.take_along_axis(merged, order[..., None], axis=1)


def signature(paths: list[Path]) -> str:
    """What a scan's progress belongs to: the photos' names, in order."""
    return hashlib.sha256("\n".join(str(p) for p in paths).encode()).hexdigest()


def save_progress(checkpoint: Path, paths: list[Path], done: int, best: dict[str, np.ndarray]) -> None:
    """The scan's progress after `done` photos, written whole (aside, then renamed)."""
    checkpoint.parent.mkdir(parents=True, exist_ok=True)
    partial = checkpoint.with_suffix(".part")
    with open(partial, "wb") as file:
        np.savez(file, signature=signature(paths), done=done, **best)
    os.replace(partial, checkpoint)


def resumed(checkpoint: Path | None, paths: list[Path], layers: list[str]) -> tuple[dict[str, np.ndarray], int]:
    """A stopped scan's progress on the same photos (each layer's best so far, and how many photos it
    had seen), or nothing to resume."""
    try:
        with np.load(checkpoint) as saved:
            if str(saved["signature"]) != signature(paths):
                return {}, 0
            return {layer: saved[layer] for layer in layers if layer in saved.files}, int(saved["done"])
    except (OSError, KeyError, ValueError, TypeError):
        return {}, 0


def folder(cache_folder: str | os.PathLike, backbone: Backbone) -> Path:
    return Path(cache_folder) / PATCHES_FOLDER / f"{weights_digest(backbone)}-{SIDE}"


def save(backbone: Backbone, found: dict[str, np.ndarray], paths: list[Path], cache_folder) -> int:
    """Write each channel's patches as one strip (PNG) and each layer's index (photo names and
    activations); returns the number of strips."""
    written = 0
    for layer, best in found.items():
        size, stride, offset = receptive_field(backbone, layer)
        target = folder(cache_folder, backbone) / layer
        target.mkdir(parents=True, exist_ok=True)
        crops: dict[tuple[int, int], np.ndarray] = {}
        for index in np.unique(best[..., 1]).astype(int):
            picture = images.fit_for_network(imagefiles.load_image(str(paths[index])), SIDE)
            for channel, k in zip(*np.nonzero(best[..., 1] == index)):
                i, j = best[channel, k, 2:]
                crops[channel, k] = squared(images.crop_square(picture, (offset + i * stride, offset + j * stride), size,
                                                        SHOWN))
        index_entries = {}
        for channel in range(best.shape[0]):
            row = [crops[channel, k] for k in range(best.shape[1]) if (channel, k) in crops]
            imagefiles.save_png(np.concatenate(row, axis=1), str(target / f"{channel}.png"), fast=True)
            index_entries[channel] = [[paths[int(i)].name, float(v)] for v, i, *_ in best[channel]]
            written += 1
        (target / "index.json").write_text(json.dumps(index_entries))
    return written


def squared(crop: np.ndarray) -> np.ndarray:
    """A crop (at most SHOWN px a side; smaller at a photo's border) centred on a white SHOWN² square."""
    canvas = np.full((SHOWN, SHOWN, 3), 255, np.uint8)
    top, left = (SHOWN - crop.shape[0]) // 2, (SHOWN - crop.shape[1]) // 2
    canvas[top:top + crop.shape[0], left:left + crop.shape[1]] = crop
    return canvas


def stored(backbone: Backbone, layer: str, channel: int, cache_folder: str | os.PathLike
           ) -> list[tuple[np.ndarray, str, float]]:
    """A channel's kept patches as (crop, photo name, activation), strongest first; [] if not scanned."""
    target = folder(cache_folder, backbone) / layer
    try:
        entries = json.loads((target / "index.json").read_text())[str(channel)]
        strip = imagefiles.load_image(str(target / f"{channel}.png"))
    except (OSError, KeyError, ValueError):
        return []
    return [(strip[:, k * SHOWN:(k + 1) * SHOWN], name, value) for k, (name, value) in enumerate(entries)]


def scanned(backbone: Backbone, cache_folder: str | os.PathLike) -> bool:
    return all((folder(cache_folder, backbone) / layer / "index.json").is_file() for layer in conv_layers(backbone))


def scan_and_save(backbone: Backbone, paths: list[Path], cache_folder: str | os.PathLike,
                  progress: Callable[[str], None] = print) -> int:
    """Scan `paths` for every conv layer and keep each channel's strongest patches; returns the strips."""
    checkpoint = folder(cache_folder, backbone) / PROGRESS_FILE
    found = scan(backbone, paths, progress=progress, checkpoint=checkpoint)
    written = save(backbone, found, paths, cache_folder)
    checkpoint.unlink(missing_ok=True)
    return written


def default_photos() -> list[Path]:
    """What a server scans: the folder $VIZ_PHOTOS if set, else the examples and the packaged photos."""
    chosen = os.environ.get(PHOTOS_ENV)
    return photos_in(chosen) if chosen else photos_in(ROOT / "examples") + packaged_photos()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Keep each channel's strongest patches over a folder of photos.")
    parser.add_argument("photos", nargs="?", default=None, help=f"a folder of photos (default ${PHOTOS_ENV}, "
                        "else the examples and the photos installed packages ship)")
    parser.add_argument("--repo", default=None, help="or a Hugging Face dataset of photos, downloaded first")
    parser.add_argument("--out", default=None, help="the cache folder (default $VIZ_ATLAS_DIR)")
    parser.add_argument("--weights", default="hed", help="imagenet, hed or a weights file")
    args = parser.parse_args(argv)
    from .weights import load_backbone
    from ..runtime import configure_runtime

    configure_runtime()
    source = args.photos
    if args.repo:
        from huggingface_hub import snapshot_download

        source = snapshot_download(repo_id=args.repo, repo_type="dataset",
                                   allow_patterns=[f"**/*{suffix}" for suffix in SUFFIXES])
    paths = photos_in(source) if source else default_photos()
    backbone = load_backbone(args.weights)
    count = scan_and_save(backbone, paths, TileCache(args.out).folder,
                          lambda line: print("\r" + line, end="", flush=True))
    print(f"\n{len(paths)} photos: {count} channels' patches kept")


if __name__ == "__main__":
    main()
