#!/usr/bin/env bash
# Fill .whl/ (ignored by git) with what benchmarks/gpu/validate.sh installs on a GPU machine without internet:
# this package's wheel plus the packages a CUDA PyTorch image lacks or has at versions LLaMA-Factory refuses,
# at the versions `make install` tested here (read from .venv), for CPython 3.12 on x86-64 Linux.
# Run it where PyPI is reachable, after `make install`. PY_VERSION=3.11 etc. for another image's Python.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
VENV_PY=${VENV_PY:-.venv/bin/python}
PY_VERSION=${PY_VERSION:-3.12}
PACKAGES="llamafactory transformers trl datasets accelerate peft omegaconf tokenizers dill multiprocess xxhash
fsspec typer shellingham click rich"
mkdir -p .whl
rm -f .whl/*.whl
"$VENV_PY" -m pip wheel -q --no-deps -w .whl .
for name in $PACKAGES; do
  spec="$name==$("$VENV_PY" -c "from importlib.metadata import version; print(version('$name'))")"
  "$VENV_PY" -m pip download -q --no-deps --only-binary=:all: --python-version "$PY_VERSION" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform manylinux_2_5_x86_64 --platform manylinux1_x86_64 -d .whl "$spec"
done
# DeepSpeed ships no wheel: build a pure-Python one here (its ops compile on first use on the GPU machine) for
# the ZeRO-3 section of validate.py; skip it with NO_DEEPSPEED=1.
if [ -z "${NO_DEEPSPEED:-}" ]; then
  DS_BUILD_OPS=0 "$VENV_PY" -m pip wheel -q --no-deps --no-build-isolation -w .whl "deepspeed>=0.10.0,<=0.16.9" ||
    echo "fetch_wheels: building the DeepSpeed wheel failed (needs torch, wheel and setuptools in $VENV_PY); ZeRO-3 will be skipped"
fi
echo "fetch_wheels: $(ls .whl/*.whl | wc -l) wheels, $(du -sh .whl | cut -f1) in .whl/ (the device tool carries at most 64 MiB)"
