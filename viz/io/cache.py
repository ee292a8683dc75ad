"""Pictures kept on disk by key: the cache root (one place decides it), a digest of the weights in use,
keys of everything that changes a picture, the PNG store itself (least recently used evicted past its
size), pictures computed once however many callers ask, and the Hub download of a shared cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

from ..model import Backbone
from . import imagefiles
from .disk import prune

CODE_VERSION = "1"  # bump when a change to the visualization code changes its pictures
PART_SECONDS = 600  # a picture still being written after this long belongs to a writer that died
CACHE_ENV, CACHE_LIMIT_ENV, REPO_ENV = "VIZ_ATLAS_DIR", "VIZ_ATLAS_MAX_MB", "VIZ_ATLAS_REPO"
DEFAULT_CACHE = Path.home() / ".cache" / "vgg16-atlas"
SHOWCASE_FOLDER = "showcase"  # the first visit's finished results (ui/showcase.py), shared with the tiles
PATCHES_FOLDER = "patches"  # each channel's strongest patches over a folder of photos (viz/io/patches.py)


def cache_root(folder: str | os.PathLike | None = None) -> Path:
    """Where every kept picture lies: `folder`, else $VIZ_ATLAS_DIR, else ~/.cache/vgg16-atlas."""
    return Path(folder or os.environ.get(CACHE_ENV) or DEFAULT_CACHE)


@lru_cache(maxsize=4)
def weights_digest(backbone: Backbone) -> str:
    """A digest of every weight of the network: pictures made with other weights never match."""
    digest = hashlib.sha256()
    for layer in backbone.layers:
        for value in layer.get_weights():
            digest.update(np.ascontiguousarray(value).tobytes())
    return digest.hexdigest()[:16]


def picture_key(backbone: Backbone, **fields) -> str:
    """The cache key of one picture: the weights, the code's version and everything in `fields`."""
    named = {"weights": weights_digest(backbone), **fields, "code": CODE_VERSION}
    return hashlib.sha256(json.dumps(named, sort_keys=True).encode()).hexdigest()[:20]


class TileCache:
    """PNG files on disk, one per key, least recently used evicted past `max_mb`. Writes are atomic
    (a temporary file renamed), and a file that does not decode is deleted and computed again."""

    def __init__(self, folder: str | os.PathLike | None = None, max_mb: float | None = None):
        self.folder = cache_root(folder)
        self.max_bytes = float(max_mb if max_mb is not None else os.environ.get(CACHE_LIMIT_ENV, 2000)) * 2 ** 20
        self.folder.mkdir(parents=True, exist_ok=True)

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.png"

    def get(self, key: str) -> np.ndarray | None:
        """The cached picture, or None (absent, partial or corrupt: then removed)."""
        path = self.path(key)
        try:
            with Image.open(path) as im:
                picture = np.asarray(im.convert("RGB"))
        except FileNotFoundError:
            return None
        except (OSError, SyntaxError, ValueError):
            path.unlink(missing_ok=True)
            return None
        try:
            os.utime(path)  # recently used
        except OSError:  # evicted by another thread since: the picture is still good
            pass
        return picture

    def put(self, key: str, picture: np.ndarray) -> None:
        self.put_all({key: picture})

    def put_all(self, pictures: dict[str, np.ndarray]) -> None:
        """Write pictures by key, then evict once (a scan of the whole cache per picture would make
        filling a layer quadratic)."""
        for key, picture in pictures.items():
            path = self.path(key)
            path.parent.mkdir(exist_ok=True)
            partial = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.part")
            imagefiles.save_png(picture, str(partial))
            os.replace(partial, path)
        self.evict()

    def size(self) -> int:
        """The bytes of the pictures the cache holds now."""
        total = 0
        for path in self.folder.glob("*/*.png"):
            with contextlib.suppress(OSError):  # evicted meanwhile
                total += path.stat().st_size
        return total

    def evict(self) -> None:
        """Delete the least recently used pictures until the cache fits its limit, and the partial
        files of writers that died (older than PART_SECONDS)."""
        prune(self.folder, self.max_bytes, "*/*.png")
        prune(self.folder, 0, "*/*.part", spare_seconds=PART_SECONDS)


_claims: dict[str, threading.Event] = {}
_claims_lock = threading.Lock()


def claim(keys: list[str]) -> tuple[list[str], list[threading.Event]]:
    """The keys this caller must compute, and the events of those another caller is computing."""
    mine, theirs = [], []
    with _claims_lock:
        for key in keys:
            if key in _claims:
                theirs.append(_claims[key])
            else:
                _claims[key] = threading.Event()
                mine.append(key)
    return mine, theirs


def release(keys: list[str]) -> None:
    with _claims_lock:
        for key in keys:
            _claims.pop(key).set()


def computed_once(keys: dict, cache: TileCache, compute: Callable[[list], list]) -> dict:
    """The pictures of `keys` (item -> key), each computed once however many callers ask: `compute`
    makes the pictures of a list of items; those another caller is computing are waited for and read
    from the cache; any it failed to make are computed here after all."""
    mine, theirs = claim(list(keys.values()))
    try:
        todo = [item for item, key in keys.items() if key in mine]
        made = dict(zip(todo, compute(todo))) if todo else {}
        cache.put_all({keys[item]: picture for item, picture in made.items()})
    finally:
        release(mine)
    for event in theirs:
        event.wait(600)
    made.update({item: p for item, key in keys.items() if item not in made and (p := cache.get(key)) is not None})
    failed = [item for item in keys if item not in made]
    if failed:
        made.update(zip(failed, compute(failed)))
        cache.put_all({keys[item]: made[item] for item in failed})
    return made


def fetch_shared_cache(cache: TileCache, repo: str | None = None) -> str:
    """Download a precomputed atlas from the Hugging Face dataset `repo` (or $VIZ_ATLAS_REPO) into the
    cache; a note of what happened (never an exception: without it, tiles are computed on demand)."""
    repo = repo or os.environ.get(REPO_ENV)
    if not repo:
        return "no shared atlas configured"
    try:
        from huggingface_hub import snapshot_download

        snapshot_download(repo_id=repo, repo_type="dataset", local_dir=str(cache.folder),
                          allow_patterns=["*/*.png", f"{SHOWCASE_FOLDER}/**", f"{PATCHES_FOLDER}/**"])
        return f"atlas tiles and first-visit results from {repo}"
    except Exception as err:  # offline, private, missing: compute on demand instead
        return f"the shared atlas {repo} could not be fetched ({type(err).__name__}); tiles are computed on demand"
