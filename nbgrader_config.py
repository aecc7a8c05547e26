"""nbgrader configuration for the seqlab course (the repository root is the course directory)."""
import os

c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

# --- the course -----------------------------------------------------------------------------
c.CourseDirectory.course_id = "seqlab"
# The folder holding this file is the course root, wherever the repository is cloned (and when
# the tests copy the course into a temporary directory).
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", "*.keras",
                            ".preflight"]

# --- execution ------------------------------------------------------------------------------
# Grading runs at smoke scale (nbgrader sets NBGRADER_EXECUTION, which seqlab.scale reads), so
# a cell takes seconds. The limit is per cell and sized for the slowest cell at *lesson* scale
# (a full training run), so that an instructor can also execute a notebook for real with it.
# A student's infinite loop costs this long and then only that cell fails.
c.Execute.timeout = 600
c.Execute.startup_timeout = 120
c.Execute.interrupt_on_timeout = True
# After a cell's reply, wait this long for its last output: nbgrader's 4 s default fails whole
# submissions on a busy 2-core machine.
c.Execute.iopub_timeout = 30
# When the last cell is done the kernel is killed, not asked to exit: a graceful exit waits about a
# second per submission for TensorFlow to tear itself down, for nothing a grade needs. Killing is the
# path every confined kernel is built for (the launcher's process group goes, the sandbox dies with
# bwrap, the kernel's cgroup is emptied; tests/grading/test_confinement.py checks none survives).
c.Execute.shutdown_kernel = "immediate"

# nbgrader scores a test cell 0 if it wrote *anything* to stderr. In a grading kernel Python
# warnings (Keras' about the student's own model among them) go to the cell's stdout, so the student
# reads them in their feedback and loses nothing for them; DropStderrNoise (seqlab/grading/kernel.py)
# removes only TensorFlow's start-up and runtime noise lines from stderr. Anything else there is the
# student's own doing and is scored as nbgrader scores it.

# --- grading --------------------------------------------------------------------------------
# A student who deleted a test cell gets it back (and is graded on it) instead of failing.
c.OverwriteCells.add_missing_cells = True

# nbgrader's pipeline with seqlab's hardening (see seqlab/grading/kernel.py): the kernel runs with a
# memory limit in a scratch directory, monkeypatched test machinery is restored before each test
# cell, and a test cell's last value is never read as a (possibly larger-than-max) score.
c.Autograde.autograde_preprocessors = [
    "seqlab.grading.kernel.SandboxedExecute",
    "seqlab.grading.kernel.DropStderrNoise",
    "seqlab.grading.kernel.DropTestCellResults",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]

# Feedback must never show hidden tests: not in cell sources, and not quoted in tracebacks.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "seqlab.grading.kernel.ClearHiddenTracebacks",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
