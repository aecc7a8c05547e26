"""``make grade`` ends with the class report; a report that fails prints one warning and never
changes grading's exit code. Grading itself is replaced by stand-ins: only the hook is under test."""
import pytest

from seqlab.grading import autograde, cli, report


@pytest.fixture
def grading_stubbed(monkeypatch, tmp_path):
    (tmp_path / "submitted" / "ann" / "lab").mkdir(parents=True)
    monkeypatch.setattr(cli, "generate_release", lambda root, labs, api, **how: [])
    monkeypatch.setattr(cli, "grade_class", lambda root, labs, students, api, **options: [autograde.Result("ann", "lab", True)])
    monkeypatch.setattr(cli, "collect", lambda root, results: [])
    monkeypatch.setattr(cli, "write_csv", lambda path, rows: None)
    monkeypatch.setattr(cli, "feedback", lambda root, results, api: [])
    return tmp_path


def test_grading_prints_the_report_path_last(grading_stubbed, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(report, "write_report", lambda root, labs: calls.append((root, labs)) or root / "r.html")
    assert cli._release_and_grade(grading_stubbed, ["lab"], api=None, release_only=False, options={}) == 0
    assert calls == [(grading_stubbed, ["lab"])]
    assert capsys.readouterr().out.rstrip().splitlines()[-1] == f"class report: {grading_stubbed / 'r.html'}"


def test_a_failing_report_is_one_warning_and_grading_still_succeeds(grading_stubbed, monkeypatch, capsys):
    def broken(root, labs):
        raise RuntimeError("disk full")
    monkeypatch.setattr(report, "write_report", broken)
    assert cli._release_and_grade(grading_stubbed, ["lab"], api=None, release_only=False, options={}) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("warning: no class report (RuntimeError: disk full)")
