#!/usr/bin/env bash
# Installs what the project needs, idempotently: npm packages, the WASM kernels, the compiled
# JavaScript and the Temporal CLI.
# Quick (well under a second) when everything is already in place.
#
#   bash infra/setup.sh            # or: npm run setup
#   SLS_CUDA=1 bash infra/setup.sh # also fetch onnxruntime-node's CUDA 12 providers (from NuGet)
#   bash infra/setup.sh --with-browser  # also Debian's chromium, for the report's browser test (npm test)
set -euo pipefail

# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$SLS_ROOT"
mkdir -p "$SLS_STATE_DIR"

# Two setups at once (e.g. two `npm test`) must not both run `npm ci` into one node_modules.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$SLS_STATE_DIR/setup.lock"
  flock -w 900 9 || { sls_err "another infra/setup.sh holds $SLS_STATE_DIR/setup.lock"; exit 1; }
fi

ORT_BIN_DIR="node_modules/onnxruntime-node/bin/napi-v6/linux/x64"

# Loads the native packages the way the project uses them; fails loudly if one is broken.
smoke_check_node_modules() {
  node --input-type=module -e '
    import { createRequire } from "node:module";
    const require = createRequire(process.cwd() + "/package.json");
    const ort = (await import("onnxruntime-node")).default;
    new ort.Tensor("float32", new Float32Array(1), [1]);
    const sharp = (await import("sharp")).default;
    await sharp({ create: { width: 1, height: 1, channels: 3, background: "#000" } }).png().toBuffer();
    const esbuild = await import("esbuild");
    await esbuild.transform("const a: number = 1", { loader: "ts" });
    require("@swc/core").transformSync("const a: number = 1", { jsc: { parser: { syntax: "typescript" } } });
  ' </dev/null
}

# --- 1. npm packages ---------------------------------------------------------------------------
[[ -f package-lock.json ]] || { sls_err "package-lock.json is missing; run 'npm install' once to create it"; exit 1; }
lock_hash="$(sha256sum package-lock.json | cut -d' ' -f1)"
stamp="node_modules/.sls-setup-stamp"
if [[ -d node_modules && -f "$stamp" && "$(cat "$stamp")" == "$lock_hash" ]]; then
  sls_log "npm packages: already done"
else
  npm_log="$SLS_STATE_DIR/setup-npm.log"
  t0=$SECONDS
  # onnxruntime-node's postinstall downloads the CUDA providers from NuGet on linux/x64 unless told
  # to skip. The CPU runtime ships inside the npm package, so skipping loses nothing on CPU.
  if [[ "${SLS_CUDA:-0}" == "1" ]]; then
    ort_install="${ONNXRUNTIME_NODE_INSTALL:-cuda12}"
  else
    ort_install="skip"
  fi
  # npm 11 warns about unreviewed dependency install scripts; all native packages used here
  # (onnxruntime-node, sharp, esbuild, @swc/core, @temporalio/core-bridge) ship prebuilt binaries
  # and work whether or not their scripts ran (checked by smoke_check_node_modules below).
  if ! ONNXRUNTIME_NODE_INSTALL="$ort_install" npm ci --no-audit --no-fund </dev/null >"$npm_log" 2>&1; then
    sls_err "npm ci failed (full log: $npm_log)"
    tail -n 30 "$npm_log" >&2
    exit 1
  fi
  if ! smoke_check_node_modules >>"$npm_log" 2>&1; then
    sls_err "npm ci succeeded but a native package does not load (see $npm_log)"
    tail -n 30 "$npm_log" >&2
    exit 1
  fi
  printf '%s\n' "$lock_hash" >"$stamp"
  sls_log "npm packages: installed with npm ci ($((SECONDS - t0))s)"
fi

