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

# nbgrader scores a test cell 0 if it wrote *anything* to stderr, and IgnorePattern drops a stderr
# chunk the pattern finds. The pattern only matches a chunk made *entirely* of start-up and runtime
# noise that is never the student's doing: TensorFlow's C++ log lines (glog format), absl's
# start-up line, CPU-feature and oneDNN notices, GPU-driver probes, and tf.function retracing
# notices. Anything else on stderr - a Python warning raised by Keras about the student's own model
# (e.g. "You are using a softmax over axis -1 of a tensor of shape (None, 1)") - stays, so the
# student reads it in their feedback (and nbgrader scores that cell 0, as it does any stderr).
_NOISE_LINE = (
    r"(?:[IWEF]\d{4} [^\n]*"                                     # I1206 12:00:00.000 123 file.cc:12] ...
    r"|WARNING: All log messages before absl::InitializeLog\(\)[^\n]*"
    r"|WARNING:(?:tensorflow|absl):[^\n]*(?:retracing|tf\.function)[^\n]*"
    r"|[^\n]*(?:oneDNN custom operations|TF_ENABLE_ONEDNN_OPTS|cpu_feature_guard"
    r"|This TensorFlow binary is optimized|rebuild TensorFlow with the appropriate compiler flags"
    r"|Unable to register cu(?:DNN|FFT|BLAS) factory|computation placer already registered"
    r"|failed call to cuInit|Could not find cuda drivers|TF-TRT Warning)[^\n]*"
    r"|[ \t]*)"                                                   # blank lines between them
)
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = rf"\A(?>{_NOISE_LINE}(?:\n|\Z))+\Z"  # atomic: linear time on any chunk

# --- grading --------------------------------------------------------------------------------
# A student who deleted a test cell gets it back (and is graded on it) instead of failing.
c.OverwriteCells.add_missing_cells = True

# nbgrader's pipeline with seqlab's hardening (see seqlab/grading/kernel.py): the kernel runs with a
# memory limit in a scratch directory, monkeypatched test machinery is restored before each test
# cell, and a test cell's last value is never read as a (possibly larger-than-max) score.
c.Autograde.autograde_preprocessors = [
    "seqlab.grading.kernel.SandboxedExecute",
    "nbgrader.preprocessors.IgnorePattern",
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
