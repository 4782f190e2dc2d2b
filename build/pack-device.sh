#!/usr/bin/env bash
# Packs a self-contained linux-x64 `codilab` for a GPU host that has no .NET (docs/platform.md): no native libtorch
# inside (TorchBackend=external); run it there with LIBTORCH_PATH (or --libtorch) naming a CUDA libtorch, e.g.
#   LIBTORCH_PATH=$(python3 -c "import torch,os; print(os.path.dirname(torch.__file__))")/lib \
#     .dist/codilab/codilab parity ../shared/reference/fixtures/tiny-llama --device cuda
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .dist/codilab
dotnet publish src/CodiLab.Cli -c Release -r linux-x64 --self-contained -p:TorchBackend=external -o .dist/codilab
tar -C .dist -cJf .dist/codilab-linux-x64.tar.xz codilab
du -sh .dist/codilab .dist/codilab-linux-x64.tar.xz
