"""A JupyterHub student's JupyterLab, in a real browser: the Assignments tab fetches, Validate and Submit work.

The JupyterHub way of running the class (README, "On a JupyterHub"): the instructor releases Lab 01
into nbgrader's exchange; a student opens *Nbgrader > Assignment List*, sees the lab under Released
assignments, fetches it, opens the notebook, types one exercise's answer, presses Validate (which
saves and runs the notebook and reports the next, blank exercise's failing test), and submits it
from the same tab; the submission in the exchange holds what was typed.

Who is real and what is simulated:

- The instructor is root: ``seqlab.grading.exchange.release`` (``make release-exchange``) of Lab 01
  from a throw-away course into a temporary exchange directory.
- The student is a real Unix user made for this test (``useradd``, home ``0700``, deleted at the
  end), and their JupyterLab server runs *as that user* in their home, as a hub's single-user
  server does, through ``test_exchange.Students`` (``runuser`` in a mount namespace that shows the
  interpreter under ``/root`` and nothing else of it). No JupyterHub runs: the browser talks to the
  single-user server directly, with a token.
- The server's settings are the hub's: ``hub/jupyter-config/`` of this repository, copied into a
  world-readable folder that stands for the hub's ``/etc/jupyter`` (``JUPYTER_CONFIG_PATH``). It
  keeps nbgrader's assignment list and Validate, and locks Formgrader, Create Assignment and the
  course list. The only per-student setting is ``Exchange.root`` in ``~/.jupyter/nbgrader_config.py``
  (the temporary exchange instead of the hub's default path).
- The typed answer is the reference solution of ``build_vocab``, which the test (root) reads from
  ``source/``; it is inserted into the cell's editor as a paste would.
- The browser is headless Chromium from Debian (``/usr/bin/chromium``) driven by Playwright from
  PyPI (no browser download). Where either is missing, the browser tests are skipped with the
  reason; where the test is not root, everything is skipped (it needs a Unix user).

Screenshots go to the test's temporary folder and to ``/tmp/seqlab-shots/exchange-*.png``.
"""
from __future__ import annotations

import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import harness
from seqlab.grading import exchange as hub
from test_exchange import LAB, Students, _answers, _missing_prerequisite

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path("/tmp/seqlab-shots")
HUB_CONFIG = harness.ROOT / "hub" / "jupyter-config"
LOCKED_OFF = {"@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment",
              "@jupyter/nbgrader:course-list"}
INSTRUCTOR_TOOLS = ("Formgrader", "Create Assignment", "Course List", "Manage Students", "Manual Grading")
STAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def _browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (Debian: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install playwright)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def student():
    """(Students, name): one real Unix student, removed afterwards."""
    reason = _missing_prerequisite()
    if reason:
        pytest.skip(reason)
    name = f"sl{secrets.token_hex(3)}b1"
    staging = Path(tempfile.mkdtemp(prefix="seqlab-pyenv-"))
    subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", "--user-group", name],
                   check=True, capture_output=True)
    try:
        Path(pwd.getpwnam(name).pw_dir).chmod(0o700)
        yield Students([name], staging), name
    finally:
        subprocess.run(["userdel", "--remove", name], capture_output=True)
        staging.rmdir()


