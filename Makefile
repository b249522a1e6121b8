# FusionLabel developer commands. Every target sets itself up first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
NUSC_VENV := .venv-nusc
NUSC_STAMP := $(NUSC_VENV)/.installed
AV2_VENV := .venv-av2
AV2_STAMP := $(AV2_VENV)/.installed
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: setup system demo test lint bench clean

setup: system $(STAMP) $(NUSC_STAMP) $(AV2_STAMP)

system:
	@bash scripts/setup_system.sh

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	# vcd carries the official ASAM OpenLABEL schema (tests only). Its declared dependencies would
	# add a second OpenCV (opencv-python next to opencv-python-headless), matplotlib and protobuf,
	# none of which the parts we use need: install it without them.
	$(PY) -m pip install -q --no-deps vcd==6.0.3
	@touch $(STAMP)

# The official nuScenes devkit needs numpy<2: it lives in its own environment and is driven
# from the tests in a subprocess (see tests/calib/test_nuscenes_devkit.py).
$(NUSC_STAMP): scripts/requirements-nuscenes.txt
	$(PYTHON) -m venv $(NUSC_VENV)
	$(NUSC_VENV)/bin/python -m pip install -q --upgrade pip
	$(NUSC_VENV)/bin/python -m pip install -q -r scripts/requirements-nuscenes.txt
	@touch $(NUSC_STAMP)

# The official Argoverse 2 API (its map loader checks our av2 map export): its own environment,
# av2 without its declared dependencies (torch, numba, ...), which the map API does not need.
$(AV2_STAMP): scripts/requirements-av2.txt
	$(PYTHON) -m venv $(AV2_VENV)
	$(AV2_VENV)/bin/python -m pip install -q --upgrade pip
	$(AV2_VENV)/bin/python -m pip install -q -r scripts/requirements-av2.txt
	$(AV2_VENV)/bin/python -m pip install -q --no-deps av2==0.3.6
	@touch $(AV2_STAMP)

demo: setup
	$(VENV)/bin/fusionlabel demo

test: setup
	$(PY) -m pytest -q

lint: setup
	$(VENV)/bin/ruff check .

bench: setup
	@set -e; for f in benchmarks/*.py; do echo "== $$f"; $(PY) $$f; done

clean:
	rm -rf $(VENV) $(NUSC_VENV) $(AV2_VENV) .pytest_cache .ruff_cache
