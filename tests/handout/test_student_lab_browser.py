"""The student's JupyterLab, in a real browser: no instructor tool, Validate works, a clean server log.

Runs the student repository's own ``make lab`` (its ``.venv`` is this environment, linked) on a free
port with a token, and drives headless Chromium from Debian (``/usr/bin/chromium``) with Playwright
from PyPI (``pip install playwright``; no browser download). Optional: skipped, with the reason,
where either is missing. Screenshots are saved in the test's temporary folder and copied to
``/tmp/seqlab-shots/``.
"""
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import nbformat
import pytest

import harness
from seqlab.grading import course

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path("/tmp/seqlab-shots")
INSTRUCTOR_TOOLS = ("Formgrader", "Create Assignment", "Course List", "Assignment List", "Manage Students",
                    "Manual Grading")
LOCKED = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
          "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:menu"}
LAB = "01-tokenization"

if not CHROMIUM.exists():
    pytest.skip(f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab_server(tmp_path_factory, student_repo):
    """The student tree's ``make lab``: (base URL, token, log file)."""
    home = tmp_path_factory.mktemp("jupyter-home")
    port, token = _free_port(), secrets.token_hex(16)
    # Only what a test needs on top of the student's settings: port, token, no browser, root.
    (home / "config").mkdir()
    (home / "config" / "jupyter_server_config.json").write_text(json.dumps({
        "ServerApp": {"port": port, "ip": "127.0.0.1", "open_browser": False, "allow_root": os.geteuid() == 0},
        "IdentityProvider": {"token": token}}))
    venv = Path(os.environ.get("VIRTUAL_ENV") or Path(os.sys.executable).parents[1])
    (student_repo / ".venv").symlink_to(venv)
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"), "PYTHONPATH": str(student_repo),
           "SEQLAB_SCALE": "smoke"}
    env.pop("JUPYTER_CONFIG_PATH", None)
    log = home / "server.log"
    # `-o .venv/.installed`: the linked environment is ready; never let make reinstall into it.
    with open(log, "w") as out:
        server = subprocess.Popen(["make", "-o", ".venv/.installed", "lab"], cwd=student_repo, env=env,
                                  stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                assert server.poll() is None, log.read_text()
                time.sleep(0.5)
        else:
            pytest.fail("the student's JupyterLab did not start:\n" + log.read_text())
        yield base, token, log
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        (student_repo / ".venv").unlink()


@pytest.fixture(scope="module")
def page(lab_server, tmp_path_factory):
    base, token, _ = lab_server
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        tab = browser.new_page(viewport={"width": 1400, "height": 900})
        tab.goto(f"{base}/lab?token={token}")
        tab.wait_for_selector(".jp-Launcher", timeout=90_000)
        yield tab
        browser.close()


@pytest.fixture(scope="module")
def shots(tmp_path_factory):
    folder = tmp_path_factory.mktemp("screenshots")
    SHOTS.mkdir(exist_ok=True)

    def shoot(tab, name: str) -> None:
        tab.screenshot(path=folder / name)
        shutil.copy(folder / name, SHOTS / name)
    return shoot


def _visible_text(tab) -> str:
    return tab.inner_text("body")


def _menu(tab, title: str) -> str:
    """Open a menu of the menu bar; its items' text."""
    tab.click(f".lm-MenuBar-itemLabel:text-is('{title}')")
    tab.wait_for_selector(".lm-Menu")
    return tab.inner_text(".lm-Menu")


def _validate_button(tab, path: str):
    """The Validate button of the notebook ``path``, once it is the one in view."""
    tab.wait_for_function(
        "p => document.querySelector('#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current')?.title.includes(p)",
        arg=path, timeout=90_000)
    panel = tab.locator(".jp-NotebookPanel:visible")
    panel.wait_for(timeout=90_000)
    return panel.locator("button:has-text('Validate'), .jp-ToolbarButtonComponent:has-text('Validate')").first


def test_the_server_locks_the_instructor_tools(lab_server):
    base, token, _ = lab_server
    plugins = json.load(urllib.request.urlopen(f"{base}/lab/api/plugins?token={token}"))
    assert LOCKED <= set(plugins["lockRules"])
    for path in ("formgrader", "assignments", "courses"):  # their server extensions are off
        with pytest.raises(urllib.error.HTTPError, match="404"):
            urllib.request.urlopen(f"{base}/{path}?token={token}")


def test_launcher_and_menus_show_no_instructor_tool(page, shots):
    shots(page, "student-01-launcher.png")
    menus = page.locator(".lm-MenuBar-itemLabel").all_inner_texts()
    seen = _visible_text(page)
    for title in menus:
        seen += _menu(page, title)
        shots(page, f"student-02-menu-{title.lower()}.png")
        page.keyboard.press("Escape")
    found = [tool for tool in INSTRUCTOR_TOOLS if tool in seen]
    assert not found, f"the student's JupyterLab shows {found} (menus: {menus})"
    assert "Nbgrader" not in menus, "an (empty) Nbgrader menu is shown"


def test_the_command_palette_finds_no_instructor_tool(page, shots):
    page.keyboard.press("Control+Shift+C")
    palette = page.locator(".jp-mod-commandPalette input, .lm-CommandPalette-input").first
    for query in ("formgrader", "assignment", "course"):
        palette.fill(query)
        page.wait_for_timeout(300)
        items = page.locator(".lm-CommandPalette-item:visible").all_inner_texts()
        shots(page, f"student-03-palette-{query}.png")
        assert not any(tool.lower() in item.lower() for item in items for tool in INSTRUCTOR_TOOLS), items
    page.keyboard.press("Escape")


def test_the_plugin_manager_shows_them_locked(page, shots):
    page.keyboard.press("Control+Shift+C")
    page.locator(".lm-CommandPalette-input").first.fill("plugin manager")
    page.keyboard.press("Enter")
    page.wait_for_selector(".jp-pluginmanager", timeout=30_000)
    page.locator(".jp-pluginmanager input[type='text'], .jp-pluginmanager input[type='search']").first.fill("nbgrader")
    page.wait_for_timeout(1000)
    shots(page, "student-04-plugin-manager.png")
    text = page.inner_text(".jp-pluginmanager")
    assert "formgrader" in text and "create-assignment" in text
    # every instructor plugin's row has a disabled (locked) toggle
    for plugin in ("formgrader", "create-assignment", "course-list", "assignment-list", "menu"):
        row = page.locator(".jp-pluginmanager-row, .jp-PluginList-entry, tr, li").filter(
            has_text=f"@jupyter/nbgrader:{plugin}").last
        toggle = row.locator("input[type='checkbox']")
        assert toggle.count() == 1 and toggle.is_disabled() and not toggle.is_checked(), plugin


def test_validate_works_in_a_notebook(page, shots, lab_server):
    base, token, _ = lab_server
    page.goto(f"{base}/lab/tree/{LAB}/{LAB}.ipynb?token={token}")
    button = _validate_button(page, f"{LAB}/{LAB}.ipynb")
    button.wait_for(timeout=90_000)
    shots(page, "student-05-notebook-validate-button.png")
    assert "Create Assignment" not in _visible_text(page)
    button.click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=300_000)
    page.wait_for_function("!document.querySelector('.jp-Dialog')?.innerText.includes('Validating')",
                           timeout=300_000)
    shots(page, "student-06-validate-result.png")
    text = dialog.inner_text()
    # The released notebook is blank: Validate runs it and reports the exercises' failing tests.
    assert re.search(r"fail|NotImplementedError|error", text, re.I), text
    dialog.locator("button:has-text('Ok')").click()


