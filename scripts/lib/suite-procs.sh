# Sourced by the bench scripts that start the suite's processes: remembers each server (started), waits for
# its port (wait_tcp), and on exit stops them in reverse order, showing the log of any that died. The script sets
# SCRIPT (its name, for messages) and LOG (the logs directory) before sourcing this file.
# shellcheck shell=bash

names=()
pids=()

alive() { # the process exists and is not a zombie
  [[ -r /proc/$1/stat ]] || return 1
  local stat
  stat=$(</proc/"$1"/stat) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

cleanup() {
  local rc=$? i
  trap - EXIT INT TERM
  if ((rc != 0 && rc != 130 && rc != 143)); then
    for i in "${!pids[@]}"; do
      if ! alive "${pids[$i]}"; then
        echo "$SCRIPT: ${names[$i]} (pid ${pids[$i]}) is gone; its log ends:" >&2
        tail -n 5 "$LOG/${names[$i]}.log" >&2 || true
      fi
    done
  fi
  # Stop in reverse order of start: the gateway first, the catalogue last.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do wait "${pids[$i]}" 2>/dev/null || true; done
  if ((rc == 130 || rc == 143)); then
    echo "$SCRIPT: interrupted" >&2
  elif ((rc != 0)); then
    echo "$SCRIPT: FAILED (exit $rc); logs in $LOG/" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die() {
  echo "$SCRIPT: $*" >&2
  exit 1
}

started() { # name pid: remember a server for cleanup
  names+=("$1")
  pids+=("$2")
}

wait_tcp() { # addr name pid: wait until the server's port accepts connections
  local addr=$1 name=$2 pid=$3
  for _ in $(seq 1 300); do
    alive "$pid" || die "$name exited at start-up; see $LOG/$name.log"
    if (exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  die "$name did not start in 30s; see $LOG/$name.log"
}

