#!/usr/bin/env bash
# The GPU check itself (docs/platform.md#the-gpu-check), run on the GPU host from the repository root after
# build/device-check.sh packed .dist/device/ on a machine with .NET. Needs python3 with PyTorch (CUDA), and for the
# peer transformers + peft + tokenizers (codi_reference.py); no .NET, no network. Writes ONE file,
# $OUT/device-check.json (plus the logs beside it), and is sized for a 10-minute call: every step has its own
# timeout and a failed step is recorded, never fatal.
#   DEVICE=cuda (default) | cpu   -- cpu tests the script here up to the CUDA part (tiny sizes, peer_codi.py)
#   N_ALL=7473                    -- problems for the all-of-train runs (0 skips them)
#   CODILAB=/path/to/codilab      -- use this build instead of the packed one (a local test on a machine with .NET)
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
device=${DEVICE:-cuda}
out=${OUT:-/tmp/device-check-out}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d /tmp/codilab-device.XXXX)
logs="$work/logs"
mkdir -p "$logs"
start=$(date +%s)
python=${PYTHON:-python3}
say() { echo "[$(( $(date +%s) - start ))s] $*"; }

# ---- unpack and find libtorch
[[ -n ${CODILAB:-} ]] || tar -C "$work" -xJf "$repo/.dist/device/codilab.tar.xz"
tar -C "$work" -xJf "$repo/.dist/device/inputs.tar.xz"
codilab=${CODILAB:-$work/codilab/codilab}
if [[ -z ${CODILAB:-} ]]; then
  export LIBTORCH_PATH=${LIBTORCH_PATH:-$($python -c "import torch,os; print(os.path.dirname(torch.__file__))")/lib}
fi
export CODILAB_DATA_DIR="$work/data" CODILAB_ARTIFACTS="$work/artifacts"
# glibc's allocation policy is set inside codilab (AllocatorPolicy; docs/platform.md); bench records it.
say "device=$device libtorch=${LIBTORCH_PATH:-not set}"
nvidia-smi -L > "$logs/gpu.txt" 2>&1 || echo "no nvidia-smi" > "$logs/gpu.txt"

# step NAME SECONDS CMD...: runs with a timeout, keeps the log and exit code.
step() {
  local name=$1 limit=$2; shift 2
  say "$name ..."
  local t0; t0=$(date +%s%N)
  timeout "$limit" "$@" > "$logs/$name.log" 2>&1
  local rc=$?
  echo "$rc $(( ($(date +%s%N) - t0) / 1000000 ))" > "$logs/$name.rc"
  say "$name rc=$rc"
}

if [[ $device == cuda ]]; then
  dtype=bfloat16; n_hundred=100; batches_llama="16 64 100"; batches_gpt2="16 100"; n_all=${N_ALL:-7473}
  big_llama=full; big_gpt2=full
else
  dtype=float32; n_hundred=4; batches_llama="2 4"; batches_gpt2="2 4"; n_all=${N_ALL:-0}
fi

# ---- 1. parity on the device, fp32, both fixtures
for f in tiny-llama tiny-gpt2; do
  step "parity-$f" 120 "$codilab" parity "$work/fixtures/$f" --device "$device" --dtype float32
done

# ---- 2. full-size folders and the peer's timing on the same folders and questions
peer_and_folder() { # arch preset folder
  local arch=$1 folder=$2
  if [[ $device == cuda ]]; then
    # The seed's method (HF eager, batch 1, output_attentions) on a full-size random CODI model it writes itself.
    step "peer-$arch" 240 $python "$work/reference/codi_reference.py" --arch "$arch" --preset full --out "$folder" \
      --gsm8k "$work/data/gsm8k/train.jsonl" --questions 0 --time 100 --device cuda --dtype bfloat16
  else
    local preset; preset=$([[ $arch == llama ]] && echo llama-1b || echo gpt2-124m)
    [[ -n ${TINY:-1} ]] && preset=tiny
    step "make-$arch" 300 "$codilab" make-model --arch "$arch" --preset "$preset" --out "$folder"
    step "peer-$arch" 300 $python "$work/reference/peer_codi.py" "$folder" --gsm8k "$work/data/gsm8k/train.jsonl" \
      --problems "$n_hundred" --threads "$(nproc)"
  fi
}
peer_and_folder llama "$work/full-llama"
peer_and_folder gpt2 "$work/full-gpt2"

