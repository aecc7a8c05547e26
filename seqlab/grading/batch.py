"""Grade a class: plan what needs grading, run it serially or on Dask, merge results as they come.

:func:`grade_class` is the room's entry point. Top-down:

1. **Plan.** Every ``submitted/<student>/<lab>/`` gets a content digest (its files, the released lab,
   its tests, the grading engine and settings). A submission whose digest the ledger
   (``autograded/.seqlab-ledger.jsonl``) already records as graded, and whose grades are in the
   gradebook, is kept as it is: an interrupted batch, run again, grades only what is left or changed.
2. **Run.** Each submission is a self-contained task (:mod:`.task`): graded in the grading process
   itself (``workers=0``), on a local Dask cluster of single-threaded worker processes
   (``workers=N``), or on an existing Dask cluster (``scheduler="tcp://host:8786"``). Dask's own
   machinery keeps the batch going: nannies restart a worker that died, a task it held is run again
   on another, and a submission involved in :data:`ALLOWED_FAILURES` + 1 worker deaths is reported
   FAILED (``KilledWorker``) while the rest go on.
3. **Merge.** The grading process is the only writer of the course: as each task completes
   (``as_completed``) its scores go into the gradebook in one transaction, its autograded notebook
   and feedback into their folders, and a line into the ledger, in that order. A crash of the grader
   loses only what was in flight. Kernel output and nbgrader's logs go to ``grading.log``; the
   console shows a progress bar (done / total / failed, time left) and the Dask dashboard's address.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import sys
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Optional

from .autograde import Result
from .task import CARRIED_ENV, Bundle, Outcome, digest_of, grade_bundle, lab_template, read_folder

#: Worker deaths a submission may be involved in before it is reported FAILED (Dask's
#: ``distributed.scheduler.allowed-failures``): a worker killed under it once costs a retry.
ALLOWED_FAILURES = 2
LEDGER = ".seqlab-ledger.jsonl"
LOG = "grading.log"
#: The modules whose code decides a grade: a change to any of them re-grades everything.
ENGINE = ("autograde.py", "kernel.py", "confine.py", "landlock.py", "preflight.py", "task.py")
#: Dask's housekeeping, cut down for tasks that are seconds long and spend them waiting on a kernel:
#: no statistical profiler (it samples every task thread every 10 ms), event-loop ticks every second
#: instead of every 20 ms, a system monitor every 2 s instead of 0.5 s: CPU a grading kernel on the
#: same cores gets instead. Work stealing stays: a lab's tasks wait on the worker that holds the
#: lab's template, and without stealing one worker graded a whole lab while the other sat idle.
#: Worker memory is still checked every 100 ms.
QUIET_DASK = {"distributed.admin.system-monitor.gil.enabled": False,
              "distributed.admin.system-monitor.interval": "2s",
              "distributed.admin.tick.interval": "1s",
              "distributed.worker.profile.enabled": False}
#: Settings that decide how fast, not what: not part of a submission's digest.
SPEED_ONLY_ENV = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS")


class Interrupted(Exception):
    """The batch was stopped (Ctrl-C) before its end; what was merged stays."""

    def __init__(self, done: int, left: int):
        super().__init__(f"{done} graded and saved, {left} left")
        self.done, self.left = done, left


@dataclass
class Plan:
    todo: list[Bundle] = field(default_factory=list)
    kept: dict[tuple[str, str], Result] = field(default_factory=dict)
    templates: dict[str, bytes] = field(default_factory=dict)
    order: list[tuple[str, str]] = field(default_factory=list)


def default_workers() -> int:
    """Worker processes for one machine: one per core, and about 2 GiB of memory for each."""
    import psutil

    return max(1, min(default_cores(), int(psutil.virtual_memory().available / 2**31)))


def grade_class(root: Path, labs: list[str], students: list[str], api, *, workers: int = 0,
                scheduler: Optional[str] = None, force: bool = False, cell_timeout: Optional[int] = None,
                quiet: bool = False) -> list[Result]:
    """Grade every ``submitted/<student>/<lab>/`` not yet graded as it is now; one Result each.

    Raises :class:`Interrupted` on Ctrl-C, after closing the cluster; what was merged stays merged."""
    env = {k: os.environ[k] for k in CARRIED_ENV if k in os.environ}
    if workers > 1 and not scheduler:
        env.update(thread_share(workers))
    plan = plan_batch(root, labs, students, api, env=env, force=force, cell_timeout=cell_timeout)
    say = (lambda *a: None) if quiet else print
    if plan.kept:
        say(f"{len(plan.kept)} submission(s) already graded and unchanged: kept")
    results = dict(plan.kept)
    with ExitStack() as stack:
        log = stack.enter_context(_grading_log(root))
        log.write(f"\n=== {_now()} grading {len(plan.todo)} submission(s), kept {len(plan.kept)}; "
                  f"workers={workers} scheduler={scheduler or '-'}\n")
        progress = stack.enter_context(_progress(len(plan.todo), quiet))
        try:
            if not plan.todo:
                outcomes = iter(())
            elif workers > 0 or scheduler:
                outcomes = stack.enter_context(_on_dask(plan, workers, scheduler, log, say))
            else:
                outcomes = _serially(plan)
            for bundle, outcome in outcomes:
                result, score = merge(root, api, bundle, outcome, log)
                results[(bundle.student, bundle.lab)] = result
                progress.advance(result, score, sum(outcome.seconds.values()))
        except KeyboardInterrupt:
            graded = len(results) - len(plan.kept)
            raise Interrupted(graded, len(plan.todo) - graded) from None
    return [results[key] for key in plan.order if key in results]


def thread_share(kernels: int) -> dict[str, str]:
    """The environment that gives each of ``kernels`` kernels on this machine its share of the cores."""
    threads = str(max(1, default_cores() // kernels))
    return {"TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": "1", "OMP_NUM_THREADS": threads}


def default_cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


# --- 1. plan -----------------------------------------------------------------------------------

def plan_batch(root: Path, labs: list[str], students: list[str], api, *, env: dict[str, str],
               force: bool = False, cell_timeout: Optional[int] = None) -> Plan:
    """What to grade: every submission whose digest the ledger does not record as graded."""
    from nbgrader.api import Gradebook, MissingEntry

    plan = Plan()
    ledger = {} if force else read_ledger(root)
    engine = Path(__file__).parent
    engine_files = {name: (engine / name).read_bytes() for name in ENGINE}
    engine_files["nbgrader_config.py"] = (root / "nbgrader_config.py").read_bytes()
    settings = json.dumps({"cell_timeout": cell_timeout,
                           "env": {k: v for k, v in sorted(env.items()) if k not in SPEED_ONLY_ENV}})
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        lab_digest, graded = {}, set()
        for lab in labs:
            try:
                duedate = str(gb.find_assignment(lab).duedate)
                graded |= {(s.student.id, lab) for s in gb.assignment_submissions(lab)}
            except MissingEntry:
                duedate = ""
            tests = (root / "source" / lab / f"{lab}.ipynb").read_bytes()
            lab_digest[lab] = digest_of({**read_folder(root / "release" / lab), "tests": tests, **engine_files},
                                        settings, duedate)
    for student in students:
        for lab in labs:
            folder = root / "submitted" / student / lab
            if not folder.is_dir():
                continue
            plan.order.append((student, lab))
            files = read_folder(folder)
            digest = digest_of(files, lab_digest[lab])
            entry = ledger.get((student, lab))
            if (entry and entry["digest"] == digest and entry["ok"] and (student, lab) in graded
                    and (root / "autograded" / student / lab / f"{lab}.ipynb").exists()):
                plan.kept[(student, lab)] = Result(student, lab, True, entry.get("message", ""), entry.get("notes", []))
                continue
            plan.todo.append(Bundle(student, lab, files, digest, cell_timeout=cell_timeout, env=env,
                                    tfds_data_dir=os.environ.get("TFDS_DATA_DIR")))
    for lab in sorted({b.lab for b in plan.todo}):
        plan.templates[lab] = lab_template(root, lab, api)
    return plan


def read_ledger(root: Path) -> dict[tuple[str, str], dict]:
    """The last ledger line of each (student, lab); a line cut short by a crash is ignored."""
    entries = {}
    path = root / "autograded" / LEDGER
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue
            entries[(entry["student"], entry["lab"])] = entry
    return entries


# --- 2. run ------------------------------------------------------------------------------------

def _serially(plan: Plan) -> Iterator[tuple[Bundle, Outcome]]:
    """Each task in this process, one after another (``workers=0``)."""
    for bundle in plan.todo:
        try:
            outcome = grade_bundle(plan.templates[bundle.lab], bundle)
        except Exception as exc:  # one student must never stop the batch
            outcome = Outcome(Result(bundle.student, bundle.lab, False, f"{type(exc).__name__}: {exc}"))
        yield bundle, outcome


@contextmanager
def _on_dask(plan: Plan, workers: int, scheduler: Optional[str], log, say) -> Iterator[Iterator]:
    """Tasks on a Dask cluster (local processes, or an existing scheduler); outcomes as they complete."""
    import dask
    from distributed import Client, LocalCluster, as_completed
    from distributed.scheduler import KilledWorker

    # worker-saturation 1.0: fewer tasks wait on a worker. Dask still counts a worker's death against
    # tasks assigned to it and not yet started: hence a second round for KilledWorker (outcomes()).
    with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
                          "distributed.scheduler.worker-saturation": 1.0,
                          **QUIET_DASK}), ExitStack() as stack:
        if scheduler:
            client = Client(scheduler, timeout="30s")
            where = f"the Dask cluster at {scheduler}"
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   silence_logs=logging.CRITICAL, dashboard_address=":8787")
            stack.callback(_close, cluster)
            client = Client(cluster)
            where = f"a local Dask cluster of {workers} worker process(es)"
        stack.callback(_close, client)
        _log_distributed_to(log)
        say(f"grading {len(plan.todo)} submission(s) on {where}"
            + (f"; dashboard: {client.dashboard_link}" if client.dashboard_link else ""))
        # A template is a task's result, not scattered data: a worker that dies with it costs a recompute.
        templates = {lab: client.submit(_identity, data, pure=False) for lab, data in plan.templates.items()}
        futures = {}
        for bundle in plan.todo:
            future = client.submit(grade_bundle, templates[bundle.lab], bundle, pure=False, retries=1,
                                   key=f"grade-{bundle.student}-{bundle.lab}-{bundle.digest[:12]}")
            futures[future] = bundle

        def outcomes() -> Iterator[tuple[Bundle, Outcome]]:
            again: set[tuple[str, str]] = set()
            done = as_completed(list(futures))
            for future in done:
                bundle = futures.pop(future)
                try:
                    outcome = future.result()
                except KilledWorker:
                    if (bundle.student, bundle.lab) not in again:
                        # Dask also holds a worker's death against tasks waiting on that worker: a
                        # submission gets one more round of its own before it is called the killer.
                        again.add((bundle.student, bundle.lab))
                        log.write(f"{bundle.student}/{bundle.lab}: its worker died {ALLOWED_FAILURES + 1} times; "
                                  "graded once more\n")
                        retry = client.submit(grade_bundle, templates[bundle.lab], bundle, pure=False, retries=1,
                                              key=f"grade-again-{bundle.student}-{bundle.lab}-{bundle.digest[:12]}")
                        futures[retry] = bundle
                        done.add(retry)
                        future.release()
                        continue
                    outcome = Outcome(Result(bundle.student, bundle.lab, False,
                                             f"its grading worker died {2 * (ALLOWED_FAILURES + 1)} times while grading it "
                                             "(killed, or out of memory): not graded"))
                except Exception as exc:
                    outcome = Outcome(Result(bundle.student, bundle.lab, False, f"{type(exc).__name__}: {exc}"))
                future.release()
                yield bundle, outcome

        try:
            yield outcomes()
        finally:
            if futures:
                client.cancel(list(futures))


def _identity(data: bytes) -> bytes:
    return data


def _close(what) -> None:
    """Close a client or a cluster without waiting long for workers that are restarting."""
    try:
        what.close(timeout=20)
    except Exception:  # closing must never turn a finished batch into a failure
        pass


def _log_distributed_to(log) -> None:
    """Dask's own messages (a worker that died, a task run again) go to grading.log, not the console."""
    handler = logging.StreamHandler(log)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
    for name in ("distributed", "dask"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False


# --- 3. merge ----------------------------------------------------------------------------------

def merge(root: Path, api, bundle: Bundle, outcome: Outcome, log) -> tuple[Result, Optional[tuple[float, float]]]:
    """One outcome into the course: gradebook (one transaction), files, then the ledger line."""
    result = outcome.result
    log.write(f"--- {_now()} {bundle.student}/{bundle.lab}: {'graded' if result.ok else 'FAILED: ' + result.message}"
              f" {json.dumps({k: round(v, 2) for k, v in outcome.seconds.items()})} on {outcome.worker or '-'}"
              f" cpu {json.dumps(outcome.cpu)}\n")
    if outcome.log.strip():
        log.write(outcome.log.rstrip() + "\n")
    log.flush()
    score = None
    if result.ok:
        score, manual = _into_gradebook(api, bundle, outcome)
        _replace_folder(root / "autograded" / bundle.student / bundle.lab, outcome.autograded)
        _replace_folder(root / "feedback" / bundle.student / bundle.lab, outcome.feedback)
        if manual:  # the worker's feedback could not show the grader's own marks: write it here
            out = api.generate_feedback(bundle.lab, bundle.student, force=True)
            if not out["success"]:
                result.notes.append("warning: feedback could not be written (see grading.log)")
                log.write((out.get("log") or "") + (out.get("error") or "") + "\n")
    with open(root / "autograded" / LEDGER, "a") as f:
        f.write(json.dumps({"student": bundle.student, "lab": bundle.lab, "digest": bundle.digest,
                            "ok": result.ok, "message": result.message, "notes": result.notes,
                            "when": _now()}) + "\n")
    return result, score


def _into_gradebook(api, bundle: Bundle, outcome: Outcome) -> tuple[tuple[float, float], bool]:
    """What nbgrader's autograde writes (``SaveAutoGrades``, ``AssignLatePenalties``), from the
    scores the worker's nbgrader saved; manual grades already given are kept, as nbgrader keeps them.
    Returns the submission's (score, max score) and whether it holds any manual mark."""
    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import AssignLatePenalties

    late = AssignLatePenalties(parent=api)
    late.init_plugin()
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        gb.update_or_create_student(bundle.student)
        stamp = {"timestamp": datetime.fromisoformat(outcome.timestamp)} if outcome.timestamp else {}
        sub = gb.update_or_create_submission(bundle.lab, bundle.student, **stamp)
        manual = False
        for nb in sub.notebooks:
            saved = outcome.scores.get(nb.name, {})
            for grade in nb.grades:
                grade.auto_score = saved.get("grades", {}).get(grade.name)
                grade.needs_manual_grade = grade.manual_score is not None or grade.auto_score is None
                manual |= grade.manual_score is not None or bool(grade.extra_credit)
            for comment in nb.comments:
                comment.auto_comment = saved.get("comments", {}).get(comment.name)
                manual |= bool(comment.manual_comment)
        gb.db.flush()
        for nb in sub.notebooks:
            nb.late_submission_penalty = None
            if sub.total_seconds_late > 0:
                penalty = late.plugin_inst.late_submission_penalty(bundle.student, nb.score, sub.total_seconds_late)
                if penalty is not None:
                    nb.late_submission_penalty = late._check_late_penalty(nb, penalty)
        gb.db.commit()
        return (sub.score, sub.max_score), manual


def _replace_folder(folder: Path, files: dict[str, bytes]) -> None:
    """``folder`` holds exactly ``files`` afterwards; built aside, then swapped in."""
    fresh = folder.with_name(f".{folder.name}.new")
    shutil.rmtree(fresh, ignore_errors=True)
    for name, data in files.items():
        (fresh / name).parent.mkdir(parents=True, exist_ok=True)
        (fresh / name).write_bytes(data)
    fresh.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(folder, ignore_errors=True)
    fresh.rename(folder)


# --- what the instructor sees ------------------------------------------------------------------

@contextmanager
def _grading_log(root: Path):
    (root / "autograded").mkdir(exist_ok=True)
    with open(root / LOG, "a") as f:
        yield f


class _Lines:
    """Progress as one line per submission (a log, CI, a pipe)."""

    def __init__(self, total: int):
        self.total, self.done, self.failed, self.start = total, 0, 0, time.time()

    def advance(self, result: Result, score, seconds: float) -> None:
        self.done += 1
        self.failed += not result.ok
        left = (time.time() - self.start) / self.done * (self.total - self.done)
        what = f"{score[0]:g}/{score[1]:g}" if score else "FAILED"
        print(f"[{self.done}/{self.total}] {result.student}/{result.lab}: {what} ({seconds:.0f} s)"
              f" · {self.failed} failed · {_duration(left)} left", flush=True)


class _Bar:
    """Progress as a live bar in a terminal (rich)."""

    def __init__(self, total: int):
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        self.progress = Progress(TextColumn("grading"), BarColumn(), MofNCompleteColumn(),
                                 TextColumn("· {task.fields[failed]} failed ·"), TimeElapsedColumn(),
                                 TextColumn("· left"), TimeRemainingColumn(), TextColumn("{task.fields[last]}"))
        self.task = self.progress.add_task("grading", total=total, failed=0, last="")
        self.failed = 0

    def advance(self, result: Result, score, seconds: float) -> None:
        self.failed += not result.ok
        what = f"{score[0]:g}/{score[1]:g}" if score else "FAILED"
        self.progress.update(self.task, advance=1, failed=self.failed, last=f"{result.student}/{result.lab} {what}")


@contextmanager
def _progress(total: int, quiet: bool):
    if quiet or not total:
        yield _Quiet()
    elif sys.stdout.isatty():
        bar = _Bar(total)
        with bar.progress:
            yield bar
    else:
        yield _Lines(total)


class _Quiet:
    def advance(self, *args) -> None:
        pass


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} min"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
