"""Loading any picture as upright RGB uint8, and the small image helpers."""

import numpy as np
import pytest
from PIL import Image

from viz import images
from viz.io import imagefiles
from viz.errors import InputError


def save(tmp_path, im, name, **kw):
    path = tmp_path / name
    im.save(path, **kw)
    return str(path)


def gradient(mode="RGB", size=(64, 48)):
    x = np.linspace(0, 255, size[0], dtype=np.uint8)
    rgb = np.stack(np.broadcast_arrays(x[None, :], x[::-1][None, :], np.full((size[1], 1), 100, np.uint8)), -1)
    return Image.fromarray(rgb.astype(np.uint8)).convert(mode)


@pytest.mark.parametrize("mode,name", [("RGB", "a.png"), ("L", "a.png"), ("1", "a.png"), ("P", "a.png"),
                                       ("CMYK", "a.jpg"), ("RGB", "a.webp"), ("LA", "a.png")])
def test_modes_load_as_rgb_uint8(tmp_path, mode, name):
    out = imagefiles.load_image(save(tmp_path, gradient(mode), name))
    assert out.dtype == np.uint8 and out.shape == (48, 64, 3)
    assert out.std() > 10  # the picture survived, not a flat square


def test_alpha_is_composited_on_white(tmp_path):
    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:, :15, 3] = 255  # left half opaque red, right half transparent
    out = imagefiles.load_image(save(tmp_path, Image.fromarray(rgba, "RGBA"), "a.png"))
    assert tuple(out[10, 5]) == (255, 0, 0)
    assert tuple(out[10, 25]) == (255, 255, 255)


def test_sixteen_bit_keeps_its_range(tmp_path):
    ramp = np.tile(np.linspace(0, 65535, 64).astype(np.uint16), (32, 1))
    out = imagefiles.load_image(save(tmp_path, Image.fromarray(ramp, "I;16"), "a.png"))
    assert out[0, 0, 0] < 5 and out[0, -1, 0] > 250


def test_exif_orientation_is_applied(tmp_path):
    im = gradient(size=(64, 32))  # landscape pixels, EXIF says "rotate 90°"
    exif = Image.Exif()
    exif[274] = 6
    out = imagefiles.load_image(save(tmp_path, im, "a.jpg", exif=exif))
    assert out.shape[:2] == (64, 32)


def test_animated_gif_gives_first_frame(tmp_path):
    red, blue = Image.new("RGB", (20, 20), (255, 0, 0)), Image.new("RGB", (20, 20), (0, 0, 255))
    path = save(tmp_path, red, "a.gif", save_all=True, append_images=[blue], duration=100)
    out = imagefiles.load_image(path)
    assert out[10, 10, 0] > 200 and out[10, 10, 2] < 50


@pytest.mark.parametrize("array", [np.zeros((30, 40), np.uint8), np.ones((30, 40, 3), np.float32) * 0.5,
                                   np.zeros((30, 40, 4), np.uint8), np.zeros((30, 40, 1), np.uint16)])
def test_arrays_of_any_kind(array):
    out = imagefiles.load_image(array)
    assert out.shape == (30, 40, 3) and out.dtype == np.uint8


def bad_files(tmp_path):
    text = tmp_path / "notes.png"
    text.write_text("not an image at all")
    full = tmp_path / "full.jpg"
    gradient(size=(200, 200)).save(full)
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(full.read_bytes()[:600])
    return {
        "non-image": (str(text), "not an image"),
        "truncated": (str(cut), "truncated or corrupt"),
        "tiny": (save(tmp_path, Image.new("RGB", (1, 1)), "tiny.png"), "1×1 px"),
        "huge": (save(tmp_path, Image.new("1", (10000, 10000)), "huge.png"), "megapixels"),
        "elongated": (save(tmp_path, Image.new("RGB", (2000, 20)), "long.png"), "apart"),
        "missing": (str(tmp_path / "gone.png"), "could not be found"),
        "none": (None, "No image"),
    }


@pytest.mark.parametrize("case", ["non-image", "truncated", "tiny", "huge", "elongated", "missing", "none"])
def test_bad_input_gets_a_clear_message(tmp_path, case):
    source, message = bad_files(tmp_path)[case]
    with pytest.raises(InputError, match=message):
        imagefiles.load_image(source)


