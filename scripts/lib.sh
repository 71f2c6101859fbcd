# Shared helpers for the scripts in scripts/. Source it; it defines functions only.
#
# Every server the scripts start binds to 127.0.0.1 and is stopped through the pid
# file it was started with; nothing is ever killed by name.

stagefs_die() {
  echo "$(basename "$0"): $*" >&2
  exit 1
}

# Prints a TCP port on 127.0.0.1 that nothing listens on right now.
stagefs_free_port() {
  python3 - <<'PY'
import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
PY
}

# Prints 2*N random hex characters (used for credentials).
stagefs_random_hex() {
  python3 -c "import secrets,sys; print(secrets.token_hex(int(sys.argv[1])))" "$1"
}

# Prints the last lines of every log file given, with a header per file.
stagefs_log_tail() {
  local f
  for f in "$@"; do
    [ -s "$f" ] || continue
    echo "----- last 30 lines of $f -----"
    tail -n 30 "$f"
  done
}

# Sends SIGTERM to the process in pid file $1 if its command line contains $2
# (so a reused pid is never hit), waits up to $3 seconds (default 10), then
# SIGKILLs it. Removes the pid file.
stagefs_stop_pidfile() {
  local pidfile=$1 marker=$2 wait_s=${3:-10} pid i
  [ -f "$pidfile" ] || return 0
  pid=$(cat "$pidfile" 2>/dev/null || true)
  rm -f "$pidfile"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 0
  [ -r "/proc/$pid/cmdline" ] || return 0
  if ! tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "$marker"; then
    return 0  # not ours (pid reused)
  fi
  kill "$pid" 2>/dev/null || return 0
  for ((i = 0; i < wait_s * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  kill -9 "$pid" 2>/dev/null || true
}

# Waits until command "$@" succeeds, polling every 0.2 s, for at most
# $STAGEFS_WAIT_S seconds. Returns 1 on timeout.
stagefs_wait_for() {
  local deadline=$((SECONDS + ${STAGEFS_WAIT_S:-60}))
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.2
  done
}

# Prints the path of s3rver's entry script (s3rver 3, installed globally by
# scripts/install-deps), or fails.
stagefs_s3rver_js() {
  local root js
  root=$(npm root -g 2>/dev/null) || return 1
  js="$root/s3rver/bin/s3rver.js"
  [ -f "$js" ] || return 1
  echo "$js"
}
