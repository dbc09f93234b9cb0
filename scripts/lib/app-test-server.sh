# Shared by the scripts that test against a running server (scripts/test-kotlin, scripts/test-swift,
# scripts/test-api-fuzz): starts `app-test-server` (a throwaway PostgreSQL cluster, the real server, the demo
# school) and stops it when the calling script exits. Source it after scripts/lib/env.sh, then:
#   start_app_test_server NAME    # NAME prefixes messages; sets HALLWAY_SERVER_URL and HALLWAY_CONTROL_URL
# The server's standard input is a pipe this shell holds open: closing it (on exit) stops the server and
# removes its cluster, so a script that dies cannot leave one behind.

app_server_pid=""
app_server_in=""
app_server_dir=""

stop_app_test_server() {
  if [[ -n $app_server_in ]]; then exec {app_server_in}>&-; app_server_in=""; fi
  if [[ -n $app_server_pid ]]; then
    for _ in $(seq 1 100); do kill -0 "$app_server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -TERM "$app_server_pid" 2>/dev/null || true
    wait "$app_server_pid" 2>/dev/null || true
    app_server_pid=""
  fi
  if [[ -n $app_server_dir ]]; then rm -rf "$app_server_dir"; app_server_dir=""; fi
}

start_app_test_server() {
  local name=$1
  cargo build --locked -q -p hallway-test-support --bin app-test-server
  app_server_dir=$(mktemp -d)
  mkfifo "$app_server_dir/in"
  "$CARGO_TARGET_DIR/debug/app-test-server" <"$app_server_dir/in" >"$app_server_dir/out" 2>"$app_server_dir/log" &
  app_server_pid=$!
  exec {app_server_in}>"$app_server_dir/in"
  for _ in $(seq 1 1200); do
    grep -q control_url "$app_server_dir/out" 2>/dev/null && break
    kill -0 "$app_server_pid" 2>/dev/null || break
    sleep 0.1
  done
  local line
  line=$(head -n 1 "$app_server_dir/out" 2>/dev/null || true)
  HALLWAY_SERVER_URL=$(sed -nE 's/.*"server_url" *: *"([^"]+)".*/\1/p' <<<"$line")
  HALLWAY_CONTROL_URL=$(sed -nE 's/.*"control_url" *: *"([^"]+)".*/\1/p' <<<"$line")
  if [[ -z $HALLWAY_SERVER_URL || -z $HALLWAY_CONTROL_URL ]]; then
    echo "$name: app-test-server did not start; its log:" >&2
    tail -n 40 "$app_server_dir/log" >&2
    return 1
  fi
  export HALLWAY_SERVER_URL HALLWAY_CONTROL_URL
  echo "$name: server at $HALLWAY_SERVER_URL (control $HALLWAY_CONTROL_URL)"
}

# The server's log, for a script that wants to show it after a failure.
app_test_server_log() {
  [[ -n $app_server_dir && -f $app_server_dir/log ]] && cat "$app_server_dir/log"
}
