"""nbgrader's settings for the Validate button (checks a notebook before you hand it in).

Validate runs the whole notebook at smoke scale (nbgrader sets NBGRADER_EXECUTION, which
seqlab.scale reads): seconds per cell, but give a busy machine time to start TensorFlow.
"""
c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

c.Execute.timeout = 300
c.Execute.startup_timeout = 120
c.Execute.iopub_timeout = 30