def test_fit_long_side_keeps_aspect():
    out = images.fit_long_side(np.zeros((300, 600, 3), np.uint8), 224)
    assert out.shape == (112, 224, 3)


def test_tile_lays_cells_in_rows_with_separators():
    cells = np.full((5, 4, 6, 3), 255, np.uint8)
    grid = images.tile(cells, columns=3, gap=1)
    assert grid.shape == (2 * 5 + 1, 3 * 7 + 1, 3)
    assert (grid[0] == images.SEPARATOR).all() and (grid[1, 1:7] == 255).all()
    assert (grid[6:10, 15:21] == images.SEPARATOR).all()  # the missing sixth cell stays background


def test_colorize_is_perceptual_and_monotonic_in_brightness():
    ramp = images.colorize(np.linspace(0, 1, 11))
    luminance = ramp @ np.array([0.299, 0.587, 0.114])
    assert (np.diff(luminance) > 0).all()


@pytest.mark.parametrize("colours", [2, 256, 257])
def test_save_png_is_exact_and_uses_a_palette_up_to_256_colours(tmp_path, colours):
    rng = np.random.default_rng(colours)
    table = rng.permutation(np.arange(1 << 24))[:colours]  # distinct colours in no particular order
    rgb = np.stack([table >> 16, (table >> 8) & 255, table & 255], -1).astype(np.uint8)
    image = rgb[rng.integers(0, colours, (40, 50))]
    for fast in (False, True):
        path = imagefiles.save_png(image, str(tmp_path / f"{colours}-{fast}.png"), fast=fast)
        with Image.open(path) as written:
            assert written.mode == ("P" if colours <= 256 else "RGB")
            assert (np.asarray(written.convert("RGB")) == image).all()


def test_a_grid_of_255_levels_and_its_separator_fits_a_palette():
    cells = images.colorize(np.linspace(0, 1, 4 * 8 * 8).reshape(4, 8, 8), levels=255)
    grid = images.tile(cells, columns=2)
    assert len(np.unique(grid.reshape(-1, 3), axis=0)) == 256
    assert Image.fromarray(grid).getcolors(256) is not None


def test_animation_round_trip(tmp_path):
    frames = [np.full((16, 16, 3), v, np.uint8) for v in (0, 128, 255)]
    for suffix in ("gif", "webp"):
        path = imagefiles.save_animation(frames, str(tmp_path / f"run.{suffix}"))
        with Image.open(path) as im:
            assert im.n_frames == 3


def test_a_long_run_s_animation_keeps_evenly_spaced_frames_and_its_last(tmp_path):
    frames = [np.full((16, 16, 3), v, np.uint8) for v in range(200)]
    with Image.open(imagefiles.save_animation(frames, str(tmp_path / "run.gif"), most=10)) as im:
        assert im.n_frames == 10
        im.seek(9)
        assert abs(int(np.asarray(im.convert("RGB"))[0, 0, 0]) - 199) <= 1


def test_stretch_brings_faint_images_to_full_range_only():
    faint = (120 + 10 * np.random.default_rng(0).random((20, 20, 3))).astype(np.uint8)
    stretched = images.stretch(faint)
    assert stretched.min() < 5 and stretched.max() > 250
    full = (np.random.default_rng(0).random((20, 20, 3)) * 255).astype(np.uint8)
    assert np.array_equal(images.stretch(full), full)


def test_colorbar_is_drawn_under_the_image():
    out = images.with_colorbar(np.zeros((30, 80, 3), np.uint8))
    assert out.shape[0] > 30 and out.shape[1] == 80
    bar = out[-3]
    assert bar[0].sum() < bar[-1].sum()  # dark (low) on the left, bright (high) on the right


def test_float_resize_matches_the_uint8_one_without_rounding():
    I = images  # noqa: E741
    picture = (np.random.default_rng(1).random((30, 40, 3)) * 255).astype(np.uint8)
    small = I.resize_float(I.to_float(picture), (15, 20))
    assert small.dtype == np.float32 and small.shape == (15, 20, 3)
    assert np.abs(small * 255 - I.resize(picture, (15, 20))).mean() < 0.5  # the same filter, unrounded, unclipped
    assert I.resize_float(small, (15, 20)) is small
