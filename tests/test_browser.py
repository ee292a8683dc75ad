"""A real browser (headless Debian Chromium) uses the page like a visitor would."""

import shutil

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def page(app_url):
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_url)
        yield page
        browser.close()


def test_activations_tab_fills_the_gallery_from_an_example(page, tmp_path):
    page.get_by_role("tab", name="Activations").click()
    page.get_by_text("Weights:").wait_for()
    page.locator("button:has(img)").first.click()  # the first example photo
    page.get_by_role("button", name="Show activations").click()
    thumbnails = page.locator("#activation-grids img")
    page.wait_for_function("document.querySelectorAll('#activation-grids img').length >= 13", timeout=60_000)
    assert thumbnails.count() >= 13
    page.screenshot(path=str(tmp_path / "activations.png"), full_page=True)
    assert "block1_conv1" in page.locator("#activation-grids").inner_text()


def test_reconstruction_streams_and_stops(page, tmp_path):
    page.get_by_role("tab", name="Reconstruction").click()
    page.locator("button:visible:has(img)").nth(1).click()  # the cat example
    page.get_by_role("button", name="Reconstruct").click()
    page.wait_for_function("document.querySelectorAll('#reconstructions img').length >= 2", timeout=60_000)
    status = page.get_by_text("Step ", exact=False).first
    status.wait_for()
    page.get_by_role("button", name="Stop").click()
    page.wait_for_timeout(1500)
    stopped_at = status.inner_text()
    page.wait_for_timeout(4000)
    assert status.inner_text() == stopped_at and "done" not in stopped_at
    page.screenshot(path=str(tmp_path / "reconstruction.png"), full_page=True)
