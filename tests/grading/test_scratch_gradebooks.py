"""A task's scratch gradebook skips SQLite's fsync; the course's own gradebook never does."""
from nbgrader.api import Gradebook

from seqlab.grading.task import scratch_gradebooks


def _synchronous(gb: Gradebook) -> int:
    return gb.db.execute(__import__("sqlalchemy").text("PRAGMA synchronous")).scalar()


def test_only_gradebooks_in_the_scratch_folder_skip_the_disk_sync(tmp_path):
    scratch, course = tmp_path / "seqlab-task-x", tmp_path / "course"
    scratch.mkdir()
    course.mkdir()
    with scratch_gradebooks(scratch):
        with Gradebook(f"sqlite:///{scratch / 'gradebook.db'}") as gb:
            gb.add_student("a")
            assert _synchronous(gb) == 0, "a scratch gradebook: synchronous=OFF"
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            gb.add_student("a")
            assert _synchronous(gb) == 2, "the course's gradebook keeps SQLite's default (FULL)"
    with Gradebook(f"sqlite:///{scratch / 'gradebook.db'}") as gb:
        assert [s.id for s in gb.students] == ["a"], "what was committed is there"
        assert _synchronous(gb) == 2, "outside the task, nothing is changed"


def test_the_schema_version_read_in_process_is_the_one_nbgrader_stamps():
    """Every new gradebook (a lab template's) is stamped with the version nbgrader's ``alembic heads``
    command prints (nbgrader.api.get_alembic_version): the grader reads it from the same migration
    scripts without starting that command."""
    import os
    import subprocess
    import sys

    from nbgrader.dbutil import _temp_alembic_ini

    from seqlab.grading.task import alembic_head

    alembic = os.path.join(os.path.dirname(sys.executable), "alembic")  # this environment's command
    with _temp_alembic_ini("sqlite:////tmp/gradebook.db") as ini:  # as nbgrader calls it
        printed = subprocess.check_output([alembic, "-c", ini, "heads"]).decode()
    assert alembic_head() == printed.split("\n")[0].split(" ")[0]


def test_a_lab_template_gradebook_carries_that_version(tmp_path):
    from sqlalchemy import text

    from seqlab.grading.task import _alembic_head_once, alembic_head

    _alembic_head_once()
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}") as gb:
        assert gb.db.execute(text("SELECT version_num FROM alembic_version")).scalar() == alembic_head()
