# Two commands for a fresh machine (Debian 12, Python 3.11, gcc, cmake):
#   make demo   - install into .venv and run the team on the embedded default config
#   make test   - install into .venv and run ruff and the whole test suite (what .ci/run calls)
# DDS stays on this machine and in a domain of its own for every target.

VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
CONFIG ?= config/mujoco_pursuit.yaml
export ROS_AUTOMATIC_DISCOVERY_RANGE ?= LOCALHOST
export ROS_DOMAIN_ID ?= $(shell echo $$(( $$$$ % 100 + 1 )))

SOURCES := setup.py pyproject.toml CMakeLists.txt package.xml $(wildcard msg/*.msg srv/*.srv) \
	$(shell find marl_bridge launch config resource -type f -not -path '*/__pycache__/*' \
	-not -path 'marl_bridge/msg/*' -not -path 'marl_bridge/srv/*' -not -name '*.so' 2>/dev/null)

.PHONY: install dev demo test bench lint clean

install: $(VENV)/.installed

$(VENV)/.installed: $(SOURCES)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q ".[test,envs]"
	touch $@

dev: install
	$(PY) -P resource/dev_overlay.py

demo: install
	$(VENV)/bin/marl-bridge run $(CONFIG)

lint: install
	$(VENV)/bin/ruff check .

test: lint
	$(VENV)/bin/pytest -q

bench: install
	$(PY) -P bench/lockstep.py
	$(PY) -P bench/mujoco_world.py
	$(PY) -P bench/shield.py
	@if [ "$$(id -u)" = 0 ]; then $(PY) -P bench/lossy_link.py; \
	else echo "bench/lossy_link.py skipped: network namespaces need root"; fi

clean:
	rm -rf $(VENV) build *.egg-info runs
