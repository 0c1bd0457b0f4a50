# mmplug: `make demo` and `make test` do all set-up on a fresh machine.
VENV ?= .venv
PY := $(VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: install demo test test-fast benchmark clean

install:
	VENV=$(VENV) bash scripts/install.sh

demo: install
	$(PY) tools/demo.py

test: install
	$(PY) -m pytest tests $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest tests -m "not slow" $(PYTEST_ARGS)

clean:
	rm -rf work_dirs .pytest_cache
