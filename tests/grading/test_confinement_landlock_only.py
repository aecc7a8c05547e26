"""test_confinement.py's attack suite with namespaces turned off: Landlock (ABI >= 6), rlimits, the
pids cgroup or RLIMIT_NPROC, and the supervisor alone — what a machine without unprivileged user
namespaces (recent Ubuntu's default) gets. UDP is the one thing Landlock does not cover (ABI 7)."""
import pytest

from confinement import grade_attacks
from seqlab.grading import confine, landlock
from test_confinement import (  # noqa: F401 (the same tests, on this module's batch)
    test_each_attack_gets_exactly_its_honest_score, test_no_connection_left_a_kernel,
    test_no_process_of_an_attack_outlives_the_batch, test_nothing_outside_the_scratch_directories_changed,
    test_the_batch_completes_with_a_row_for_everyone, test_the_classmate_graded_after_every_attack_keeps_full_marks,
    test_the_fork_bomb_and_the_huge_file_were_stopped)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    if landlock.abi() < confine.MIN_ABI_ALONE:
        pytest.skip(f"Landlock ABI {landlock.abi()} < {confine.MIN_ABI_ALONE}: the grader refuses this mode")
    with pytest.MonkeyPatch.context() as mp:
        return grade_attacks(tmp_path_factory.mktemp("attacks-landlock"), "landlock-only", mp)
