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
