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

SOURCES := setup.py pyproject.toml CMakeLists.txt package.xml $(wildcard msg/*.msg srv/*.srv cmake/*.cmake) \
	$(shell find marl_bridge launch config resource -type f -not -path '*/__pycache__/*' \
	-not -path 'marl_bridge/msg/*' -not -path 'marl_bridge/srv/*' -not -name '*.so' 2>/dev/null)

.PHONY: install train-deps launch-deps dev demo test bench lint clean

install: $(VENV)/.installed

$(VENV)/.wheel: $(SOURCES)
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	rm -rf $(WHEELS)
	$(PY) -m pip wheel -q --no-deps -w $(WHEELS) .
	touch $@

$(VENV)/.installed: $(VENV)/.wheel
	$(PY) -m pip install -q --force-reinstall --no-deps "$(WHEEL)"
	$(PY) -m pip install -q "marl_bridge[test,envs,video] @ file://$(abspath $(WHEEL))"
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

# Upstream launch, launch_ros and ros2cli (not on the package registries; wheels built from their sources
# in ../shared/ros-launch) and composition_interfaces, which launch_ros imports, built from its upstream
# sources by the same rosidl pipeline as this package's interfaces: the launch tests run them for real.
# ../shared beside the checkout, else beside the repository this one was cloned from (a clone made into a
# temporary directory still finds it); LAUNCH_SRC=... overrides both
ORIGIN := $(abspath $(shell git config --get remote.origin.url 2>/dev/null))
LAUNCH_SRC ?= $(firstword $(wildcard ../shared/ros-launch $(if $(filter /%,$(ORIGIN)),$(dir $(ORIGIN))shared/ros-launch)) ../shared/ros-launch)
launch-deps: $(VENV)/.launch
$(VENV)/.launch: $(VENV)/.installed cmake/rosidl_wheel_includes.cmake
	@if [ ! -d "$(LAUNCH_SRC)/wheels" ]; then \
	  echo "no $(LAUNCH_SRC): the launch tests need launch and launch_ros (a full ROS 2 install has them)"; \
	else set -e; \
	  $(PY) -m pip install -q --no-deps $(LAUNCH_SRC)/wheels/*.whl; \
	  $(PY) -m pip install -q psutil argcomplete lark $$($(PY) -c "import tomllib; \
	    print(' '.join(tomllib.load(open('pyproject.toml', 'rb'))['build-system']['requires']))"); \
	  rm -rf $(VENV)/build/composition_interfaces; mkdir -p $(VENV)/build; \
	  AMENT_PREFIX_PATH=$(abspath $(VENV)) cmake -S $(LAUNCH_SRC)/composition_interfaces \
	    -B $(VENV)/build/composition_interfaces -DCMAKE_INSTALL_PREFIX=$(abspath $(VENV)) \
	    -DCMAKE_PREFIX_PATH=$(abspath $(VENV)) -DPython3_EXECUTABLE=$(abspath $(PY)) -DBUILD_TESTING=OFF \
	    -DCMAKE_BUILD_TYPE=Release -DCMAKE_PROJECT_INCLUDE=$(abspath cmake/rosidl_wheel_includes.cmake) \
	    -DMARL_FIX_WHEEL_INCLUDES_DEFERRED=ON > $(VENV)/build/composition_interfaces.log 2>&1 \
	    || { tail -30 $(VENV)/build/composition_interfaces.log; exit 1; }; \
	  cmake --build $(VENV)/build/composition_interfaces -j 2 >> $(VENV)/build/composition_interfaces.log 2>&1 \
	    || { tail -30 $(VENV)/build/composition_interfaces.log; exit 1; }; \
	  cmake --install $(VENV)/build/composition_interfaces >> $(VENV)/build/composition_interfaces.log; \
	  $(PY) -c "import launch_ros, composition_interfaces.srv"; \
	fi
	touch $@

lint: install train-deps launch-deps
	$(VENV)/bin/ruff check .

test: lint
	$(VENV)/bin/pytest -q

bench: install
	$(PY) -P bench/lockstep.py
	$(PY) -P bench/mujoco_world.py
	$(PY) -P bench/shield.py
	$(PY) -P bench/actor_inference.py
	$(PY) -P bench/memory.py
	$(PY) -P bench/auth.py
	$(PY) -P bench/guard_stop.py
	$(PY) -P bench/image_env.py
	$(PY) -P bench/recording.py
	$(PY) -P bench/realtime.py
	$(PY) -P bench/recorder.py
	@if [ "$$(id -u)" = 0 ]; then $(PY) -P bench/lossy_link.py; \
	else echo "bench/lossy_link.py skipped: network namespaces need root"; fi

clean:
	rm -rf $(VENV) build *.egg-info runs
