# make setup : create .venv/ with the pinned dependencies and the grader installed (editable)
# make test  : the type check (make typecheck: mypy, strict, on grader/ and the rubrics), the lint
#              (make lint: ruff and the import contracts of pyproject.toml), then the
#              grader's own tests, every tier (what CI runs); make test-all adds the extended
#              known mistakes (slow: more 359M-parameter LNiN submissions)
# make test-fast: the unit tier alone (tests/unit: no worker process; about half a minute)
# make demo  : grade the sample classes under examples/ and print where the feedback pages are
#              (without lnin, 12 GiB: make demo DEMO_SKIP= grades it too)
# make image : the grading image dl-grader:local (Docker, no registry needed): docker/build-base.sh
#              builds its base from Debian and the pinned wheels (cached by hash), then
#              docker/Dockerfile; `make base-image` builds only the base
# make docs  : the documentation site into site/ (mkdocs build --strict: a broken link or an API
#              reference that no longer resolves fails it); its tools are requirements-docs.txt
.PHONY: setup test test-fast test-all typecheck lint demo validate clean image base-image docs

VENV := .venv
BIN  := $(VENV)/bin
# Workers run as an unprivileged user when the grader runs as root, so the venv must be
# built on an interpreter that user can execute: prefer the system's python3.11+ as root.
PYTHON ?= $(shell if [ "$$(id -u)" = 0 ] && /usr/bin/python3 -c 'import sys, venv; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then echo /usr/bin/python3; else echo python3; fi)

$(BIN)/grader: requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $@

setup: $(BIN)/grader

# The type check: the grader, then the course's checks and drivers (public and hidden apart:
# rubrics/<a>/test_<p>.py and rubrics/<a>/hidden/test_<p>.py are modules of the same name).
# Settings in pyproject.toml ([tool.mypy]: strict). A course's checks and drivers handle what a
# submission returned, typed Any by nature: for them returning Any, calling untyped helpers and
# bare generics are allowed, everything else of strict holds.
MYPY := $(BIN)/python -m mypy --no-error-summary
MYPY_COURSE := $(MYPY) --no-warn-return-any --allow-untyped-calls --allow-any-generics
typecheck: setup
	$(MYPY) grader
	$(MYPY_COURSE) rubrics/*/test_*.py rubrics/*/drivers/*.py examples/*/rubrics/*/test_*.py examples/*/rubrics/*/drivers/*.py
	$(MYPY_COURSE) rubrics/*/hidden/test_*.py examples/*/rubrics/*/hidden/test_*.py
	@echo "typecheck: no issues in grader/ and the rubrics"

# The lint: ruff (settings in pyproject.toml) and the import contracts (lint-imports: no import
# cycles, the worker side importing nothing of the trusted side).
lint: setup
	$(BIN)/ruff check grader tests rubrics benchmarks examples/*/rubrics
	$(BIN)/lint-imports --no-cache
	@echo "lint: ruff and the import contracts hold"

# The tests, by tier (folders, and the markers set from them): tests/unit (no worker process:
# the in-process runner stands in; seconds), tests/security (what student code can and cannot
# do, real workers), tests/system (the commands end to end: Docker, Slurm, releases). make test
# runs every tier in TEST_JOBS processes (pytest-xdist; a module, or a class a module grades
# once, stays in one process). Two on two cores: a third (tried: the cores idle 39% of a run
# with two) made the run longer, not shorter: the timing checks hold on a loaded machine by
# timing more rounds (grader/checks.py, _decided), and the classes that time bn_remove took
# two to five times as long.
TEST_JOBS ?= 2
test-fast: setup
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit

test: setup typecheck lint
	$(BIN)/python -m pytest -q -ra --durations=15 -p no:cacheprovider -n $(TEST_JOBS) --dist loadgroup -m "not slow" tests

test-all: setup
	$(BIN)/python -m pytest -q -ra -p no:cacheprovider -n $(TEST_JOBS) --dist loadgroup tests

validate: setup
	$(BIN)/grader validate --all

# make demo leaves out the problems in DEMO_SKIP (lnin: its checks build a 340M-parameter
# network, 12 GiB and minutes on a laptop's CPU); make demo DEMO_SKIP= grades everything.
DEMO_SKIP ?= lnin
demo: setup
	@for a in mfdnn-hw5 mfdnn-hw7; do \
	  only=$$($(BIN)/python -c "import sys, tomllib; skip = set(sys.argv[2:]); print(' '.join('--problem ' + p['id'] for p in tomllib.load(open(f'rubrics/{sys.argv[1]}/rubric.toml', 'rb'))['problems'] if p['id'] not in skip))" $$a $(DEMO_SKIP)); \
	  echo "== Grading the sample class of $$a (examples/$$a)$(if $(DEMO_SKIP), without $(DEMO_SKIP)) =="; \
	  $(BIN)/grader grade $$a examples/$$a --out out/demo/$$a $$only || exit 1; \
	done
	@echo
	@echo "Open the feedback pages in a browser, e.g.:"
	@ls out/demo/*/*/feedback.html | sed 's|^|  file://$(CURDIR)/|'

image:
	docker/build-image.sh

base-image:
	docker/build-base.sh

# The docs tools go into the same venv (they add packages; the grader stays as installed). A venv
# that exists is used as it is: the site documents this checkout (PYTHONPATH), whatever the
# venv's editable install points at.
$(BIN)/mkdocs: requirements-docs.txt
	@test -x $(BIN)/python || $(MAKE) setup
	$(BIN)/python -m pip install -q -r requirements-docs.txt
	@touch $@

docs: $(BIN)/mkdocs
	NO_MKDOCS_2_WARNING=1 PYTHONPATH=$(CURDIR) $(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) out
