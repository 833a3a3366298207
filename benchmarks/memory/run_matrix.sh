#!/usr/bin/env bash
# Run measure_peak.py over a small matrix (about 8 minutes on one H100/H200) and collect JSON lines.
# Usage: benchmarks/memory/run_matrix.sh [OUTPUT_FILE]   (default: peaks.jsonl in the current folder)
set -u -o pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
out="${1:-peaks.jsonl}"
python="${PYTHON:-python3}"
: >"$out"

run() {
    echo "== $*" >&2
    PYTHONUNBUFFERED=1 timeout 120 "$python" "$here/measure_peak.py" "$@" | tee -a "$out"
}

run --model Qwen2.5-0.5B --method full --seq 1024 --batch 4
run --model Qwen2.5-0.5B --method full --seq 1024 --batch 4 --grad-ckpt
run --model Qwen2.5-1.5B --method full --seq 2048 --batch 2 --grad-ckpt
run --model Qwen2.5-1.5B --method full --seq 2048 --batch 2
run --model Qwen2.5-1.5B --method lora --seq 4096 --batch 1 --grad-ckpt
run --model Qwen2.5-7B --method lora --seq 2048 --batch 2 --grad-ckpt
run --model Qwen2.5-7B --method full --seq 1024 --batch 1 --grad-ckpt
run --model Qwen2.5-7B --method qlora --seq 4096 --batch 1 --grad-ckpt
