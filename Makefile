# Two commands for a fresh machine (Debian 12, Python 3.11, gcc, cmake):
#   make demo   - install into .venv and run the team on the embedded default config
#   make test   - install into .venv (with the train extra) and run ruff and the whole test suite (.ci/run)
# DDS stays on this machine and in a domain of its own for every target.
# The package is built once into a wheel; the core install and the train extra both install from it.

VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
CONFIG ?= config/mujoco_pursuit.yaml
# torch for the train extra, installed before it: on these machines the pinned release is a local CPU build;
# a bare `torch` from PyPI is a CUDA build of several GB (set TORCH= to leave the choice to pip).
TORCH ?= torch==2.13.0
WHEELS := $(VENV)/wheels
WHEEL = $(firstword $(wildcard $(WHEELS)/marl_bridge-*.whl))
export ROS_AUTOMATIC_DISCOVERY_RANGE ?= LOCALHOST
export ROS_DOMAIN_ID ?= $(shell echo $$(( $$$$ % 100 + 1 )))

SOURCES := setup.py pyproject.toml CMakeLists.txt package.xml $(wildcard msg/*.msg srv/*.srv) \
	$(shell find marl_bridge launch config resource -type f -not -path '*/__pycache__/*' \
	-not -path 'marl_bridge/msg/*' -not -path 'marl_bridge/srv/*' -not -name '*.so' 2>/dev/null)

.PHONY: install train-deps dev demo test bench lint clean

install: $(VENV)/.installed

$(VENV)/.wheel: $(SOURCES)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	rm -rf $(WHEELS)
	$(PY) -m pip wheel -q --no-deps -w $(WHEELS) .
	touch $@

$(VENV)/.installed: $(VENV)/.wheel
	$(PY) -m pip install -q --force-reinstall --no-deps "$(WHEEL)"
	$(PY) -m pip install -q "marl_bridge[test,envs] @ file://$(abspath $(WHEEL))"
	touch $@

# The train extra (torch, TorchRL): `marl-bridge train`, and the tests, which train for real.
train-deps: $(VENV)/.train
$(VENV)/.train: $(VENV)/.installed
	$(if $(TORCH),$(PY) -m pip install -q "$(TORCH)")
	$(PY) -m pip install -q "marl_bridge[train] @ file://$(abspath $(WHEEL))"
	touch $@

dev: install
	$(PY) -P resource/dev_overlay.py

demo: install
	$(VENV)/bin/marl-bridge run $(CONFIG)

lint: install train-deps
	$(VENV)/bin/ruff check .

test: lint
	$(VENV)/bin/pytest -q

bench: install
	$(PY) -P bench/lockstep.py
	$(PY) -P bench/mujoco_world.py
	$(PY) -P bench/shield.py
	$(PY) -P bench/actor_inference.py
	@if [ "$$(id -u)" = 0 ]; then $(PY) -P bench/lossy_link.py; \
	else echo "bench/lossy_link.py skipped: network namespaces need root"; fi

clean:
	rm -rf $(VENV) build *.egg-info runs
