# seqlab — every target sets itself up: .venv is created and filled from requirements-dev.txt
# (requirements.txt, which students get too, plus the browser tests' Playwright) on first use, and
# again whenever a requirements file or pyproject.toml changes.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# nbgrader runs the `alembic` command of its own environment: put .venv/bin first on PATH.
export PATH := $(abspath $(BIN)):$(PATH)

# Prepared datasets beside the checkout (as CI has them) are used when TFDS_DATA_DIR is unset.
SHARED_TFDS := $(abspath ../shared/tensorflow_datasets)
ifeq ($(origin TFDS_DATA_DIR),undefined)
ifneq ($(wildcard $(SHARED_TFDS)),)
export TFDS_DATA_DIR := $(SHARED_TFDS)
endif
endif

.PHONY: help venv lab instructor-lab publish grade release test bench bench-session bench-confinement bench-report bench-grading report clean-grades \
	release-exchange collect return-feedback collect-zip export-lms

help:
	@echo "make instructor-lab  JupyterLab on this course, with nbgrader's instructor tools (formgrader); make lab is the same"
	@echo "make publish  build the student repository in OUT (default ../seqlab-student) for STUDENT_REPO=owner/name"
	@echo "make grade    release every lab from source/ and autograde submitted/ (instructors, offline)"
	@echo "              [WORKERS=N (local Dask workers; 0: in-process) | SCHEDULER=tcp://host:8786] [FORCE=1: re-grade all]"
	@echo "make report [ANON=1] [LAB=NN-name]  the class report of the last grading: report/report.html and report/csv/"
	@echo "make test     the test suite (what CI runs)"
	@echo "make bench    run every source notebook (or LAB=NN-name) at lesson scale; write bench/results.{json,md}"
	@echo "make release  regenerate release/ from source/ only"
	@echo "make release-exchange LAB=NN-name [EXCHANGE=dir] [DUE='YYYY-MM-DD HH:MM']  JupyterHub: release a lab to nbgrader's exchange"
	@echo "make collect LAB=NN-name [EXCHANGE=dir]          JupyterHub: collect the latest submissions into submitted/"
	@echo "make return-feedback LAB=NN-name [EXCHANGE=dir]  JupyterHub: release feedback/ to the students"
	@echo "make collect-zip ZIP=file LMS=canvas|moodle [LAB=NN-name] [ROSTER=csv]  LMS: import a submissions zip"
	@echo "make export-lms [ROSTER=csv]  LMS: lms/grades_wide.csv and lms/feedback/ for upload"
	@echo "make bench-session [LABS='01-tokenization 02-embeddings'] [SCALE=smoke]  a student's session replayed in headless"
	@echo "              Chromium on the student repository (open lab, Run All, close, next lab): kernel peak RSS and"
	@echo "              session peak PSS per lab; bench/session.{json,md} (needs Playwright and /usr/bin/chromium)"
	@echo "make bench-confinement  grade the demo class confined and unconfined; write bench/confinement.json"
	@echo "make bench-grading  one class (5 students x every lab) graded before/serial/WORKERS=1/WORKERS=2 and plainly executed; bench/grading.{json,md}"
	@echo "make bench-report  time make report on a generated 500 students x 8 labs class; write bench/report.json"

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

venv: $(STAMP)

# The instructor's JupyterLab: the whole course (source/, release/, submitted/) and nbgrader's
# instructor tools (formgrader, create assignment). Students never get it: they open the student
# repository (`make publish`), whose JupyterLab has those tools disabled and locked.
instructor-lab: $(STAMP)
	$(BIN)/jupyter lab

lab:
	@echo "make lab here is the INSTRUCTOR's JupyterLab (formgrader, source/ with solutions);"
	@echo "students use the student repository (make publish). Starting make instructor-lab."
	@$(MAKE) --no-print-directory instructor-lab

# The student repository: released labs, helpers, binder/, a student README; see seqlab/grading/publish.py.
OUT          ?= ../seqlab-student
STUDENT_REPO ?= seqlab/seqlab-student
publish: $(STAMP)
	$(BIN)/python -m seqlab.grading.publish --out $(OUT) --repo $(STUDENT_REPO) \
		$(if $(BRANCH),--branch $(BRANCH)) $(foreach lab,$(LABS),--lab $(lab))

grade: $(STAMP)
	$(BIN)/python -m seqlab.grading $(if $(LAB),--lab $(LAB)) $(if $(CELL_TIMEOUT),--cell-timeout $(CELL_TIMEOUT)) \
		$(if $(SUBMISSION_TIMEOUT),--submission-timeout $(SUBMISSION_TIMEOUT)) $(if $(UNCONFINED),--unconfined) \
		$(if $(WORKERS),--workers $(WORKERS)) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) $(if $(FORCE),--force)

# What the class got wrong: read-only on the gradebook, grades.csv and autograded/ (ANON=1: pseudonyms).
report: $(STAMP)
	$(BIN)/python -m seqlab.grading.report $(foreach lab,$(LAB),--lab $(lab)) $(if $(ANON),--anon)

release: $(STAMP)
	$(BIN)/python -m seqlab.grading --release-only

test: $(STAMP)
	SEQLAB_SCALE=smoke $(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python -m seqlab.bench $(if $(LAB),--lab $(LAB))

bench-session: $(STAMP)
	$(BIN)/python bench/session.py $(foreach lab,$(LABS),--lab $(lab)) $(if $(SCALE),--scale $(SCALE))

bench-confinement: $(STAMP)
	SEQLAB_SCALE=smoke $(BIN)/python bench/confinement.py $(if $(LAB),--lab $(LAB))

bench-grading: $(STAMP)
	SEQLAB_SCALE=smoke $(BIN)/python bench/grading.py $(foreach lab,$(LAB),--lab $(lab))

bench-report: $(STAMP)
	$(BIN)/python bench/report.py

clean-grades:
	rm -rf submitted/demo-solutions submitted/demo-blank autograded/*/ autograded/.seqlab-ledger.jsonl autograded/.seqlab-release.json feedback gradebook.db grades.csv grading.log lms report report-anon

# --- hand-out and hand-in: nbgrader's exchange (JupyterHub) and LMS zips ----------------------
EXCHANGE ?= /usr/local/share/nbgrader/exchange
need-lab = $(if $(LAB),,$(error LAB=NN-name is required, e.g. LAB=01-tokenization))

release-exchange: $(STAMP)
	$(need-lab)
	$(BIN)/python -m seqlab.grading.exchange release --lab $(LAB) --exchange $(EXCHANGE) $(if $(DUE),--due "$(DUE)")

collect: $(STAMP)
	$(need-lab)
	$(BIN)/python -m seqlab.grading.exchange collect --lab $(LAB) --exchange $(EXCHANGE)

return-feedback: $(STAMP)
	$(need-lab)
	$(BIN)/python -m seqlab.grading.exchange feedback --lab $(LAB) --exchange $(EXCHANGE)

collect-zip: $(STAMP)
	$(if $(ZIP),,$(error ZIP=path/to/submissions.zip is required))
	$(if $(LMS),,$(error LMS=canvas or LMS=moodle is required))
	$(BIN)/python -m seqlab.grading.lms import --zip "$(ZIP)" --lms $(LMS) $(if $(LAB),--lab $(LAB)) $(if $(ROSTER),--roster "$(ROSTER)")

export-lms: $(STAMP)
	$(BIN)/python -m seqlab.grading.lms export $(if $(ROSTER),--roster "$(ROSTER)")
