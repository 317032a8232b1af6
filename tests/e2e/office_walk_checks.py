"""The accessibility checks the office page walk makes on every page (issue 16: "labels,
keyboard navigation, contrast of the theme"), in Debian's Chromium.

- structure: one ``<h1>``;
- names: every visible input/select/textarea has exactly one ``<label>`` (or an
  ``aria-label``); every link and button has an accessible name, read from Chromium's own
  accessibility tree (the name a screen reader announces), not recomputed here;
- keyboard: ``Tab`` from the top of the page reaches the skip link first, the skip link moves
  focus to ``#main`` (WCAG 2.2 SC 2.4.1 Bypass Blocks), and a focused link and button show a
  focus indicator (SC 2.4.7 Focus Visible: the computed outline or box-shadow is not none);
- colours: the computed text colour of body text, links, buttons and table headers (and of
  labels, notes and error messages) against the background they are drawn on meets 4.5:1
  (SC 1.4.3 Contrast (Minimum)); the ratio is the WCAG definition, computed here from the
  relative luminance of sRGB.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from playwright.async_api import Page, expect

MIN_CONTRAST = 4.5  # SC 1.4.3, normal-size text
TAB_LIMIT = 60  # a page's header and forms hold far fewer stops: a bound, not a wait

# Every visible form field: its labels (``labels`` counts both ``for=`` and wrapping labels).
FIELDS_JS = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden' && el.checkVisibility())
  .map(el => ({
    field: el.outerHTML.slice(0, 120),
    labels: el.labels ? el.labels.length : 0,
    aria: (el.getAttribute('aria-label') || '').trim() !== ''
      || (el.getAttribute('aria-labelledby') || '').trim() !== '',
  }))"""

# The colours drawn: an element's text colour over the first opaque background below it
# (translucent layers composited over it, the page's white at the bottom).
COLOURS_JS = """() => {
  const rgba = (text) => {
    const parts = text.match(/[\\d.]+/g).map(Number);
    return [parts[0], parts[1], parts[2], parts.length > 3 ? parts[3] : 1];
  };
  const over = (top, below) => top.slice(0, 3).map((c, i) => top[3] * c + (1 - top[3]) * below[i]);
  const backdrop = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const colour = rgba(getComputedStyle(e).backgroundColor);
      if (colour[3] > 0) layers.push(colour);
      if (colour[3] >= 1) break;
    }
    return layers.reverse().reduce((below, top) => over(top, below), [255, 255, 255]);
  };
  const drawn = [];
  for (const [what, selector] of [['body', 'body'], ['link', 'a'], ['button', 'button'],
                                  ['table header', 'th'], ['label', 'label'],
                                  ['note', '.note'], ['error', '.error']]) {
    for (const el of document.querySelectorAll(selector)) {
      if (!(el instanceof HTMLElement) || !el.checkVisibility()) continue;
      if (el.closest('.visually-hidden')) continue;  // the charts' tables: for screen readers
      const background = backdrop(el);
      drawn.push({
        what, text: el.textContent.trim().slice(0, 40),
        text_colour: over(rgba(getComputedStyle(el).color), background), background,
      });
    }
  }
  return drawn;
}"""

FOCUS_JS = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return {
    tag: el.tagName, id: el.id, text: (el.textContent || '').trim().slice(0, 40),
    outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
    shadow: style.boxShadow !== 'none',
  };
}"""


def luminance(rgb: list[float]) -> float:
    """WCAG 2.2 relative luminance of an sRGB colour (0–255 channels)."""

    def linear(channel: float) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first: list[float], second: list[float]) -> float:
    """WCAG 2.2 contrast ratio, (L1 + 0.05) / (L2 + 0.05), lighter over darker."""
    light, dark = sorted((luminance(first), luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@dataclass
class Console:
    """Everything the browser reported as an error: console errors (a Content-Security-Policy
    violation is one) and uncaught page errors."""

    errors: list[str]

    def listen(self, page: Page) -> None:
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def taken(self, status: int = 200) -> list[str]:
        """The errors since the last call; a page answered with ``status`` (a 403 page)
        makes Chromium report its own load as failed, which is what was asked for."""
        answered = f"the server responded with a status of {status}"
        found = [e for e in self.errors if status == 200 or answered not in e]
        self.errors[:] = []
        return found


async def accessible_names(page: Page) -> list[tuple[str, str]]:
    """(role, name) of every link and button in Chromium's accessibility tree."""
    cdp = await page.context.new_cdp_session(page)
    try:
        await cdp.send("Accessibility.enable")
        tree: dict[str, Any] = await cdp.send("Accessibility.getFullAXTree")
    finally:
        await cdp.detach()
    named = []
    for node in tree["nodes"]:
        role = node.get("role", {}).get("value")
        if node.get("ignored") or role not in ("link", "button"):
            continue
        named.append((role, str(node.get("name", {}).get("value", "")).strip()))
    return named


