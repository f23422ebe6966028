# The project's entry points. Each sets up what it needs first (tools/install.sh is idempotent and reuses the
# cached mmcv wheel), so on a fresh machine these are the only commands to type.
VENV ?= .venv
PY := $(VENV)/bin/python
export DFD_VENV := $(abspath $(VENV))
# make demo TASK=seg|yolo|pose|all
TASK ?= det

.PHONY: install test lint demo bench-cost

install:
	bash tools/install.sh

# two pytest-xdist workers, one thread each (tests/conftest.py): this project's machines have 2 cores
test: install
	$(PY) -m pytest tests -q -n 2

# ruff (requirements/dev.txt), configured in pyproject.toml; CI runs it before the tests
lint: install
	$(PY) -m ruff check .

bench-cost: install
	$(PY) benchmarks/step_cost.py

demo: install
	$(PY) tools/demo.py --task $(TASK)