def test_validate_passes_the_reference_answers(page, shots, lab_server, student_repo):
    base, token, _ = lab_server
    folder = student_repo / "labs" / LAB / "solved"
    folder.mkdir()
    released = harness.read(student_repo / "labs" / LAB / f"{LAB}.ipynb")
    nbformat.write(course.solved_notebook(harness.source_nb(LAB), released), folder / f"{LAB}.ipynb")
    # A workspace of its own: JupyterLab does not restore the blank lab's tab over this one.
    page.goto(f"{base}/lab/workspaces/solved/tree/{LAB}/solved/{LAB}.ipynb?token={token}")
    button = _validate_button(page, f"{LAB}/solved/{LAB}.ipynb")
    button.wait_for(timeout=90_000)
    button.click()
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=300_000)
    page.wait_for_function("!document.querySelector('.jp-Dialog')?.innerText.includes('Validating')",
                           timeout=300_000)
    shots(page, "student-07-validate-solved.png")
    text = dialog.inner_text()
    assert "Success" in text and "passes all" in text, text


def test_the_server_log_has_no_error(lab_server, page, student_repo):
    _, _, log = lab_server
    assert not list(student_repo.rglob("gradebook.db")), "the student's session created a gradebook"
    shutil.copy(log, SHOTS / "student-server.log")
    lines = log.read_text().splitlines()
    bad = [l for l in lines if re.match(r"\[(C|E) ", l) or "Traceback" in l or "Unwritable" in l]
    assert not bad, "\n".join(bad)
    assert any("validate_assignment" in l for l in lines)
