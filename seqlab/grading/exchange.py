"""nbgrader's exchange for a JupyterHub class: release a lab, collect submissions, return feedback.

    python -m seqlab.grading.exchange release  --lab LAB [--exchange DIR] [--due "YYYY-MM-DD HH:MM"]
    python -m seqlab.grading.exchange collect  --lab LAB [--exchange DIR]
    python -m seqlab.grading.exchange feedback --lab LAB [--exchange DIR]

(``make release-exchange``, ``make collect``, ``make return-feedback``; grading in between is
``make grade LAB=...``.) Every step is nbgrader's own (``release_assignment``, ``collect --update``,
``release_feedback``) run with the course's ``nbgrader_config.py`` and ``Exchange.root`` set to
``--exchange`` (default ``/usr/local/share/nbgrader/exchange``, nbgrader's own default). The
exchange directory is shared by every user of the hub: ``release`` creates it world-writable
(``0o777``, as nbgrader's demo set-up does) when it is missing; nbgrader sets the permissions of
the course folders inside it. Students need only ``Exchange.root`` and the course id (``seqlab``)
in their own nbgrader configuration; :func:`student_config` writes that file.
"""
from __future__ import annotations

import argparse
import datetime
import os
import sys
from pathlib import Path
from typing import Optional

from .course import api_for, generate_release

DEFAULT_EXCHANGE = Path("/usr/local/share/nbgrader/exchange")


class ExchangeError(RuntimeError):
    """An nbgrader exchange step failed; the message holds nbgrader's log."""


def exchange_api(root: Path, exchange: Path):
    """The course's ``NbGraderAPI`` with ``Exchange.root`` pointed at ``exchange``."""
    return api_for(root, {"Exchange": {"root": str(exchange)}})


def _checked(step: str, out: dict) -> str:
    if not out["success"]:
        raise ExchangeError(f"{step} failed:\n{out.get('log', '')}\n{out.get('error') or ''}")
    return out.get("log", "")


def set_due_date(root: Path, lab: str, due: datetime.datetime) -> None:
    """Record ``lab``'s due date (naive UTC, as nbgrader stores it) in the course's gradebook;
    ``collect`` and ``autograde`` then mark later submissions late."""
    from nbgrader.api import Gradebook

    if due.tzinfo is not None:
        due = due.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    with Gradebook(api_for(root).coursedir.db_url) as gb:
        gb.update_or_create_assignment(lab, duedate=due)


def release(root: Path, lab: str, exchange: Path, due: Optional[datetime.datetime] = None) -> str:
    """``generate_assignment`` then ``release_assignment`` of ``lab`` into ``exchange``; nbgrader's log."""
    if not exchange.exists():
        exchange.mkdir(parents=True)
        exchange.chmod(0o777)
    api = exchange_api(root, exchange)
    generate_release(root, [lab], api)
    if due is not None:
        set_due_date(root, lab, due)
    # release_assignment refuses to overwrite a lab already released: take it back first.
    if (exchange / api.coursedir.course_id / "outbound" / lab).exists():
        _checked("unrelease", api.unrelease(lab))
    return _checked("release_assignment", api.release_assignment(lab))


def set_aside_forged(root: Path, lab: str, exchange: Path, course_id: str = "seqlab") -> list[str]:
    """Move every submission of ``lab`` whose owner is not the student its name claims out of the
    exchange, to ``unplaced/exchange/``; one line per submission moved.

    A student can write any name into the exchange's inbound folder, and nbgrader's ``collect`` only
    logs a warning for ``<classmate>+<lab>+<later time>+...`` and collects it as the classmate's
    latest submission. The owner of the folder is the Unix user who submitted it."""
    import pwd
    import shutil

    inbound = exchange / course_id / "inbound"
    moved = []
    for entry in sorted(inbound.glob(f"*+{lab}+*")) if inbound.is_dir() else []:
        claimed = entry.name.split("+", 1)[0]
        try:
            owner = pwd.getpwuid(entry.stat().st_uid).pw_name
        except KeyError:
            owner = f"uid {entry.stat().st_uid}"
        if owner != claimed:
            target = root / "unplaced" / "exchange" / entry.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(str(entry), target)
            moved.append(f"NOT COLLECTED {entry.name}: submitted by {owner}, not by {claimed}; "
                         f"moved to {target.relative_to(root)}")
    return moved


def collect(root: Path, lab: str, exchange: Path) -> str:
    """``collect --update``: each student's latest submission into ``submitted/<student>/<lab>/``,
    after setting aside submissions made in another student's name (:func:`set_aside_forged`)."""
    api = exchange_api(root, exchange)
    forged = set_aside_forged(root, lab, exchange, api.coursedir.course_id)
    log = _checked("collect", api.collect(lab, update=True))
    return "\n".join([*forged, log])


def return_feedback(root: Path, lab: str, exchange: Path) -> str:
    """``release_feedback`` of every ``feedback/<student>/<lab>/`` (written by ``make grade``)."""
    return _checked("release_feedback", exchange_api(root, exchange).release_feedback(lab))


def student_config(exchange: Path, course_id: str = "seqlab") -> str:
    """The ``~/.jupyter/nbgrader_config.py`` a student's server needs to use this exchange."""
    return (f"c = get_config()  # noqa: F821\nc.Exchange.root = {str(exchange)!r}\n"
            f"c.CourseDirectory.course_id = {course_id!r}\n")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=["release", "collect", "feedback"])
    parser.add_argument("--lab", required=True)
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="course root (default: .)")
    parser.add_argument("--exchange", type=Path, default=Path(os.environ.get("EXCHANGE") or DEFAULT_EXCHANGE))
    parser.add_argument("--due", type=datetime.datetime.fromisoformat,
                        help="due date, UTC, e.g. '2026-12-24 23:59' (release only)")
    args = parser.parse_args(argv)
    root, exchange = args.root.resolve(), args.exchange.resolve()
    try:
        if args.step == "release":
            log = release(root, args.lab, exchange, args.due)
        elif args.step == "collect":
            log = collect(root, args.lab, exchange)
        else:
            log = return_feedback(root, args.lab, exchange)
    except ExchangeError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(log.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
