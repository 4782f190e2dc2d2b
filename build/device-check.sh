#!/usr/bin/env bash
# Prepares the GPU check of docs/platform.md#the-gpu-check on THIS machine (which has .NET): a self-contained
# linux-x64 codilab without libtorch (the GPU host's Python PyTorch provides it), the parity fixtures, the peer
# scripts, GSM8K train and the experiment specs, packed into .dist/device/ (about 40 MB, under the 64 MiB a device
# call carries). On the GPU host, from the repository root:
#     bash build/device-run.sh                 # reads .dist/device/, writes $OUT/device-check.json
# Through the device tool: run(command="bash build/device-run.sh", carry=[".dist/device"], timeout_s=600).
# Options: --shared DIR (default ../shared: reference/fixtures, reference/*.py, data/gsm8k/train.jsonl),
#          --skip-publish (reuse .dist/codilab), --inputs-only (pack no app: for a local test of device-run.sh with
#          CODILAB=<a build>), --local-test (also run the CPU path here afterwards).
set -euo pipefail
cd "$(dirname "$0")/.."
shared=../shared
publish=1
local_test=0
inputs_only=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --shared) shared="$2"; shift 2 ;;
    --skip-publish) publish=0; shift ;;
    --local-test) local_test=1; shift ;;
    --inputs-only) publish=0; inputs_only=1; shift ;;
    *) echo "device-check.sh: unknown option '$1' (use --shared DIR, --skip-publish, --local-test)" >&2; exit 2 ;;
  esac
done
for need in "$shared/reference/fixtures/tiny-llama" "$shared/reference/fixtures/tiny-gpt2" "$shared/reference/codi_reference.py" \
  "$shared/reference/peer_codi.py" "$shared/data/gsm8k/train.jsonl"; do
  [[ -e "$need" ]] || { echo "device-check.sh: $need is missing; point --shared at the folder that holds reference/ and data/." >&2; exit 3; }
done
if [[ $publish == 1 ]]; then
  rm -rf .dist/codilab
  # TorchBackend=external: no libtorch inside; the host's torch/lib is loaded through LIBTORCH_PATH.
  dotnet publish src/CodiLab.Cli -c Release -r linux-x64 --self-contained -p:TorchBackend=external -o .dist/codilab -v q -nologo
fi
rm -rf .dist/device
stage=.dist/device-stage
rm -rf "$stage"
mkdir -p "$stage/fixtures" "$stage/reference" "$stage/data/gsm8k" "$stage/specs"
cp -r "$shared/reference/fixtures/tiny-llama" "$shared/reference/fixtures/tiny-gpt2" "$stage/fixtures/"
cp "$shared/reference/codi_reference.py" "$shared/reference/peer_codi.py" "$stage/reference/"
cp "$shared/data/gsm8k/train.jsonl" "$stage/data/gsm8k/"
cp experiments/llama-gsm8k.yaml experiments/gpt2-gsm8k.yaml "$stage/specs/"
chmod -R u+w "$stage"
mkdir -p .dist/device
[[ $inputs_only == 1 ]] || tar -C .dist -cJf .dist/device/codilab.tar.xz codilab
tar -C "$stage" -cJf .dist/device/inputs.tar.xz .
rm -rf "$stage"
git rev-parse HEAD > .dist/device/commit.txt 2>/dev/null || echo unknown > .dist/device/commit.txt
bytes=$(du -sb .dist/device | cut -f1)
echo "packed .dist/device: $((bytes / 1048576)) MiB (the device tool carries at most 64 MiB with the working tree)"
if (( bytes > 56 * 1048576 )); then
  echo "device-check.sh: the pack is over 56 MiB; the working tree must fit beside it in 64 MiB." >&2
  exit 1
fi
if [[ $local_test == 1 ]]; then
  DEVICE=cpu OUT=${OUT:-.dist/device-test-out} bash build/device-run.sh
fi
