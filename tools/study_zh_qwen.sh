#!/usr/bin/env bash
# The Chinese arm of the real-data study (docs/study.md): Qwen2.5-Coder-0.5B-Instruct on real CMRC2018 rows —
# BaseLM generation and evaluation, then a short Bucket-SFT and its evaluation — through the same commands as
# every other run (`polyalign prepare/dedup/export/features/references/generate/evaluate`, `llamafactory-cli
# train`). CPU-sized (N_TRAIN=32 training rows, N_TEST=32 test rows, MAX_NEW=64 new tokens by default) and not
# part of CI: about 4-5x SmolLM2's cost.
#
#   bash tools/study_zh_qwen.sh CMRC_DIR OUT      # CMRC_DIR holds cmrc2018_trial.json and cmrc2018_dev.json
#
# CMRC2018 (ymcui/cmrc2018, CC BY-SA 4.0): the official trial set is the training pool (its train file is
# not in the public repository's history here), the official dev set the test rows. Resumable: finished
# steps are skipped.
set -euo pipefail
CMRC=${1:?CMRC_DIR}
OUT=${2:?OUT}
PA=${POLYALIGN:-polyalign}
PY=${PYTHON:-python}
LF=${LLAMAFACTORY_CLI:-llamafactory-cli}
N_TRAIN=${N_TRAIN:-32}
N_TEST=${N_TEST:-32}
MAX_NEW=${MAX_NEW:-64}
mkdir -p "$OUT"
MODEL=${QWEN_DIR:-$OUT/model}  # an installed folder to reuse (`polyalign models verify` checks it)
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 WANDB_DISABLED=true DISABLE_VERSION_CHECK=1
step() { echo "== $(date -u +%H:%M:%S) $*"; }

if [ ! -f "$MODEL/polyalign_model.json" ]; then
  step "install Qwen2.5-Coder-0.5B-Instruct"
  $PA models install qwen2.5-coder-0.5b-instruct --out "$MODEL"
fi
$PA models verify "$MODEL"
if [ ! -d "$OUT/prepared" ]; then
  step "prepare CMRC2018 (trial → val pool, dev → test)"
  $PA prepare cmrc2018 --source "validation=$CMRC/cmrc2018_trial.json" --source "test=$CMRC/cmrc2018_dev.json" \
    --out "$OUT/all_records"
  # a fixed subsample: the first N rows of a seeded shuffle (the pool becomes the training split)
  $PY - "$OUT" "$N_TRAIN" "$N_TEST" <<'EOF'
import json, random, sys
from pathlib import Path
out, n_train, n_test = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
src = out / "all_records" / "cmrc2018"
dst = out / "prepared" / "cmrc2018"
dst.mkdir(parents=True)
for split, source, n in (("train", "val", n_train), ("test", "test", n_test)):
    rows = [json.loads(line) for line in open(src / f"{source}.jsonl", encoding="utf-8")]
    rows = sorted((r for r in rows if r["bucket_id"] == "zh|single|qa|short"), key=lambda r: r["id"])
    random.Random(20261206).shuffle(rows)
    with open(dst / f"{split}.jsonl", "w", encoding="utf-8") as handle:
        for row in rows[:n]:
            handle.write(json.dumps(dict(row, split=split), ensure_ascii=False) + "\n")
EOF
fi
[ -d "$OUT/dedup" ] || $PA dedup "$OUT/prepared" --out "$OUT/dedup"
[ -f "$OUT/registry/dataset_info.json" ] || $PA export "$OUT/dedup" --out "$OUT/registry"
[ -f "$OUT/features.npz" ] || $PA features --records "$OUT/dedup/cmrc2018/train.jsonl" --out "$OUT/features.npz"
[ -f "$OUT/references.json" ] || $PA references --features "$OUT/features.npz" --out "$OUT/references.json" --min-bucket-size 2
GEN=(--max-new-tokens "$MAX_NEW" --max-model-len $((384 + MAX_NEW)) --batch-size 16 --device cpu)
EVAL=(--records "$OUT/dedup/cmrc2018/test.jsonl" --references "$OUT/references.json" --min-bucket-size 2
      --encoder bundled-minilm --cache-dir "$OUT/eval_cache" --model qwen05)
cat > "$OUT/bucket_sft.yaml" <<EOF
model_name_or_path: $MODEL
stage: sft
do_train: true
finetuning_type: full
dataset_dir: $OUT/registry
dataset: polyalign_zh_train
bucket_weighting: true
mask_history: true
template: qwen
cutoff_len: 384
output_dir: $OUT/bucket_sft
per_device_train_batch_size: 2
gradient_accumulation_steps: 4
learning_rate: 5.0e-5
num_train_epochs: 1.0
lr_scheduler_type: cosine
warmup_ratio: 0.1
max_grad_norm: 1.0
logging_steps: 1
save_strategy: 'no'
report_to: none
use_cpu: true
bf16: false
disable_gradient_checkpointing: true
preprocessing_num_workers: 1
dataloader_num_workers: 0
seed: 1
EOF
if [ ! -f "$OUT/metrics/base.json" ]; then
  step "BaseLM: generate and evaluate"
  $PA generate --model "$MODEL" --template qwen --records "$OUT/dedup/cmrc2018/test.jsonl" \
    --out "$OUT/predictions/base.jsonl" --method base "${GEN[@]}"
  $PA evaluate "${EVAL[@]}" --predictions "$OUT/predictions/base.jsonl" --out "$OUT/metrics/base.json" --method BaseLM
fi
if [ ! -f "$OUT/bucket_sft/config.json" ]; then
  step "Bucket-SFT: llamafactory-cli train"
  (cd "$OUT" && $LF train bucket_sft.yaml > bucket_sft.log 2>&1)
fi
if [ ! -f "$OUT/metrics/bucket_sft.json" ]; then
  step "Bucket-SFT: generate and evaluate"
  $PA generate --model "$OUT/bucket_sft" --recipe "$OUT/bucket_sft.yaml" --records "$OUT/dedup/cmrc2018/test.jsonl" \
    --out "$OUT/predictions/bucket_sft.jsonl" --method bucket_sft "${GEN[@]}"
  $PA evaluate "${EVAL[@]}" --predictions "$OUT/predictions/bucket_sft.jsonl" --out "$OUT/metrics/bucket_sft.json" \
    --method Bucket-SFT
fi
step "done: $OUT/metrics/{base,bucket_sft}.json"
