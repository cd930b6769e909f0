# `make demo` and `make test` each do the whole set-up on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# torch is pinned in the one install so pip takes the CPU wheel that lies on this disk (and no
# dependency pulls another build).
TORCH := torch==2.13.0

.PHONY: setup datasets browser demo test bench lint clean

setup: $(STAMP) datasets

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install -q --disable-pip-version-check -e '.[test]' $(TORCH) 2>&1 | grep -v '^WARNING: Location' || true
	@$(PY) -c "import latentatlas, torch, safetensors, sklearn, pytest" || (echo "set-up failed" >&2; exit 1)
	@touch $(STAMP)

datasets:
	@sh scripts/install-debian.sh dataset-fashion-mnist wordnet-base fortunes

# Debian's Chromium for the browser tests (Playwright drives /usr/bin/chromium; it never
# downloads a browser).
browser:
	@sh scripts/install-debian.sh chromium

demo: setup
	@$(PY) scripts/demo.py

test: setup browser
	@$(PY) -m pytest -q

bench: setup
	@$(PY) -m pip install -q -e '.[test,bench]' $(TORCH) 2>&1 | grep -v '^WARNING: Location' || true
	@$(PY) benchmarks/train_speed.py

lint: setup
	@$(PY) -m ruff check src tests benchmarks scripts

clean:
	rm -rf $(VENV) runs/demo-small runs/demo-text-vae runs/demo-energy-lm runs/demo-cnn \
		runs/demo-sentiment runs/demo-attn-lm
