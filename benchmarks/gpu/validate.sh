#!/usr/bin/env bash
# One command for the first GPU machine: every GPU figure of polyalign-lf in ≤ 8 minutes (see validate.py).
#
#   benchmarks/gpu/validate.sh [--out DIR] [--sections a,b]     on a machine with one CUDA GPU, no internet
#   benchmarks/gpu/validate.sh --dry-run [--out DIR]            the same code on the CPU at tiny sizes
#
# On the GPU machine the Python packages a CUDA PyTorch image lacks (LLaMA-Factory, trl, datasets, and
# transformers/accelerate at versions LLaMA-Factory accepts) are installed from the wheels in .whl/ at the
# repository root, without an index: fill it beforehand, where PyPI is reachable, with
# benchmarks/gpu/fetch_wheels.sh. That install changes the machine's Python environment: use a throw-away one.
# Results: DIR/results.json and DIR/results.md (default DIR: gpu_results/ at the repository root).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
out="$repo/gpu_results"
dry=0
rest=()
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) dry=1 ;;
    --out) out=$2; shift ;;
    --out=*) out=${1#--out=} ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) rest+=("$1") ;;
  esac
  shift
done
if [ -n "${PYTHON:-}" ]; then PY=$PYTHON
elif [ $dry = 1 ] && [ -x "$repo/.venv/bin/python" ]; then PY=$repo/.venv/bin/python
else PY=python3
fi

if [ $dry = 0 ]; then
  if ! "$PY" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' >/dev/null 2>&1; then
    echo "validate.sh: no CUDA GPU is visible to $PY (torch missing, or torch.cuda.is_available() is False)." >&2
    echo "  This run needs one NVIDIA GPU; on a CPU machine check the script with: $0 --dry-run" >&2
    exit 2
  fi
  if compgen -G "$repo/.whl/*.whl" >/dev/null; then
    echo "== installing $(ls "$repo"/.whl/*.whl | wc -l) wheel(s) from .whl/ (no index)"
    "$PY" -m pip install -q --no-index --no-deps --no-compile --disable-pip-version-check --upgrade "$repo"/.whl/*.whl
  fi
  if ! "$PY" -c 'import polyalign_lf, llamafactory, trl, datasets' >/dev/null 2>&1; then
    echo "validate.sh: polyalign-lf, llamafactory, trl or datasets is missing for $PY and .whl/ does not bring it." >&2
    echo "  Where PyPI is reachable, run benchmarks/gpu/fetch_wheels.sh, then carry .whl/ to this machine." >&2
    exit 2
  fi
fi

export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 DISABLE_VERSION_CHECK=1
export WANDB_MODE=disabled TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1
export PATH="$(dirname "$("$PY" -c 'import sys; print(sys.executable)')"):$PATH"   # llamafactory-cli, torchrun
args=(--out "$out")
[ $dry = 1 ] && args+=(--dry-run)
exec "$PY" "$here/validate.py" "${args[@]}" ${rest[@]+"${rest[@]}"}
