"""Make the README's screenshot: the Activations tab on the first example photo, in headless Chromium.

Run against a launched app (default a local one): python scripts/screenshot.py [URL] [--out PATH]
Needs Playwright and a Chromium (Debian's /usr/bin/chromium is used when present).
"""

import argparse
import io
import shutil

from PIL import Image
from playwright.sync_api import sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url", nargs="?", default="http://127.0.0.1:7860")
    parser.add_argument("--out", default="docs/screenshot.jpg")
    parser.add_argument("--height", type=int, default=1500, help="pixels of the page to keep")
    args = parser.parse_args()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": args.height})
        page.goto(args.url)
        page.get_by_role("heading", name="What does VGG16 see?").wait_for()
        panel = page.locator("#tab-activations")
        panel.locator("button:has(img)").first.click()
        page.locator("#activations-image img").wait_for()
        panel.get_by_role("button", name="Show activations").click()
        page.wait_for_function("document.querySelectorAll('#activation-grids img').length >= 13",
                               timeout=120_000)
        page.wait_for_timeout(1500)  # let the thumbnails paint
        png = page.screenshot(clip={"x": 0, "y": 0, "width": 1400, "height": args.height})
        browser.close()
    Image.open(io.BytesIO(png)).convert("RGB").save(args.out, quality=82, optimize=True)  # small in git
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
