"""seqlab.grading: the instructor's grading engine (a student tree ships without it).

One entry point, ``python -m seqlab.grading`` (``make grade``), and its rooms, top-down:

- :mod:`.cli`       – the command: check confinement, release, grade, report.
- :mod:`.course`    – the course layout: labs, nbgrader's API for a root, ``release/``, the demo class.
- :mod:`.preflight` – repair what is safe in a submission before nbgrader sees it.
- :mod:`.autograde` – grade every submission on its own; skip a cell that kills the kernel.
- :mod:`.kernel`    – the grading kernel: started confined, state restored before test cells.
- :mod:`.confine`   – the operating system's confinement (namespaces, Landlock, limits).
- :mod:`.landlock`  – Landlock syscalls through ctypes.
- :mod:`.results`   – ``grades.csv``, the table and the summary.
- :mod:`.exchange`  – JupyterHub: release, collect and return feedback through nbgrader's exchange.
- :mod:`.lms`       – an LMS: import its submissions zip; export wide grades and feedback for upload.
"""
