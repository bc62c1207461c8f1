#!/usr/bin/env bash
# The local Temporal dev server (CLI `temporal server start-dev`), with its web UI and a SQLite
# file under .sls/temporal/ so that workflow runs survive a restart.
#
#   bash infra/temporal.sh start|stop|status|path
#
#   SLS_TEMPORAL_PORT     frontend gRPC port (default 7233)
#   SLS_TEMPORAL_UI_PORT  web UI port (default 8233)
#   SLS_TEMPORAL_START_TIMEOUT  seconds to wait for the server to answer (default 90)
set -euo pipefail

# shellcheck source=infra/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
sls_temporal_settings

# Search attributes the workflows set (DESIGN.md): name=type.
SEARCH_ATTRIBUTES=(Dataset=Keyword Sweep=Keyword Stage=Keyword Alpha=Double KeptLayers=Int Stable=Bool)
RETENTION="720h" # 30 days (Go duration; the dev server's default is 24h)

usage() {
  echo "usage: bash infra/temporal.sh start|stop|status|path" >&2
  exit 2
}

need_temporal() {
  SLS_TEMPORAL="$(sls_temporal_path)" || {
    sls_err "no temporal CLI found (PATH, .venv/bin/temporal); run 'npm run setup'"
    exit 1
  }
}

healthy() {
  "$SLS_TEMPORAL" operator cluster health --address "$SLS_TEMPORAL_ADDRESS" --command-timeout 5s \
    </dev/null >/dev/null 2>&1
}

# pid from the pid file, if that process is alive and is a temporal dev server.
live_pid() {
  [[ -f "$SLS_TEMPORAL_PID" ]] || return 1
  local pid
  pid="$(cat "$SLS_TEMPORAL_PID" 2>/dev/null)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q 'start-dev' || return 1
  printf '%s\n' "$pid"
}

print_endpoints() {
  sls_log "  frontend: $SLS_TEMPORAL_ADDRESS"
  sls_log "  web UI:   $SLS_TEMPORAL_UI_URL"
}

cmd_start() {
  mkdir -p "$SLS_TEMPORAL_DIR"
  sls_ensure_temporal >/dev/null # installs the CLI into .venv if nothing else provides one
  local pid
  if healthy; then
    if pid="$(live_pid)"; then
      sls_log "temporal dev server: already running (pid $pid), nothing to do"
    else
      sls_log "temporal dev server: a server already answers on $SLS_TEMPORAL_ADDRESS (not started by this script), nothing to do"
    fi
    print_endpoints
    return 0
  fi

  if ! pid="$(live_pid)"; then
    local args=(server start-dev
      --ip "$SLS_TEMPORAL_IP"
      --port "$SLS_TEMPORAL_PORT"
      --ui-port "$SLS_TEMPORAL_UI_PORT"
      --db-filename "$SLS_TEMPORAL_DB"
      --ui-disable-news-fetch)
    local sa
    for sa in "${SEARCH_ATTRIBUTES[@]}"; do args+=(--search-attribute "$sa"); done
    {
      printf '\n=== %s: %s' "$(date -Is)" "$SLS_TEMPORAL"
      printf ' %q' "${args[@]}"
      printf '\n'
    } >>"$SLS_TEMPORAL_LOG"
    # setsid + nohup: own session, no controlling terminal, survives the calling shell and npm.
    setsid nohup "$SLS_TEMPORAL" "${args[@]}" </dev/null >>"$SLS_TEMPORAL_LOG" 2>&1 &
    pid=$!
    printf '%s\n' "$pid" >"$SLS_TEMPORAL_PID"
    sls_log "temporal dev server: starting (pid $pid, log $SLS_TEMPORAL_LOG)"
  else
    sls_log "temporal dev server: pid $pid is starting, waiting for it"
  fi

  local timeout="${SLS_TEMPORAL_START_TIMEOUT:-90}" t0=$SECONDS
  until healthy; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$SLS_TEMPORAL_PID"
      sls_err "temporal dev server exited during start-up; last lines of $SLS_TEMPORAL_LOG:"
      tail -n 30 "$SLS_TEMPORAL_LOG" >&2
      exit 1
    fi
    if ((SECONDS - t0 >= timeout)); then
      sls_err "temporal dev server (pid $pid) did not answer on $SLS_TEMPORAL_ADDRESS within ${timeout}s; last lines of $SLS_TEMPORAL_LOG:"
      tail -n 30 "$SLS_TEMPORAL_LOG" >&2
      exit 1
    fi
    sleep 0.5
  done

  local out
  if ! out="$("$SLS_TEMPORAL" operator namespace update --address "$SLS_TEMPORAL_ADDRESS" \
    --namespace default --retention "$RETENTION" --command-timeout 15s </dev/null 2>&1)"; then
    sls_err "could not set the default namespace's retention to $RETENTION: $out"
    exit 1
  fi
  sls_log "temporal dev server: running after $((SECONDS - t0))s (pid $pid, db $SLS_TEMPORAL_DB, 'default' retention 30d)"
  print_endpoints
}

cmd_stop() {
  local pid
  if ! pid="$(live_pid)"; then
    rm -f "$SLS_TEMPORAL_PID"
    if [[ -n "${SLS_TEMPORAL:-}" ]] && healthy; then
      sls_log "temporal dev server: not started by this script (a server answers on $SLS_TEMPORAL_ADDRESS; leaving it alone)"
    else
      sls_log "temporal dev server: not running, nothing to do"
    fi
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  local i
  for ((i = 0; i < 60; i++)); do # 30 s, then SIGKILL
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.5
  done
  if kill -0 "$pid" 2>/dev/null; then
    sls_log "temporal dev server: pid $pid ignored SIGTERM for 30s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    for ((i = 0; i < 20; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.25
    done
  fi
  rm -f "$SLS_TEMPORAL_PID"
  sls_log "temporal dev server: stopped (pid $pid)"
}

cmd_status() {
  local pid state
  if healthy; then
    if pid="$(live_pid)"; then state="running (pid $pid)"; else state="running (not started by this script)"; fi
    sls_log "temporal dev server: $state"
    print_endpoints
    sls_log "  db file:  $SLS_TEMPORAL_DB"
    return 0
  fi
  if pid="$(live_pid)"; then state="not answering (pid $pid alive: starting, or stuck; see $SLS_TEMPORAL_LOG)"; else state="not running"; fi
  sls_log "temporal dev server: $state"
  print_endpoints
  sls_log "  db file:  $SLS_TEMPORAL_DB$([[ -f "$SLS_TEMPORAL_DB" ]] || echo ' (not created yet)')"
  return 3
}

case "${1:-}" in
  start) cmd_start ;;
  stop)
    SLS_TEMPORAL="$(sls_temporal_path 2>/dev/null)" || SLS_TEMPORAL=""
    cmd_stop
    ;;
  status)
    if ! SLS_TEMPORAL="$(sls_temporal_path 2>/dev/null)"; then
      sls_log "temporal dev server: not running (no temporal CLI yet; run 'npm run setup')"
      exit 3
    fi
    cmd_status
    ;;
  path)
    need_temporal
    printf '%s\n' "$SLS_TEMPORAL"
    ;;
  *) usage ;;
esac
