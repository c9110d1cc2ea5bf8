# Every target bootstraps .venv from nothing but python3; the stamp makes later runs instant.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
# nbgrader runs `alembic` by name when it creates a gradebook: the venv's bin must be on PATH.
export PATH := $(BIN):$(PATH)
JUPYTER_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.PHONY: lab instructor links test release check grade progress bench clean sandbox

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[course]"
	touch $(STAMP)

# A learner's JupyterLab: their own copy of release/ in workspace/ (made on the first run; a
# chapter released later is added, their notebooks are never overwritten), without nbgrader's
# instructor tools.
lab: $(STAMP)
	$(BIN)/python -m course workspace
	JUPYTER_CONFIG_DIR=$(CURDIR)/$(VENV)/jupyter-learner $(BIN)/jupyter lab $(JUPYTER_ROOT) \
		--ServerApp.root_dir=$(CURDIR)/workspace --LabApp.default_url=/lab/tree/01_why_quantize/01_why_quantize.ipynb

# Binder and Colab links of the GitHub repository this clone comes from.
links: $(STAMP)
	$(BIN)/python -m course links

# The instructor's JupyterLab: the whole course, with nbgrader's Formgrader and Create Assignment.
instructor: $(STAMP)
	$(BIN)/jupyter lab $(JUPYTER_ROOT) --ServerApp.root_dir=$(CURDIR) \
		--LabApp.default_url=/lab/tree/source/01_why_quantize/01_why_quantize.ipynb

# Grading runs each submission in a bubblewrap sandbox: as root, this installs bubblewrap and
# creates the grading user; as another user it says what is missing.
sandbox: $(STAMP)
	$(BIN)/python -m course.sandbox setup

test: $(STAMP) sandbox
	$(BIN)/python -m pytest

release: $(STAMP)
	$(BIN)/python -m course release

check: $(STAMP)
	$(BIN)/python -m course check

grade: $(STAMP) sandbox
	$(BIN)/python -m course grade

progress: $(STAMP)
	$(BIN)/python -m course progress

bench: $(STAMP)
	for bench in benchmarks/bench_*.py; do $(BIN)/python $$bench || exit 1; done

clean:
	rm -rf $(VENV) autograder/submitted autograder/autograded autograder/feedback autograder/gradebook.db \
		autograder/grades.csv autograder/grading-report.csv
