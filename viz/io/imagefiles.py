"""Pictures as files: any upload decoded (checked first, as hostile input) to an upright RGB uint8
array, and results written losslessly as PNG, or as a looping GIF or WebP animation.
"""

from __future__ import annotations

import io
import math
import os
import warnings
from contextlib import contextmanager

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import InputError
from ..images import MAX_PIXELS, WHITE, as_unit_range, to_uint8

MIN_SIDE = 8
MAX_ASPECT = 10.0
LOAD_SIDE = 1024  # px: uploads are decoded at most this long; the largest side any analysis asks for is 768
MAX_RASTER = 64 * 2 ** 20  # bytes a non-JPEG picture may take once decoded, before it is shrunk
EXIF_ORIENTATION = 0x0112
REDUCIBLE = ("1", "L", "LA", "I", "F", "RGB", "RGBA", "CMYK", "P")  # the modes Pillow reduces
TOO_MUCH_METADATA = "The image carries a text or colour-profile chunk too large to read; save it again without it."
CORRUPT = "The image file is truncated or corrupt and cannot be decoded."


def load_image(source, longest: int = LOAD_SIDE) -> np.ndarray:
    """Any picture (path, bytes, PIL image or array) as an upright RGB uint8 array, a file shrunk to
    `longest` px as it is decoded (JPEG at a reduced scale, other formats by an integer reduction
    first): the network never sees more, and a 40-megapixel upload then costs about one raster.

    Handles EXIF rotation, the first frame of animations, palettes, alpha (composited on white),
    greyscale, 16-bit and CMYK; refuses non-images, truncated files and absurd sizes with an
    InputError that says what is wrong.
    """
    if isinstance(source, np.ndarray):
        return array_to_rgb(source)
    if isinstance(source, Image.Image):
        return pil_to_rgb(source)
    with opened(source) as im:
        try:
            return pil_to_rgb(shrunk(im, longest))
        except ValueError as err:
            if "Decompressed" in str(err):  # Pillow's guard against a text or profile chunk that inflates
                raise InputError(TOO_MUCH_METADATA) from err
            raise InputError(CORRUPT) from err
        except (OSError, SyntaxError, EOFError) as err:
            raise InputError(CORRUPT) from err


def shrunk(im: Image.Image, longest: int) -> Image.Image:
    """`im` at most `longest` px long: a JPEG decoded at a reduced scale; any other reduced by an integer
    factor straight from its raster (Pillow's own reduce would first copy an image with alpha whole,
    to premultiply it), the raster then freed; then resampled with a Lanczos filter. Its EXIF data
    stays with it."""
    if im.format == "JPEG":  # decoded at 1/2, 1/4 or 1/8 where that keeps it twice `longest` long
        scale = min(1.0, 2 * longest / max(im.size))
        im.draft("RGB", (math.ceil(im.width * scale), math.ceil(im.height * scale)))
    im.load()
    factor = max(im.size) // longest
    if factor >= 2 and im.mode in REDUCIBLE:
        reduced = im._new(im.im.reduce((factor, factor), (0, 0) + im.size))
        im.close()  # the whole raster goes at once, not when the caller is done
        im = reduced
    im.thumbnail((longest, longest), Image.Resampling.LANCZOS, reducing_gap=None)
    return im


def size_of(source) -> tuple[int, int]:
    """(width, height) of an image file as it is shown (EXIF rotation applied), read from its header
    alone: what a click on a photo needs to know, without decoding it."""
    with opened(source) as im:
        width, height = im.size
        orientation = im.getexif().get(EXIF_ORIENTATION, 1)
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


