"""Open HTML reports in headless Chromium: console errors, images, a screenshot.

A checked script, not part of the test suite (CI has no browser):

    sudo apt-get install chromium          # Debian's browser; playwright cannot download one here
    .venv/bin/pip install -e '.[browser]'  # playwright (its driver only)
    .venv/bin/python scripts/check_html.py reports/2022/vorming/vorming_2022.html --screenshot /tmp/vorming.png

Exits 1 when a page logs a console error, fails a request or has an image that did not load.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def check(pages: list[Path], screenshot: Path | None, executable: str) -> int:
    from playwright.sync_api import sync_playwright

    bad = 0
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_FLAGS)
        for i, page_path in enumerate(pages):
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
            page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url[:80]}"))
            page.goto(page_path.resolve().as_uri(), wait_until="load")
            images = page.eval_on_selector_all("img", "els => els.map(e => [e.complete && e.naturalWidth > 0, e.alt])")
            broken = [alt for ok, alt in images if not ok]
            links = page.eval_on_selector_all("nav a[href^='#']", "els => els.map(e => e.getAttribute('href'))")
            missing = [h for h in links if not page.query_selector(f"[id='{h[1:]}']")]
            if screenshot:
                target = screenshot if len(pages) == 1 else screenshot.with_name(f"{screenshot.stem}-{i}{screenshot.suffix}")
                page.screenshot(path=str(target), full_page=False)
            status = "ok" if not (errors or broken or missing) else "FAIL"
            print(f"{status} {page_path}: {len(images)} images ({len(broken)} broken), {len(links)} contents links "
                  f"({len(missing)} without target), {len(errors)} console/request errors")
            for e in errors + [f"image not loaded: {a}" for a in broken] + [f"link without target: {h}" for h in missing]:
                print(f"    {e}")
            bad |= status != "ok"
            page.close()
        browser.close()
    return int(bad)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pages", nargs="+", type=Path)
    ap.add_argument("--screenshot", type=Path)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    return check(args.pages, args.screenshot, args.chromium)


if __name__ == "__main__":
    sys.exit(main())