@pytest.fixture(scope="module")
def released(tmp_path_factory):
    """The instructor's side: (exchange, the hub's /etc/jupyter) with Lab 01 released."""
    shared = Path(tempfile.mkdtemp(prefix="seqlab-hub-"))
    shared.chmod(0o755)
    exchange, etc_jupyter = shared / "exchange", shared / "etc-jupyter"
    course = harness.make_course(tmp_path_factory.mktemp("instructor"), [LAB])
    hub.release(course, LAB, exchange)
    assert (exchange / "seqlab" / "outbound" / LAB / f"{LAB}.ipynb").is_file()
    shutil.copytree(HUB_CONFIG, etc_jupyter, ignore=shutil.ignore_patterns("__pycache__"))
    for path in [etc_jupyter, *etc_jupyter.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    yield exchange, etc_jupyter
    shutil.rmtree(shared)


@pytest.fixture(scope="module")
def lab_server(student, released, tmp_path_factory):
    """The student's single-user JupyterLab, run as the student: (base URL, token, log file)."""
    students, name = student
    exchange, etc_jupyter = released
    home = students.home(name)
    config = home / ".jupyter" / "nbgrader_config.py"
    config.parent.mkdir()
    config.write_text(f"c = get_config()  # noqa: F821\nc.Exchange.root = {str(exchange)!r}\n")
    for path in (config.parent, config):
        shutil.chown(path, name, name)
    port, token = _free_port(), secrets.token_hex(16)
    env = {"JUPYTER_CONFIG_PATH": str(etc_jupyter), "SEQLAB_SCALE": "smoke", "MPLBACKEND": "Agg",
           "TF_CPP_MIN_LOG_LEVEL": "2", "TFDS_DATA_DIR": os.environ.get("TFDS_DATA_DIR", "")}
    argv = students.command(name, "jupyter", "lab", f"--ServerApp.root_dir={home}", "--ServerApp.ip=127.0.0.1",
                            f"--ServerApp.port={port}", "--ServerApp.open_browser=False",
                            f"--IdentityProvider.token={token}", env=env)
    log = tmp_path_factory.mktemp("server") / "server.log"
    with open(log, "w") as out:
        server = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(180):
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
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        SHOTS.mkdir(exist_ok=True)
        shutil.copy(log, SHOTS / "exchange-server.log")


@pytest.fixture(scope="module")
def page(lab_server):
    reason = _browser_missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    base, token, _ = lab_server
    with sync_playwright() as p:
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


def _get(base: str, token: str, path: str):
    return urllib.request.urlopen(f"{base}/{path}{'&' if '?' in path else '?'}token={token}", timeout=60)


def test_the_hub_server_lists_the_lab_and_locks_the_instructor_tools(lab_server):
    base, token, _ = lab_server
    plugins = json.load(_get(base, token, "lab/api/plugins"))
    assert LOCKED_OFF <= set(plugins["lockRules"])
    assert "@jupyter/nbgrader:assignment-list" in plugins["lockRules"]  # locked on: cannot be switched off
    with pytest.raises(urllib.error.HTTPError, match="404"):  # its server extension is off
        _get(base, token, "formgrader")
    listed = json.load(_get(base, token, "assignments?course_id=seqlab"))
    assert listed["success"], listed
    assert [(a["assignment_id"], a["status"]) for a in listed["value"]] == [(LAB, "released")]


def _section(tab, list_id: str):
    return tab.locator(f"#{list_id}")


def test_fetch_validate_submit_in_the_assignments_tab(page, shots, lab_server, student, released):
    students, name = student
    exchange, _ = released
    # Nbgrader > Assignment List
    page.click(".lm-MenuBar-itemLabel:text-is('Nbgrader')")
    menu = page.locator(".lm-Menu")
    menu.wait_for()
    items = menu.inner_text()
    shots(page, "exchange-01-nbgrader-menu.png")
    assert "Assignment List" in items and not any(tool in items for tool in INSTRUCTOR_TOOLS), items
    menu.locator(".lm-Menu-itemLabel:text-is('Assignment List')").click()
    released_list = _section(page, "released_assignments_list")
    released_list.locator(f"text={LAB}").wait_for(timeout=60_000)
    shots(page, "exchange-02-released.png")
    assert "seqlab" in released_list.inner_text()

    released_list.locator("button:has-text('Fetch')").click()
    fetched = _section(page, "fetched_assignments_list")
    fetched.locator(f"text={LAB}").first.wait_for(timeout=60_000)
    page.wait_for_function("!document.querySelector('#released_assignments_list').innerText.includes("
                           f"'{LAB}')", timeout=30_000)
    shots(page, "exchange-03-fetched.png")
    notebook = students.home(name) / LAB / f"{LAB}.ipynb"
    assert notebook.stat().st_uid == pwd.getpwnam(name).pw_uid  # fetched by the student's own server
    assert "BEGIN SOLUTION" not in notebook.read_text()

    # The fetched lab's notebooks: expand the lab, open its notebook.
    fetched.locator(f"text={LAB}").first.click()
    link = fetched.locator(f"a:has-text('{LAB}.ipynb'), a:has-text('{LAB}')").last
    link.wait_for(timeout=30_000)
    shots(page, "exchange-04-fetched-expanded.png")
    link.click()
    page.wait_for_function(
        "p => document.querySelector('#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current')?.title.includes(p)",
        arg=f"{LAB}.ipynb", timeout=90_000)
    panel = page.locator(".jp-NotebookPanel:visible")
    panel.wait_for(timeout=90_000)
    button = panel.locator("button:has-text('Validate'), .jp-ToolbarButtonComponent:has-text('Validate')").first
    button.wait_for(timeout=90_000)
    panel.locator("h1:has-text('Lab 01')").wait_for(timeout=60_000)  # rendered, not still loading
    page.locator(".jp-Toolbar-kernelName:has-text('Python 3')").first.wait_for(timeout=90_000)
    shots(page, "exchange-05-notebook.png")

    # One exercise answered, typed into its cell (the reference answer; the others stay blank).
    answer = _answers(("build_vocab",))["build_vocab"]
    index = next(i for i, c in enumerate(harness.read(notebook).cells)
                 if c.metadata.get("nbgrader", {}).get("grade_id") == "build_vocab")
    cell = panel.locator(".jp-Notebook .jp-Cell").nth(index)
    cell.scroll_into_view_if_needed()
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(answer)  # as pasted: no auto-indent or bracket closing
    shots(page, "exchange-06-answer-typed.png")
    button.click()  # Validate saves the notebook first
    dialog = page.locator(".jp-Dialog")
    dialog.wait_for(timeout=300_000)
    page.wait_for_function("!document.querySelector('.jp-Dialog')?.innerText.includes('Validating')",
                           timeout=300_000)
    shots(page, "exchange-07-validate.png")
    text = dialog.inner_text()
    # Validate ran the saved notebook: build_vocab's test passes, the blank encode's test fails.
    assert "The following cell failed" in text and "NotImplementedError" in text, text
    assert 'encode("i have books", vocab)' in text, text
    assert "build_vocab must return a dict" not in text, text
    dialog.locator("button:has-text('Ok')").click()

    # Back to the Assignments tab: Submit.
    page.locator("#jp-main-dock-panel .lm-TabBar-tab:has-text('Assignments')").click()
    fetched.locator("button:has-text('Submit')").click()
    submitted = _section(page, "submitted_assignments_list")
    submitted.locator(f"text={LAB}").first.wait_for(timeout=60_000)
    page.wait_for_function("p => new RegExp(p).test(document.querySelector('#submitted_assignments_list').innerText)",
                           arg=STAMP.pattern, timeout=30_000)
    shots(page, "exchange-08-submitted.png")
    stamp = STAMP.search(submitted.inner_text())[0]
    inbound = sorted(p.name for p in (exchange / "seqlab" / "inbound").iterdir())
    assert len(inbound) == 1 and inbound[0].startswith(f"{name}+{LAB}+{stamp}"), (inbound, stamp)
    handed_in = harness.read(exchange / "seqlab" / "inbound" / inbound[0] / f"{LAB}.ipynb")
    assert handed_in.cells[index].source == answer  # what was typed, saved, validated and submitted


def test_the_server_log_has_no_error(lab_server, page):
    _, _, log = lab_server
    lines = log.read_text().splitlines()
    bad = [l for l in lines if re.match(r"\[(C|E) ", l) or "Traceback" in l or "Unwritable" in l]
    assert not bad, "\n".join(bad)
    assert any("validate_assignment" in l for l in lines)