async def focus_shown(page: Page) -> dict[str, Any]:
    shown: dict[str, Any] = await page.evaluate(FOCUS_JS)
    assert shown["outline"] or shown["shadow"], f"no visible focus on {shown}"
    return shown


async def check_keyboard(page: Page) -> None:
    """Tab from the top: the skip link first, with a visible focus; Enter moves focus to
    ``#main``; tabbing on reaches a button, with a visible focus too."""
    await page.keyboard.press("Tab")
    skip = page.locator("a.skip")
    await expect(skip).to_be_focused()
    await focus_shown(page)
    await page.keyboard.press("Enter")
    await expect(page.locator("#main")).to_be_focused()
    await page.locator("a.brand").focus()  # back to the top, by keyboard focus rules
    for _ in range(TAB_LIMIT):
        await page.keyboard.press("Tab")
        if await page.evaluate("() => document.activeElement.tagName") == "BUTTON":
            break
    shown = await focus_shown(page)
    assert shown["tag"] == "BUTTON", shown


async def check_page(
    page: Page, console: Console, *, keyboard: bool = True, status: int = 200
) -> None:
    """The checks of the module docstring on the page shown now. ``keyboard=False``: a page
    that puts focus on its first field itself (the login) is not tabbed from the top."""
    where = page.url
    await expect(page.locator("h1")).to_have_count(1)
    for field in await page.evaluate(FIELDS_JS):
        assert field["labels"] == 1 or (field["labels"] == 0 and field["aria"]), (where, field)
    named = await accessible_names(page)
    assert {"link", "button"} <= {role for role, _ in named}, where  # the brand, a submit
    for role, name in named:
        assert name, (where, role)
    colours = await page.evaluate(COLOURS_JS)
    assert {"body", "link", "button"} <= {drawn["what"] for drawn in colours}, where
    for drawn in colours:
        ratio = contrast(drawn["text_colour"], drawn["background"])
        assert ratio >= MIN_CONTRAST, (where, round(ratio, 2), drawn)
    if keyboard:
        await check_keyboard(page)
    assert console.taken(status) == [], where


async def check_csv(page: Page, tmp_path: Path) -> list[str] | None:
    """The page's CSV download, if it has one: a file that parses as CSV whose first row
    holds the headers of the page's table. Returns that row."""
    link = page.locator("#csv-download")
    if await link.count() == 0:
        return None
    async with page.expect_download() as downloading:
        await link.click()
    download = await downloading.value
    saved = tmp_path / download.suggested_filename
    await download.save_as(saved)
    with saved.open(newline="", encoding="utf-8") as handle:
        table = list(csv.reader(handle, strict=True))
    assert table, page.url
    shown = [
        " ".join(h.split()) for h in await page.locator("main table thead th").all_inner_texts()
    ]
    # The file may add columns the page leaves out (ids); the page's own come in its order,
    # named alike (a page's remark in brackets, "Rule (best guess)", is not part of the name).
    columns = iter(table[0])
    assert all(
        any(column in (header, header.split(" (")[0]) for column in columns) for header in shown
    ), (page.url, table[0], shown)
    assert all(len(row) == len(table[0]) for row in table), page.url
    return table[0]