@contextmanager
def opened(source):
    """The first frame of an image file (path or bytes), its size checked before any decoding."""
    if source is None:
        raise InputError("No image was given: upload a picture or pick an example.")
    if isinstance(source, (bytes, bytearray)):
        source = io.BytesIO(source)
    elif not os.path.isfile(source):
        raise InputError("The image file could not be found; please upload it again.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(source)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(f"The image is too large: the limit is {MAX_PIXELS // 1_000_000} megapixels.") from None
    except UnidentifiedImageError:
        raise InputError("This file is not an image that can be read (try a PNG, JPEG, GIF or WebP).") from None
    except ValueError:  # Pillow's guard against a text or profile chunk that inflates
        raise InputError(TOO_MUCH_METADATA) from None
    except (OSError, SyntaxError, EOFError) as err:
        raise InputError(CORRUPT) from err
    with im:
        check_size(*im.size)
        check_raster(im)
        im.seek(0)
        yield im


def check_raster(im: Image.Image) -> None:
    """Refuse a picture whose whole raster would take more than MAX_RASTER bytes to decode (a JPEG
    is decoded at a reduced scale, so only other formats are held to it): what one upload may cost."""
    bands = len(im.getbands()) * (2 if im.mode.startswith("I;16") else 4 if im.mode in ("I", "F") else 1)
    if im.format != "JPEG" and im.width * im.height * bands > MAX_RASTER:
        largest = MAX_RASTER // bands // 1_000_000
        raise InputError(f"The image is {im.width}×{im.height} px in {im.mode}: too large to decode here (in {im.mode}, "
                         f"at most {largest} megapixels; a JPEG may have {MAX_PIXELS // 1_000_000}).")


def check_size(width: int, height: int) -> None:
    """Refuse images too small for the network, too big to process or absurdly elongated."""
    if width * height > MAX_PIXELS:
        raise InputError(
            f"The image is {width}×{height} px; the limit is {MAX_PIXELS // 1_000_000} megapixels."
        )
    if min(width, height) < MIN_SIDE:
        raise InputError(f"The image is {width}×{height} px; it needs at least {MIN_SIDE} px a side.")
    if max(width, height) / min(width, height) > MAX_ASPECT:
        raise InputError(
            f"The image is {width}×{height} px; sides more than {MAX_ASPECT:g}:1 apart are not supported."
        )


def pil_to_rgb(im: Image.Image) -> np.ndarray:
    """An upright RGB uint8 array from a PIL image of any mode."""
    im = ImageOps.exif_transpose(im)
    if im.mode in ("I", "I;16", "I;16B", "I;16L", "I;16N", "F"):
        return array_to_rgb(np.asarray(im))
    if im.mode == "P":
        im = im.convert("RGBA")
    if im.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        background = Image.new("RGB", im.size, WHITE)
        background.paste(im.convert("RGBA"), mask=im.convert("RGBA").getchannel("A"))
        return np.asarray(background)
    try:
        return np.asarray(im.convert("RGB"))
    except ValueError as err:
        raise InputError(f"Images in the {im.mode} colour mode are not supported.") from err


def array_to_rgb(array: np.ndarray) -> np.ndarray:
    """An RGB uint8 array from greyscale/RGB/RGBA arrays of uint8, uint16 or float [0, 1]."""
    array = np.asarray(array)
    if array.ndim == 3 and array.shape[-1] == 1:
        array = array[..., 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[-1] not in (3, 4)):
        raise InputError(f"An image array must be H×W, H×W×3 or H×W×4, not {array.shape}.")
    check_size(array.shape[1], array.shape[0])
    array = to_uint8(as_unit_range(array))
    if array.ndim == 2:
        return np.repeat(array[..., None], 3, axis=-1)
    if array.shape[-1] == 4:
        return pil_to_rgb(Image.fromarray(array, "RGBA"))
    return array


def save_png(image: np.ndarray, path: str, fast: bool = False) -> str:
    """Write a uint8 image as PNG and return the path; `fast` compresses less (zlib level 1: much
    faster than Pillow's default for a few more bytes).

    An image of at most 256 colours (a colormapped grid) is written with a palette, exactly: smaller
    and faster to write than RGB.
    """
    (with_palette(image) or Image.fromarray(image)).save(path, format="PNG", compress_level=1 if fast else 6)
    return path


def with_palette(image: np.ndarray) -> Image.Image | None:
    """An RGB uint8 image of at most 256 colours as the same pixels in palette mode; None if it has more.

    Exact, unlike Pillow's quantize to a given palette (which matches colours approximately)."""
    picture = Image.fromarray(image)
    colours = picture.getcolors(256) if image.ndim == 3 and image.shape[-1] == 3 else None
    if colours is None:
        return None
    palette = np.array(sorted(colour for _, colour in colours), np.uint8)
    index = np.searchsorted(packed_rgb(palette), packed_rgb(image)).astype(np.uint8)
    paletted = Image.frombytes("P", picture.size, index.tobytes())
    paletted.putpalette(palette.tobytes())
    return paletted


def packed_rgb(image: np.ndarray) -> np.ndarray:
    """Each RGB colour as one int32 (0xRRGGBB), ordered as the colours sort."""
    rgb = image.astype(np.int32)
    return (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]


def save_animation(frames: list[np.ndarray], path: str, seconds: float = 4.0, most: int = 48) -> str:
    """Write uint8 frames as an animated GIF or WebP (by the path's suffix), looping, and return it; at
    most `most` of them, evenly spaced, the last kept (more would not show in `seconds`, and each costs
    its encoding after the run has ended)."""
    keep = np.unique(np.linspace(0, len(frames) - 1, min(most, len(frames))).round().astype(int))
    pictures = [Image.fromarray(frames[k]) for k in keep]
    hold = [max(20, int(1000 * seconds / len(pictures)))] * len(pictures)
    hold[-1] = 1500  # linger on the result
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=hold, loop=0)
    return path
