# Every target bootstraps .venv from nothing but python3; the stamp makes later runs instant.
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
STAMP := $(VENV)/.installed
# nbgrader runs `alembic` by name when it creates a gradebook: the venv's bin must be on PATH.
export PATH := $(BIN):$(PATH)
JUPYTER_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.PHONY: lab test release check grade progress bench clean sandbox

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[course]"
	touch $(STAMP)

lab: $(STAMP)
	$(BIN)/jupyter lab $(JUPYTER_ROOT) --ServerApp.root_dir=$(CURDIR) \
		--LabApp.default_url=/lab/tree/release/01_why_quantize/01_why_quantize.ipynb

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
