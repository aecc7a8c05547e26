"""nbgrader's settings for a student's server on the course's JupyterHub.

The Assignments tab fetches and submits labs through nbgrader's exchange: every student's server
needs the exchange directory (the same one the instructor's ``make release-exchange`` uses) and the
course id. The exchange is nbgrader's default, ``/usr/local/share/nbgrader/exchange``, unless set:
uncomment ``Exchange.root`` below if your hub's exchange is elsewhere. (It is left unset here so
that a student's own ``~/.jupyter/nbgrader_config.py`` can set it: a folder on JUPYTER_CONFIG_PATH
takes precedence over ``~/.jupyter``.)

Validate runs the whole notebook at smoke scale (nbgrader sets NBGRADER_EXECUTION, which
seqlab.scale reads): seconds per cell, but give a busy machine time to start TensorFlow (the same
timeouts as the student repository's ``jupyter-config/nbgrader_config.py``).
"""
c = get_config()  # noqa: F821 (provided by traitlets when it loads this file)

# c.Exchange.root = "/usr/local/share/nbgrader/exchange"
c.CourseDirectory.course_id = "seqlab"

c.Execute.timeout = 300
c.Execute.startup_timeout = 120
c.Execute.iopub_timeout = 30
