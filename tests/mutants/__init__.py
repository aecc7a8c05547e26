"""Deliberately wrong answers, one module per lab (``tests/mutants/lab<NN>.py``).

Each module defines ``MUTANTS``: a list of dicts
    {"name": str, "cell": answer cell grade_id, "source": the wrong code for that cell,
     "fails": [grade_ids of the test cells that must score 0]}
Every other test cell must keep full marks: a wrong answer loses exactly the points of the
tests that should catch it.
"""
