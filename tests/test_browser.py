"""A real browser (headless Debian Chromium) uses every tab like a visitor would, Stop included."""

from typing import Callable, NamedTuple

import pytest

from conftest import open_page


@pytest.fixture(scope="module")
def page(app_url):
    yield from open_page(app_url)


def wait_for_images(page, gallery: str, count: int, timeout: float = 90_000):
    page.wait_for_function(f"document.querySelectorAll('#{gallery} img').length >= {count}", timeout=timeout)


def stop_and_check_it_stopped(page, tab: str, status_id: str):
    """Press the tab's Stop while its run streams: the run ends within an evaluation, its status says
    that it stopped and at which step, and its files are offered."""
    status = page.locator(f"#{status_id}")
    status.get_by_text("Step ").wait_for()
    page.locator(f"#{tab}").get_by_role("button", name="Stop").click()
    status.get_by_text("stopped at step").wait_for(timeout=15_000)
    assert "done" not in status.inner_text()
    page.locator(f"#{tab} a[href*='.png']").first.wait_for(timeout=10_000)


def run_on_the_first_example(page, tab: str, panel_id: str, image_id: str, button: str):
    """Open a tab, put its first example photo in, press its button; the tab's panel."""
    page.get_by_role("tab", name=tab).click()
    panel = page.locator(f"#{panel_id}")
    panel.locator("button:has(img)").first.click()
    page.locator(f"#{image_id} img").wait_for()
    panel.get_by_role("button", name=button).click()
    return panel


def test_activations(page, tmp_path):
    run_on_the_first_example(page, "Activations", "tab-activations", "activations-image", "Show activations")
    wait_for_images(page, "activation-grids", 13)
    assert "block1_conv1" in page.locator("#activation-grids").inner_text()
    page.screenshot(path=str(tmp_path / "activations.png"), full_page=True)


def test_every_map_with_its_evidence(page, tmp_path):
    """The maps, then their faithfulness in words, in a table and in plots whose legends name every map
    and the random orders."""
    run_on_the_first_example(page, "Where it looks", "tab-attribution", "attribution-image", "Explain")
    wait_for_images(page, "attribution-maps", 4)
    words = page.locator("#faithfulness-words")
    words.get_by_text("How far can each map be trusted?").wait_for(timeout=60_000)
    assert words.inner_text().count("it ranks first") == 4
    page.wait_for_function("""names => { const legend = [...document.querySelectorAll('#curve-deletion svg text')]
        .map(t => t.textContent).join(' '); return names.every(name => legend.includes(name)); }""",
                           arg=["Grad-CAM", "gradient", "SmoothGrad", "random"], timeout=20_000)  # drawn after the words
    assert page.locator("#faithfulness-table").get_by_text("random (3 orders)").count() >= 1
    page.screenshot(path=str(tmp_path / "attribution.png"), full_page=True)


def style_curve_legend_fits(page):
    """The style curve's caption says why it jumps at a stage; its legend is inside the plot, not clipped."""
    curve = page.locator("#style-curve")
    assert "coarse to fine" in curve.inner_text()
    label, box = curve.locator("svg text", has_text="content").first.bounding_box(), curve.bounding_box()
    assert label["y"] + label["height"] <= box["y"] + box["height"]


class Run(NamedTuple):
    tab: str  # the tab's name
    panel: str  # the tab's element id
    example: str | None  # the example to click, if any
    image: str | None  # the image input the example fills
    button: str  # the button that starts the run
    gallery: str
    count: int  # images the gallery shows while the run streams
    status: str
    extra: Callable | None = None  # a check after Stop


RUNS = [
    Run("Reconstruction", "tab-reconstruction", "button:has(img) >> nth=1", "reconstruction-image",  # the cat
        "Reconstruct", "reconstructions", 2, "reconstruction-status"),
    Run("Class visualization", "tab-visualization", None, None, "Visualize", "visualizations", 3,
        "visualization-status"),
    Run("Style transfer", "tab-style", "[data-testid=dataset-cell-0-0]", "style-content",  # the first pair
        "Stylize", "stylized", 1, "style-status", style_curve_legend_fits),
]


@pytest.mark.parametrize("run", RUNS, ids=lambda run: run.tab.lower().replace(" ", "-"))
def test_optimization_streams_and_stops(page, tmp_path, run):
    page.get_by_role("tab", name=run.tab).click()
    panel = page.locator(f"#{run.panel}")
    if run.example:
        panel.locator(run.example).click()
        page.locator(f"#{run.image} img").wait_for()
    panel.get_by_role("button", name=run.button).click()
    wait_for_images(page, run.gallery, run.count)
    stop_and_check_it_stopped(page, run.panel, run.status)
    if run.extra:
        run.extra(page)
    page.screenshot(path=str(tmp_path / f"{run.panel.removeprefix('tab-')}.png"), full_page=True)


def test_a_refused_run_says_why_until_the_next_and_shows_no_stale_result(page):
    """A run refused for a bad input: its reason stays in the status line after the toast has closed,
    and no earlier run's pictures or 'done' remain beside it."""
    page.get_by_role("tab", name="Class visualization").click()
    panel = page.locator("#tab-visualization")
    targets = panel.locator("input[role=listbox], input").first
    targets.fill("block9_conv1:3")
    targets.press("Enter")
    panel.get_by_role("button", name="Visualize").click()
    status = page.locator("#visualization-status")
    status.get_by_text("Not run").wait_for(timeout=30_000)
    page.wait_for_timeout(15_000)  # Gradio's toast closes after 10 s
    said = status.inner_text()
    assert "block9_conv1" in said and "done" not in said and "stopped" not in said
    assert page.locator("#visualizations img").count() == 0


def test_a_photo_shared_with_every_tab_clears_the_results_of_the_earlier_one(page):
    page.get_by_role("tab", name="Reconstruction").click()
    wait_for_images(page, "reconstructions", 1)  # the first visit's finished example, or the run above
    page.get_by_role("tab", name="Activations").click()
    page.locator("#tab-activations").get_by_role("button", name="Use this photo in every tab").click()
    page.get_by_role("tab", name="Reconstruction").click()
    page.wait_for_function("document.querySelectorAll('#reconstructions img').length === 0", timeout=10_000)
    page.locator("#reconstruction-image img").wait_for()  # the shared photo is there
