"""Call every endpoint of the app with gradio_client and save what comes back.

Run: python examples/client.py [URL] [--out client-output]   (default URL: a local launch)
Short settings keep it quick; see the README for every parameter.
"""

import argparse
import shutil
from pathlib import Path

from gradio_client import Client, handle_file

HERE = Path(__file__).parent
CAT, SWIRLS = str(HERE / "cat.jpg"), str(HERE / "styles" / "swirls.jpg")


def save(files, folder: Path, prefix: str) -> list[str]:
    """Copy returned files (paths, or gallery items {image, caption}) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for i, item in enumerate(files or []):
        path = item["image"] if isinstance(item, dict) else item
        target = folder / f"{prefix}-{i:02d}{Path(path).suffix}"
        shutil.copy(path, target)
        saved.append(str(target))
    return saved


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:7860/")
    parser.add_argument("--out", default="client-output")
    args = parser.parse_args()
    out = Path(args.out)
    client = Client(args.url, verbose=False)

    info = client.predict(api_name="/model_info")
    print(f"model_info: VGG16 with {info['weights']} weights, classifier: {info['classifier']}")

    grids, heatmap, top5, fc2 = client.predict(image=handle_file(CAT), layers=["block1_conv1", "block5_conv3"],
                                               top=16, api_name="/activations")
    print(f"activations: {len(save(grids, out, 'activations'))} grids, top-5: {top5 and top5.get('label')}")

    target = "" if info["classifier"] else "block5_conv3"
    maps = client.predict(image=handle_file(CAT), target=target, methods=["Grad-CAM", "gradient"],
                          api_name="/attribution")
    print(f"attribution: {len(save(maps, out, 'attribution'))} maps")

    for maps, pictures, about in client.submit(image=handle_file(CAT), groups=4, api_name="/neuron_groups"):
        pass
    print(f"neuron_groups: {about.splitlines()[0]}")
    save(maps + (pictures or []), out, "groups")
    entries, links = client.predict(image=handle_file(CAT), layer="block5_conv3", x=0.5, y=0.4, api_name="/dictionary")
    print(f"dictionary: {links}")

    job = client.submit(image=handle_file(CAT), layer="block2_conv2", steps=40, size=128, api_name="/reconstruct")
    for gallery, curve, status, files in job:
        print(f"reconstruct: {status}")
    save(files, out, "reconstruct")

    targets = "goldfish, block4_conv3:42" if info["classifier"] else "block4_conv3:42, block5_conv3:7"
    for gallery, status, files in client.submit(targets=targets, steps=48, size=96, api_name="/visualize"):
        print(f"visualize: {status}")
    save(files, out, "visualize")

    for gallery, curve, status, files in client.submit(content=handle_file(CAT), style=handle_file(SWIRLS),
                                                       size=192, steps=40, api_name="/style_transfer"):
        print(f"style_transfer: {status}")
    save(files, out, "style")

    for pictures, about in client.submit(unit="block4_conv3:42", image=handle_file(CAT), api_name="/unit"):
        print(f"unit: {about}")
    save(pictures, out, "unit")
    print("atlas: the first page of block5_conv3 (computed on first use: about a minute and a half on 2 cores)")
    tiles, status = client.predict(layer="block5_conv3", page=0, api_name="/atlas")
    print(f"atlas: {status} · {len(save(tiles, out, 'atlas'))} tiles")
    print(f"saved in {out}/")


if __name__ == "__main__":
    main()
