"""The student's JupyterLab, in a real browser: no instructor tool, Validate works, a clean server log;
and a student's session: a fresh kernel's first cell writes no stderr, a lab does not show as modified
when it is opened, a passing visible test says so, a time-budgeted training cell says how much of its
budget it has spent, and the status bar shows the memory in use against Binder's limit.

Runs the student repository's own ``make lab`` (its ``.venv`` is this environment, linked) on a free
port with a token, and drives headless Chromium from Debian (``/usr/bin/chromium``) with Playwright
from PyPI (``pip install playwright``; no browser download). Optional: skipped, with the reason,
where either is missing. Screenshots are saved in the test's temporary folder and copied to
``$SEQLAB_SHOTS`` (default ``/tmp/seqlab-shots/``).
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
SHOTS = Path(os.environ.get("SEQLAB_SHOTS", "/tmp/seqlab-shots"))
INSTRUCTOR_TOOLS = ("Formgrader", "Create Assignment", "Course List", "Assignment List", "Manage Students",
                    "Manual Grading")
LOCKED = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
          "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:menu"}
LAB = "01-tokenization"
TRAINING_LAB = "06-char-generation"  # its first cell imports TensorFlow itself; it trains against a clock
BINDER_MEM_LIMIT = 2 * 1024**3  # Binder's 2 GB: what mybinder.org puts in MEM_LIMIT
STDERR = "application/vnd.jupyter.stderr"

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
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
           "PYTHONPATH": os.pathsep.join([str(student_repo), *filter(None, [os.environ.get("PYTHONPATH")])]),
           "SEQLAB_SCALE": "smoke", "MEM_LIMIT": str(BINDER_MEM_LIMIT)}  # MEM_LIMIT: as Binder sets it
    env.pop("JUPYTER_CONFIG_PATH", None)
    # ipykernel does not forward C-level stderr (TensorFlow's C++ log lines) into cell outputs when it
    # finds PYTEST_CURRENT_TEST in its environment: the kernels would hide what a student sees.
    env.pop("PYTEST_CURRENT_TEST", None)
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
    SHOTS.mkdir(parents=True, exist_ok=True)

    def shoot(tab, name: str, element=None) -> None:
        (element or tab).screenshot(path=folder / name)
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


def _session_idle(lab_server, path: str, timeout: float = 180) -> None:
    """Wait until the kernel of the notebook ``path`` (relative to labs/) has started and is idle."""
    base, token, _ = lab_server
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sessions = json.load(urllib.request.urlopen(f"{base}/api/sessions?token={token}"))
        if any(s["path"] == path and s["kernel"]["execution_state"] == "idle" for s in sessions):
            return
        time.sleep(0.5)
    pytest.fail(f"no idle kernel for {path} after {timeout:.0f} s: {sessions}")


def _open(page, lab_server, path: str, workspace: str):
    """Open the notebook ``path`` in a workspace of its own; its panel once its kernel is idle."""
    base, token, _ = lab_server
    page.goto(f"{base}/lab/workspaces/{workspace}/tree/{path}?token={token}")
    page.wait_for_function(
        "p => document.querySelector('#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current')?.title.includes(p)",
        arg=path, timeout=90_000)
    _session_idle(lab_server, path)
    panel = page.locator(".jp-NotebookPanel:visible")
    panel.locator(".jp-Cell").first.wait_for(timeout=30_000)
    return panel


def _dismiss_news(page) -> None:
    """JupyterLab's "get notified about official Jupyter news?" toast covers the notebook's corner."""
    no = page.locator(".jp-toast-button:has-text('No'), .Toastify button:has-text('No')")
    if no.count():
        no.first.click()


def _is_modified(page) -> bool:
    return "jp-mod-dirty" in (page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current")
                              .get_attribute("class") or "")


def _run_all(page) -> None:
    _menu(page, "Run")
    page.locator(".lm-Menu .lm-Menu-itemLabel:text-is('Run All Cells')").click()


def _wait_until_run(cell, timeout: float) -> None:
    """Wait until ``cell`` has run (its prompt shows an execution count)."""
    sync_api.expect(cell.locator(".jp-InputArea-prompt")).to_have_text(re.compile(r"\[\d+\]"),
                                                                        timeout=timeout * 1000)


def _copy_lab(student_repo, lab: str, folder: str, solved: bool = True, until=None) -> str:
    """A copy of ``lab`` in ``labs/<lab>/<folder>/`` (the reference answers typed in; only the cells up
    to the first whose source contains ``until``); its path relative to labs/."""
    released = harness.read(student_repo / "labs" / lab / f"{lab}.ipynb")
    nb = course.solved_notebook(harness.source_nb(lab), released) if solved else released
    if until:
        nb.cells = nb.cells[:1 + next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and until in c.source)]
    (student_repo / "labs" / lab / folder).mkdir()
    nbformat.write(nb, student_repo / "labs" / lab / folder / f"{lab}.ipynb")
    return f"{lab}/{folder}/{lab}.ipynb"


def test_a_lab_opens_unmodified_and_its_first_cell_writes_no_stderr(page, shots, lab_server, student_repo):
    """A fresh kernel: JupyterLab fills in the notebook's kernel and language metadata (the committed
    metadata is what it writes, so the lab is not marked modified); the first code cell imports
    TensorFlow, whose C++ start-up lines (oneDNN, absl's "before absl::InitializeLog()") are silenced
    by the kernel's environment before the import."""
    # The check sees it: with the trimmed metadata committed before, the lab shows as modified.
    trimmed = _copy_lab(student_repo, TRAINING_LAB, "trimmed", solved=False)
    nb = harness.read(student_repo / "labs" / trimmed)
    nb.metadata["language_info"] = {"name": "python", "version": "3.11"}
    nbformat.write(nb, student_repo / "labs" / trimmed)
    _open(page, lab_server, trimmed, "trimmed")
    page.wait_for_timeout(3000)  # metadata from the kernel's info reply lands after it is idle
    assert _is_modified(page), "a lab with trimmed language_info is not marked modified: the check sees nothing"
    path = f"{TRAINING_LAB}/{TRAINING_LAB}.ipynb"
    panel = _open(page, lab_server, path, "fresh")
    page.wait_for_timeout(3000)
    _dismiss_news(page)
    shots(page, "session-01-opened.png")
    assert not _is_modified(page), f"{path} is marked modified right after opening (kernel metadata?)"
    cell = panel.locator(".jp-CodeCell").first
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    _wait_until_run(cell, 180)
    cell.scroll_into_view_if_needed()
    shots(page, "session-02-first-cell.png")
    text = cell.locator(".jp-OutputArea").inner_text()
    assert "scale: smoke" in text, text
    stderr = cell.locator(f".jp-OutputArea-output[data-mime-type='{STDERR}']")
    assert stderr.count() == 0, f"the first cell wrote to stderr:\n{stderr.all_inner_texts()}"
    assert "absl" not in text and "oneDNN" not in text, text


def test_a_passing_visible_test_says_so(page, shots, lab_server, student_repo):
    path = _copy_lab(student_repo, LAB, "answered")
    panel = _open(page, lab_server, path, "answered")
    _run_all(page)
    cells = panel.locator(".jp-CodeCell")
    _wait_until_run(cells.last, 300)
    passed = cells.filter(has_text="✓ Exercise")
    assert passed.count() >= 1, "no visible test cell printed its ✓ line"
    first = passed.first
    _dismiss_news(page)
    first.locator(".jp-OutputArea").scroll_into_view_if_needed()
    shots(page, "session-03-visible-test-passed.png")
    assert re.search(r"✓ Exercise \(\w\): visible tests passed", first.locator(".jp-OutputArea").inner_text())
    assert first.locator(f".jp-OutputArea-output[data-mime-type='{STDERR}']").count() == 0
    hidden = cells.filter(has_text="hidden tests, which run only when your notebook is graded")
    assert hidden.count() >= 1, "no hidden-test placeholder says that its tests run at grading"


def test_the_status_bar_shows_memory_against_the_limit(page, shots, lab_server):
    """jupyter-resource-usage: the server's and its kernels' memory, and Binder's limit (MEM_LIMIT)."""
    item = page.locator(".jp-StatusBar-Widget").filter(has_text="Mem:")
    item.first.wait_for(timeout=60_000)
    page.wait_for_timeout(6000)  # the indicator polls every few seconds
    text = item.first.inner_text()
    shots(page, "session-04-memory-indicator.png")
    shots(page, "session-04-memory-indicator-status-bar.png", page.locator(".jp-StatusBar-Widget").first)
    used = re.search(r"Mem:\s*([\d.]+)\s*/\s*([\d.]+)\s*(MB|GB)", text)
    assert used, f"the memory indicator shows no limit: {text!r}"
    limit = float(used[2]) * (1024**3 if used[3] == "GB" else 1024**2)
    assert abs(limit - BINDER_MEM_LIMIT) / BINDER_MEM_LIMIT < 0.1, text
    assert 50 < float(used[1]) * (1024 if used[3] == "GB" else 1), f"implausible memory in use: {text!r}"


def test_a_training_cell_says_how_much_of_its_budget_it_spent(page, shots, lab_server, student_repo):
    """Lab 06 trains against a clock with ``fit(epochs=10_000)``: one line per epoch, never "/10000".
    At smoke scale the lab is quiet, so this copy turns on the lines that lesson scale prints."""
    path = _copy_lab(student_repo, TRAINING_LAB, "clock", until="history = model.fit(")
    nb_path = student_repo / "labs" / path
    nb = harness.read(nb_path)
    fit = nb.cells[-1]
    assert "verbose=scale.pick(lesson=True, smoke=False)" in fit.source
    fit.source = fit.source.replace("verbose=scale.pick(lesson=True, smoke=False)", "verbose=True")
    nbformat.write(nb, nb_path)
    panel = _open(page, lab_server, path, "clock")
    _run_all(page)
    cell = panel.locator(".jp-CodeCell").last
    _wait_until_run(cell, 300)
    _dismiss_news(page)
    cell.locator(".jp-OutputArea").scroll_into_view_if_needed()
    shots(page, "session-05-training-progress.png")
    text = cell.locator(".jp-OutputArea").inner_text()
    assert re.search(r"^epoch 1 · \d+ s of the \d+ s budget · loss [\d.]+ · val_loss [\d.]+$", text, re.M), text
    assert "/10000" not in text and "Epoch 1/" not in text, text
    assert cell.locator(f".jp-OutputArea-output[data-mime-type='{STDERR}']").count() == 0, text
    errors = panel.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.error']")
    assert errors.count() == 0, errors.all_inner_texts()


def test_the_server_log_has_no_error(lab_server, page, student_repo):
    _, _, log = lab_server
    assert not list(student_repo.rglob("gradebook.db")), "the student's session created a gradebook"
    shutil.copy(log, SHOTS / "student-server.log")
    lines = log.read_text().splitlines()
    bad = [l for l in lines if re.match(r"\[(C|E) ", l) or "Traceback" in l or "Unwritable" in l]
    assert not bad, "\n".join(bad)
    assert any("validate_assignment" in l for l in lines)
