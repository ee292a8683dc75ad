"""Links to views of this app: `?unit=layer:channel` and `?layer=name&p=k`, built and read here only."""

from __future__ import annotations

import os

UNIT, LAYER, PAGE = "unit", "layer", "p"  # the query's keys (`p`: Gradio keeps `page` for its own pages)


# In a page's JavaScript: the address names the unit whose page opens (`unit` is its name), so that a
# copied address opens it, and the browser's back button returns to the one before (BACK_BUTTON).
ADDRESS_UNIT = ("const query = '?" + UNIT + "=' + encodeURIComponent(unit || '').replace(/%3A/gi, ':'); "
                "if (unit && location.search !== query) history.pushState({unit}, '', query);")
BACK_BUTTON = """() => { window.addEventListener('popstate', () => {
  const unit = new URLSearchParams(location.search).get('""" + UNIT + """');
  const box = document.querySelector('#unit-box textarea, #unit-box input');
  const open = document.getElementById('open-unit');
  if (!unit || !box || !open) return;
  Object.getOwnPropertyDescriptor(Object.getPrototypeOf(box), 'value').set.call(box, unit);
  box.dispatchEvent(new Event('input', {bubbles: true}));
  setTimeout(() => open.click(), 50);
}); }"""


def link_to(query: str, text: str | None = None) -> str:
    """A Markdown link to a view of this app (`?unit=...`): on a Space, the Space's own page (which
    hands its query to the app), so that a copied link opens the same view; elsewhere, this page."""
    space = os.environ.get("SPACE_ID")
    url = f"https://huggingface.co/spaces/{space}{query}" if space else query
    return f"[{text or query}]({url})"


def unit_query(unit: str) -> str:
    """The query that opens a unit's page in the Microscope."""
    return f"?{UNIT}={unit}"


def unit_link(unit: str, text: str | None = None) -> str:
    """A Markdown link that opens a unit's page."""
    return link_to(unit_query(unit), text or unit)


def wanted_view(query: dict) -> tuple[str, str, int]:
    """What a page's address asks to open: ("unit", the unit, 0), ("layer", the layer, the atlas page)
    or ("", "", 0) for nothing."""
    if query.get(UNIT):
        return UNIT, query[UNIT], 0
    if query.get(LAYER):
        return LAYER, query[LAYER], page_number(query.get(PAGE))
    return "", "", 0


def page_number(text: str | None) -> int:
    """An atlas page from a link's `p` (the first page when it is not a whole number)."""
    text = (text or "").strip()
    return int(text) if text.isdecimal() and len(text) < 6 else 0
