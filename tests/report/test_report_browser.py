"""The class report in a real browser: headless Chromium from Debian (``/usr/bin/chromium``) driven by
Playwright from PyPI (``pip install playwright``; never ``playwright install``). Optional: skipped, with
the reason, where either is missing.

The class is generated as the benchmark generates it (``bench/report.py``: 40 students, 2 labs,
a planted copy pair), so no notebook is executed. The page is opened from ``file://`` with every
network request refused: it must render complete offline. Screenshots are saved in the test's
temporary folder (printed) and copied to ``/tmp/seqlab-shots/`` (or ``$SEQLAB_SHOTS``).
"""
import importlib.util
import os
import shutil
from pathlib import Path

import pytest

import harness
from seqlab.grading import report

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(os.environ.get("SEQLAB_SHOTS", "/tmp/seqlab-shots"))
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run"]

if not CHROMIUM.exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")


def _bench():
    spec = importlib.util.spec_from_file_location("bench_report", harness.ROOT / "bench" / "report.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def page_file(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-class") / "course"
    made = _bench().make_class(root, n_students=40, n_labs=2)
    return report.write_report(root), made


@pytest.fixture(scope="module")
def tab(page_file):
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        requests = []
        context.route("**/*", lambda route: (requests.append(route.request.url),
                                             route.continue_() if route.request.url.startswith(("file:", "data:"))
                                             else route.abort()))
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_file[0].as_uri())
        page.wait_for_load_state("load")
        yield page, requests, errors
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("screenshots")
    SHOTS.mkdir(parents=True, exist_ok=True)
    print(f"\nreport screenshots: {folder} (copied to {SHOTS})")

    def take(target, name: str, **kw):
        target.screenshot(path=folder / name, **kw)
        shutil.copy(folder / name, SHOTS / name)
        return folder / name
    return take


def test_overview_renders_offline_with_its_plots(tab, shots, page_file):
    page, requests, errors = tab
    shots(page, "report-overview.png")
    assert errors == []
    assert all(u.startswith(("file:", "data:")) for u in requests), requests
    assert page.locator("#overview table tbody tr").count() == 2
    images = page.locator("img[alt^='score histogram']")
    assert images.count() == 2
    for i in range(images.count()):  # every plot decoded and drawn
        assert images.nth(i).evaluate("img => img.complete && img.naturalWidth > 300")
    assert page.get_by_text("What the failing students wrote").count() == 2


def test_a_similar_pair_side_by_side(tab, shots, page_file):
    page, _, _ = tab
    _, made = page_file
    views = page.locator("details.similar")
    assert views.count() >= 1
    lab, a, b = made["pairs"][0]
    view = page.locator(f"#lab-{lab} details.similar", has_text=a).filter(has_text=b).first
    view.scroll_into_view_if_needed()
    shots(view, "report-similar-pair.png")
    left, right = view.locator(".pair > div").all()[:2]
    lbox, rbox = left.bounding_box(), right.bounding_box()
    assert abs(lbox["y"] - rbox["y"]) < 2 and lbox["x"] + lbox["width"] <= rbox["x"], "side by side"
    assert left.locator("mark").count() >= 1 and right.locator("mark").count() >= 1
    assert "worth a look" in view.locator("summary").inner_text()
    # the code stays inside its column: no horizontal overflow of the page
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_most_failed_tests_show_their_wrong_answer_groups(tab, shots):
    page, _, _ = tab
    first = page.locator("section.lab details").first
    first.scroll_into_view_if_needed()
    shots(first, "report-wrong-answers.png")
    assert "distinct answer" in first.locator("summary").inner_text()
    assert first.locator("pre").count() >= 1