# --- 2. onnxruntime CUDA providers (only with SLS_CUDA=1) ---------------------------------------
if [[ "${SLS_CUDA:-0}" == "1" ]]; then
  if [[ "$(uname -s)/$(uname -m)" != "Linux/x86_64" ]]; then
    sls_log "onnxruntime cuda: skipped (CUDA providers are only fetched on linux/x64)"
  elif [[ -f "$ORT_BIN_DIR/libonnxruntime_providers_cuda.so" ]]; then
    sls_log "onnxruntime cuda: already done"
  else
    # The postinstall may not have run (npm 11 install-script policy): run it directly.
    ort_log="$SLS_STATE_DIR/setup-ort-cuda.log"
    if ! (cd node_modules/onnxruntime-node && ONNXRUNTIME_NODE_INSTALL="${ONNXRUNTIME_NODE_INSTALL:-cuda12}" \
      node ./script/install </dev/null >"$ort_log" 2>&1) ||
      [[ ! -f "$ORT_BIN_DIR/libonnxruntime_providers_cuda.so" ]]; then
      sls_err "fetching onnxruntime-node CUDA providers failed (see $ort_log)"
      tail -n 20 "$ort_log" >&2
      exit 1
    fi
    sls_log "onnxruntime cuda: installed CUDA 12 providers into $ORT_BIN_DIR"
  fi
fi

# --- 3. WASM kernels (t-SNE and the silhouette; AssemblyScript sources in wasm/) --------------------
# wasm/NAME.ts builds to dist/wasm/NAME.wasm (infra/build-wasm.sh); all are rebuilt when any is
# missing or older than any source in wasm/ (kernels share helper files) or the shared config.
mapfile -t wasm_kernels < <(bash infra/build-wasm.sh --names)
wasm_stale=0
for wasm_kernel in "${wasm_kernels[@]}"; do
  wasm_out="dist/wasm/$wasm_kernel.wasm"
  [[ -f "$wasm_out" ]] || wasm_stale=1
  for wasm_source in wasm/*.ts wasm/asconfig.json; do
    [[ "$wasm_out" -nt "$wasm_source" ]] || wasm_stale=1
  done
done
if [[ "$wasm_stale" == "0" ]]; then
  sls_log "wasm kernels: already done"
else
  wasm_log="$SLS_STATE_DIR/setup-wasm.log"
  if ! npm run --silent build:wasm </dev/null >"$wasm_log" 2>&1; then
    sls_err "building the WASM kernels failed (see $wasm_log)"
    tail -n 20 "$wasm_log" >&2
    exit 1
  fi
  for wasm_kernel in "${wasm_kernels[@]}"; do
    if [[ ! -f "dist/wasm/$wasm_kernel.wasm" ]]; then
      sls_err "building the WASM kernels left no dist/wasm/$wasm_kernel.wasm (see $wasm_log)"
      exit 1
    fi
  done
  sls_log "wasm kernels: built ${wasm_kernels[*]/%/.wasm} in dist/wasm"
fi

# --- 4. compiled JavaScript (dist/js: processes and threads start without tsx) -----------------
# Rebuilt when any source changed since the last build (infra/compiled.mjs); bin/sls.mjs runs the
# sources through tsx until then, so a stale build is never run.
compiled_log="$SLS_STATE_DIR/setup-compiled.log"
if ! node infra/compiled.mjs </dev/null >"$compiled_log" 2>&1; then
  sls_err "compiling the TypeScript sources to dist/js failed (see $compiled_log)"
  tail -n 20 "$compiled_log" >&2
  exit 1
fi
sls_log "$(tail -n 1 "$compiled_log")"

# --- 5. Temporal CLI ------------------------------------------------------------------------------
sls_ensure_temporal

# --- 6. chromium (the report's browser test drives Debian's chromium with playwright-core) --------
# Only the tests need it (`npm test` passes --with-browser); `npm start` does not install it.
if [[ " $* " != *" --with-browser "* ]]; then
  :
elif command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || [[ -n "${SLS_CHROMIUM:-}" ]]; then
  sls_log "chromium: already done"
elif command -v apt-get >/dev/null 2>&1 && [[ "$(id -u)" == "0" ]]; then
  chromium_log="$SLS_STATE_DIR/setup-chromium.log"
  t0=$SECONDS
  if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium; } </dev/null >"$chromium_log" 2>&1; then
    sls_err "apt-get install chromium failed (full log: $chromium_log)"
    tail -n 20 "$chromium_log" >&2
    exit 1
  fi
  sls_log "chromium: installed with apt-get ($((SECONDS - t0))s)"
else
  sls_err "chromium is missing and cannot be installed here (needs apt-get as root); install it, or set SLS_CHROMIUM to a chromium binary"
  exit 1
fi
