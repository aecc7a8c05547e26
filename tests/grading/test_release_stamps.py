"""``make grade`` runs nbgrader's generate_assignment only for a lab whose inputs changed since it was
last released (seconds a lab on every run): a change to its source, its release, the course's
nbgrader config or the gradebook releases it again."""
import nbformat

import harness
from seqlab.grading.course import api_for, generate_release

LAB = "01-tokenization"


def test_a_lab_is_released_again_only_when_what_it_is_made_of_changed(tmp_path):
    course = harness.make_course(tmp_path, [LAB])
    api = api_for(course)
    assert generate_release(course, [LAB], api, only_changed=True) == [LAB], "first release"
    assert generate_release(course, [LAB], api, only_changed=True) == [], "nothing changed"

    source = course / "source" / LAB / f"{LAB}.ipynb"
    nb = nbformat.read(source, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("One more remark."))
    nbformat.write(nb, source)
    assert generate_release(course, [LAB], api, only_changed=True) == [LAB], "source changed"
    assert "One more remark." in (course / "release" / LAB / f"{LAB}.ipynb").read_text()
    assert generate_release(course, [LAB], api, only_changed=True) == []

    (course / "release" / LAB / f"{LAB}.ipynb").write_text("{}")
    assert generate_release(course, [LAB], api, only_changed=True) == [LAB], "release edited by hand"
    assert "One more remark." in (course / "release" / LAB / f"{LAB}.ipynb").read_text()

    (course / "gradebook.db").unlink()
    assert generate_release(course, [LAB], api, only_changed=True) == [LAB], "gradebook gone"
    assert generate_release(course, [LAB], api) == [LAB], "make release always releases"


def test_a_course_copied_whole_keeps_its_stamps(tmp_path):
    import shutil

    course = harness.make_course(tmp_path / "here", [LAB])
    assert generate_release(course, [LAB], api_for(course), only_changed=True) == [LAB]
    moved = tmp_path / "there" / "course"
    shutil.copytree(course, moved)  # stamps (autograded/), gradebook and all, to another path
    assert generate_release(moved, [LAB], api_for(moved), only_changed=True) == [], \
        "the same course elsewhere: nothing to release"
    (moved / "gradebook.db").unlink()
    assert generate_release(moved, [LAB], api_for(moved), only_changed=True) == [LAB]