# ---- 3. codilab bench on the same folders: the 100 questions at several batch sizes, then all of train
bench() { # name spec folder problems batches [sample]
  local name=$1 spec=$2 folder=$3 problems=$4 batches=$5
  local peer=()
  [[ -f "$logs/peer-${name%%-*}.log" ]] && grep -q "PEER .*problems_per_s=" "$logs/peer-${name%%-*}.log" \
    && peer=(--peer "$logs/peer-${name%%-*}.log")
  # shellcheck disable=SC2086
  step "bench-$name" 240 "$codilab" bench "$spec" --model "$folder" --dtype "$dtype" --device "$device" \
    --problems $problems --batch-size $batches "${peer[@]}"
}
all_spec() { # base name -> a spec over all of train
  sed -e "s/^name: .*/name: $2-all/" -e "s/^  sample: .*/  sample: all/" "$work/specs/$1.yaml" > "$work/specs/$2-all.yaml"
  echo "$work/specs/$2-all.yaml"
}
[[ -d "$work/full-llama" ]] && bench llama-100 "$work/specs/llama-gsm8k.yaml" "$work/full-llama" "$n_hundred" "$batches_llama"
[[ -d "$work/full-gpt2" ]] && bench gpt2-100 "$work/specs/gpt2-gsm8k.yaml" "$work/full-gpt2" "$n_hundred" "$batches_gpt2"
if (( n_all > 0 )); then
  [[ -d "$work/full-llama" ]] && bench llama-all "$(all_spec llama-gsm8k llama)" "$work/full-llama" "$n_all" 256
  [[ -d "$work/full-gpt2" ]] && bench gpt2-all "$(all_spec gpt2-gsm8k gpt2)" "$work/full-gpt2" "$n_all" 512
fi

# ---- 4. one JSON
$python - "$logs" "$out/device-check.json" "$device" "$(cat "$repo/.dist/device/commit.txt")" "$(( $(date +%s) - start ))" <<'PY'
import json, os, re, sys
logs, path, device, commit, seconds = sys.argv[1:6]
steps = {}
for name in sorted(f[:-3] for f in os.listdir(logs) if f.endswith(".rc")):
    rc, took = open(os.path.join(logs, name + ".rc")).read().split()[:2]
    text = open(os.path.join(logs, name + ".log"), errors="replace").read()
    entry = {"rc": int(rc), "seconds": round(int(took) / 1000, 1)}
    if name.startswith("parity"):
        entry["summary"] = ([l for l in text.splitlines() if "questions match" in l] or text.splitlines()[-1:] or [""])[-1]
    elif name.startswith("peer"):
        entry["peer"] = ([l for l in text.splitlines() if l.startswith("PEER ")] or [None])[-1]
    elif name.startswith("bench"):
        entry["runs"] = [json.loads(l) for l in text.splitlines() if l.startswith("{")]
    if int(rc) != 0:
        entry["log_tail"] = text[-3000:]
    steps[name] = entry
gpu = open(os.path.join(logs, "gpu.txt")).read().strip()
json.dump({"device": device, "gpu": gpu, "commit": commit, "wall_seconds": int(seconds), "steps": steps},
          open(path, "w"), indent=1)
print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "log_tail"} for k, v in steps.items()}, indent=1)[:6000])
PY
tar -C "$work" -czf "$out/device-logs.tar.gz" logs
say "wrote $out/device-check.json"
rm -rf "$work"
