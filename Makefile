# Two entry points (see README): `make train` runs the main job on embedded defaults, `make test` runs the
# test suite with lint and type checks. Both create ./.venv and install what they need on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip

.PHONY: train demo test lint typecheck pytest clean browser

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

test: lint typecheck pytest

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache
