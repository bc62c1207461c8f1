#!/usr/bin/env bash
# Builds the AssemblyScript kernels in wasm/ to dist/wasm/NAME.wasm (`npm run build:wasm`;
# infra/setup.sh runs it when a kernel is missing or older than any file in wasm/).
#   bash infra/build-wasm.sh          build them all
#   bash infra/build-wasm.sh --names  print the kernels' names, one a line
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# NAME:TARGET (a target of wasm/asconfig.json): 'sharedMemory' kernels import the shared memory
# that every thread of a t-SNE run works on; 'release' ones have their own.
kernels=(
  knn:release
  blockKnn:release
  rowProducts:release
  silhouette:release
  exactRepulsion:sharedMemory
  attraction:sharedMemory
  fft:sharedMemory
)

if [[ "${1:-}" == "--names" ]]; then
  for entry in "${kernels[@]}"; do printf '%s\n' "${entry%%:*}"; done
  exit 0
fi
for entry in "${kernels[@]}"; do
  name="${entry%%:*}"
  node_modules/.bin/asc "wasm/$name.ts" --config wasm/asconfig.json --target "${entry##*:}" --outFile "dist/wasm/$name.wasm"
done
