"""Dataset examples: each channel's strongest patches over a folder of photos, scanned once, kept on
disk, and shown on unit pages (here on photos the installed packages ship)."""

import numpy as np
import pytest

from viz import atlas
from viz.io import imagefiles, patches
from viz import images
from viz.model import features

LAYERS = ["block2_conv1", "block4_conv3"]


@pytest.fixture(scope="module")
def photos():
    found = patches.photos_in(patches.ROOT / "examples") + patches.packaged_photos()
    assert len(found) >= 10 and any(p.name == "lion.jpg" for p in found)  # Gradio's and Matplotlib's photos too
    return found


@pytest.fixture(scope="module")
def scanned(backbone, photos, tmp_path_factory):
    folder = tmp_path_factory.mktemp("patches")
    found = patches.scan(backbone, photos, LAYERS)
    patches.save(backbone, found, photos, folder)
    return found, folder


def activations(backbone, path, layer):
    picture = images.fit_for_network(imagefiles.load_image(str(path)), patches.SIDE)
    return features(backbone, images.to_float(picture)[None], [layer])[layer][0]


def test_each_channel_keeps_its_strongest_photos(backbone, photos, scanned):
    found, _ = scanned
    best = found["block4_conv3"]
    assert best.shape == (512, patches.KEEP, 4)
    assert np.all(np.diff(best[..., 0], axis=1) <= 0)  # strongest first
    assert all(len(set(best[c, :, 1])) == patches.KEEP for c in range(512))  # one patch a photo
    for channel in (3, 42, 300):  # checked against each photo's own forward pass
        peaks = [activations(backbone, p, "block4_conv3")[..., channel].max() for p in photos]
        top = np.argsort(peaks)[::-1][:patches.KEEP]
        assert list(best[channel, :, 1].astype(int)) == list(top)
        np.testing.assert_allclose(best[channel, :, 0], np.array(peaks)[top], rtol=1e-4)
        row, column = best[channel, 0, 2:].astype(int)
        strongest = activations(backbone, photos[top[0]], "block4_conv3")[row, column, channel]
        assert strongest == pytest.approx(peaks[top[0]], rel=1e-4)


def test_kept_patches_are_read_back_with_their_photos_names(backbone, photos, scanned):
    found, folder = scanned
    kept = patches.stored(backbone, "block2_conv1", 11, folder)
    assert len(kept) == patches.KEEP
    assert [name for _, name, _ in kept] == [photos[int(i)].name for i in found["block2_conv1"][11, :, 1]]
    assert all(crop.shape == (patches.SHOWN, patches.SHOWN, 3) and crop.std() > 3 for crop, _, _ in kept)
    assert patches.stored(backbone, "block5_conv3", 0, folder) == []  # not scanned
    assert not patches.scanned(backbone, folder)  # two layers of thirteen


def test_a_broken_file_in_the_folder_is_skipped(backbone, photos, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a photo")
    found = patches.scan(backbone, [broken, photos[0]], ["block1_conv1"])
    assert set(found["block1_conv1"][:, :, 1].ravel()) == {1}


def test_a_unit_page_shows_the_scanned_photos_beside_your_own(backbone, scanned):
    _, folder = scanned
    from ui.microscope import example_photos

    lookup = lambda layer, channel: patches.stored(backbone, layer, channel, folder)  # noqa: E731
    page = next(atlas.unit_page(backbone, "block4_conv3:42", None, example_photos(), dataset=lookup))
    names = [caption.split(" · ")[0] for _, caption in page.pictures[1:]]
    assert names == [name for _, name, _ in lookup("block4_conv3", 42)]
    own = np.tile(np.linspace(0, 255, 160, dtype=np.uint8)[:, None, None], (1, 160, 3))  # not scanned
    page = next(atlas.unit_page(backbone, "block4_conv3:42", own, example_photos(), dataset=lookup))
    values = [float(caption.split(" · ")[1]) for _, caption in page.pictures[1:]]
    assert len(values) == 6 and values == sorted(values, reverse=True)  # the photo's own patches compete


def test_a_stopped_scan_goes_on_where_it_stopped(backbone, photos, tmp_path, monkeypatch):
    """The scan saves its progress as it goes; a scan of the same photos stopped after two goes on from
    the third, and finds what one uninterrupted scan finds."""
    monkeypatch.setattr(patches, "CHECKPOINT_EVERY", 1)
    chosen, checkpoint, seen = photos[:4], tmp_path / patches.PROGRESS_FILE, []

    def stop_after_two(line):
        seen.append(line)
        if line.startswith("2 /"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        patches.scan(backbone, chosen, ["block1_conv1", "block2_conv1"], progress=stop_after_two, checkpoint=checkpoint)
    seen.clear()
    found = patches.scan(backbone, chosen, ["block1_conv1", "block2_conv1"], progress=seen.append, checkpoint=checkpoint)
    assert seen == ["3 / 4 photos", "4 / 4 photos"]
    whole = patches.scan(backbone, chosen, ["block1_conv1", "block2_conv1"])
    assert all(np.array_equal(found[layer], whole[layer]) for layer in whole)
    fresh = patches.scan(backbone, chosen[:3], ["block1_conv1"], progress=seen.append, checkpoint=checkpoint)
    assert seen[-3:] == ["1 / 3 photos", "2 / 3 photos", "3 / 3 photos"] and fresh["block1_conv1"].shape[1] == 3
