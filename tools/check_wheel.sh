#!/usr/bin/env bash
# The pip user's path, checked from the built wheel alone (no checkout on the path):
#   fresh venv → LLaMA-Factory + the wheel → polyalign doctor → polyalign recipes export → a grid recipe
#   through `llamafactory-cli train`, up to where the model download would begin (offline here), and a
#   `stage: hdpo` recipe on a tiny local model that really trains → uninstall leaves LLaMA-Factory clean.
# Usage: tools/check_wheel.sh VENV_PYTHON      (make check-wheel builds the venv from the wheel)
set -euo pipefail
BIN=$(cd "$(dirname "$1")" && pwd)   # absolute, but not through the venv's python symlink
PY=$BIN/$(basename "$1")
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
REPO=$(cd "$(dirname "$0")/.." && pwd)
cd "$WORK"   # away from the source tree: only the installed wheel can be imported
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 DISABLE_VERSION_CHECK=1 WANDB_MODE=disabled
step() { printf '\n== %s\n' "$*"; }

step "installed from the wheel, not from a checkout"
"$PY" -c 'import polyalign_lf, sys; p = polyalign_lf.__file__; print(p); sys.exit("site-packages" not in p)'

step "polyalign doctor"
"$BIN/polyalign" doctor

step "polyalign recipes export ."
"$BIN/polyalign" recipes export . --lang en --grid-model gemma2_2b
test -f recipes/en/gemma2_2b_hdpo.yaml && test -f recipes/deepspeed/ds_z3_config.json && test -f data_registry/dataset_info.json

step "a grid recipe starts (CPU: without DeepSpeed and bf16; it stops where google/gemma-2-2b would download)"
set +e
"$BIN/llamafactory-cli" train recipes/en/gemma2_2b_bucket_sft.yaml deepspeed=null bf16=false > grid.log 2>&1
rc=$?
set -e
tail -n 3 grid.log
if [ $rc -eq 0 ] || grep -q "polyalign-lf: error" grid.log; then
  echo "FAIL: expected the run to stop at the model download, not to pass or be refused"; exit 1
fi
# the first file LLaMA-Factory fetches is the tokenizer's: offline, that is where the run must stop
grep -q "Failed to load tokenizer" grid.log && grep -Eq "LocalEntryNotFoundError|OfflineModeIsEnabled" grid.log \
  || { echo "FAIL: the run did not reach the model download"; tail -n 40 grid.log; exit 1; }
echo "ok: parsed by LLaMA-Factory with the plugin, stopped at the model download (rc=$rc)"

step "stage: hdpo trains on a tiny local model"
# the suite's LLaMA-Factory runner (tests/polyalign_testing: not part of the wheel); tests/ holds no polyalign_lf
PYTHONPATH="$REPO/tests" "$PY" - <<'PYEOF'
import json, os, subprocess, sys
from pathlib import Path
from polyalign_lf.core.tiny_models import build_tiny_causal_lm
from polyalign_testing.lf import run_lf_train, tiny_train_config
model = build_tiny_causal_lm(Path("tiny") / "model")
rows = [{"instruction": f"q{i}", "input": "", "chosen": "short.", "rejected": "a much longer answer " * 3,
         "bucket_id": "en|qa|wiki|short", "chosen_score": 0.1, "rejected_score": 0.9} for i in range(4)]
Path("data").mkdir(exist_ok=True)
Path("data/pref.json").write_text(json.dumps(rows))
Path("data/dataset_info.json").write_text(json.dumps({"pref": {"file_name": "pref.json", "ranking": True,
    "columns": {"prompt": "instruction", "query": "input", "chosen": "chosen", "rejected": "rejected",
                "bucket_id": "bucket_id", "chosen_score": "chosen_score", "rejected_score": "rejected_score"}}}))
run = run_lf_train(tiny_train_config(model, "pref", "data", "out", stage="hdpo", hdpo_lambda=0.1), Path("."))
run.check()
config = json.loads(Path("out/polyalign_config.json").read_text())
assert config["stage"] == "hdpo", config
print("ok: stage hdpo trained,", len(run.train_logs()), "steps logged")
PYEOF

step "uninstall leaves LLaMA-Factory clean"
"$PY" -m pip uninstall -y -q polyalign-lf
! ls "$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"/polyalign_lf* >/dev/null 2>&1 \
  || { echo "FAIL: files left behind"; exit 1; }
"$PY" -c 'import llamafactory.train.tuner as t; assert not getattr(t.get_train_args, "_polyalign", False); print("ok: llamafactory", __import__("llamafactory").__version__, "imports unpatched")'
echo; echo "check-wheel: all steps passed"
