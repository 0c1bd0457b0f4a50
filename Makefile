# mmplug: `make demo` and `make test` do all set-up on a fresh machine.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install demo test test-long test-fast benchmark clean

install:
	VENV=$(VENV) bash scripts/install.sh

demo: install
	$(PY) tools/demo.py

# the suite is mostly subprocesses of tools/ on tiny data: TEST_JOBS pytest
# workers of one torch thread each keep both cores busy (pytest-xdist)
TEST_JOBS ?= 2
PYTEST = MMPLUG_TEST_THREADS=$${MMPLUG_TEST_THREADS:-1} $(PY) -m pytest -n $(TEST_JOBS)

test: install
	$(PYTEST) tests $(PYTEST_ARGS)

test-long: install
	$(PYTEST) tests -m "long or real_all" $(PYTEST_ARGS)

test-fast: install
	$(PYTEST) tests -m "not slow" $(PYTEST_ARGS)

clean:
	rm -rf work_dirs .pytest_cache
