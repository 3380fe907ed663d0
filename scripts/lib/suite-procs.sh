# Sourced by the bench scripts that start the suite's processes: starts the whole suite (start_suite), remembers
# each server (started), waits for its port (wait_tcp), and on exit stops them in reverse order, showing the log
# of any that died. The script sets SCRIPT (its name, for messages), BIN, OUT, RUN, LOG, DEV, CUSBENCH and
# LOG_LEVEL (and may set GATEWAY_BIN, GATEWAY_ARGS) before sourcing this file.
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

start_suite() { # base ports (catalogue provider referral gateway, then the three admin ports): builds, then
  # starts the catalogue, the provider registry, the referral service (demo data, development key, no rate
  # limits: one load generator is every caller) and the gateway ($GATEWAY_BIN with $GATEWAY_ARGS) on free ports
  # near them, with fresh data in $OUT. Sets CAT, PROV, REF, GWADDR, GW and COORD (a coordinator's token).
  echo "== machine: $(nproc) CPU(s), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "== build"
  ${MAKE:-make} -s build
  go build -o "$BIN/" ./bench/cmd/cusbench
  rm -rf "$OUT"
  mkdir -p "$RUN" "$LOG" "$DEV"
  local ports CAT_PORT PROV_PORT REF_PORT GW_PORT CAT_ADMIN PROV_ADMIN REF_ADMIN
  ports=$("$CUSBENCH" ports "$@")
  read -r CAT_PORT PROV_PORT REF_PORT GW_PORT CAT_ADMIN PROV_ADMIN REF_ADMIN <<<"$ports"
  CAT=127.0.0.1:$CAT_PORT
  PROV=127.0.0.1:$PROV_PORT
  REF=127.0.0.1:$REF_PORT
  GWADDR=127.0.0.1:$GW_PORT
  GW=http://$GWADDR
  local common=(--dev-mode --dev-keys-dir "$DEV" --demo-data --rate-per-caller 0 --rate-per-address 0 --log-level "$LOG_LEVEL")

  echo "== servers (data in $OUT/, logs in $LOG/)"
  "$BIN/catalogue" serve --data-dir "$OUT/catalogue" --listen "$CAT" --admin-listen "127.0.0.1:$CAT_ADMIN" \
    --provider-addr "$PROV" "${common[@]}" >"$LOG/catalogue.log" 2>&1 &
  started catalogue $!
  wait_tcp "$CAT" catalogue $!

  "$BIN/provider" serve --data-dir "$OUT/provider" --listen "$PROV" --admin-listen "127.0.0.1:$PROV_ADMIN" \
    --catalogue-addr "$CAT" "${common[@]}" >"$LOG/provider.log" 2>&1 &
  started provider $!
  wait_tcp "$PROV" provider $!

  "$BIN/referral" serve --data-dir "$OUT/referral" --listen "$REF" --admin-listen "127.0.0.1:$REF_ADMIN" \
    --catalogue-addr "$CAT" --provider-addr "$PROV" --pesel-key-file "$DEV/pesel-index.key" \
    "${common[@]}" >"$LOG/referral.log" 2>&1 &
  started referral $!
  wait_tcp "$REF" referral $!

  # shellcheck disable=SC2086 # GATEWAY_ARGS is a list of flags
  "${GATEWAY_BIN:-$BIN/gateway}" --listen "$GWADDR" --catalogue-addr "$CAT" --provider-addr "$PROV" --referral-addr "$REF" \
    --public-url "$GW" --log-level "$LOG_LEVEL" ${GATEWAY_ARGS:-} >"$LOG/gateway.log" 2>&1 &
  started gateway $!
  local gw_pid=$!
  "$CUSBENCH" wait --url "$GW/healthz" --timeout 30s
  alive "$gw_pid" || die "the gateway exited (someone else's answered?); see $LOG/gateway.log"
  echo "  catalogue $CAT, provider $PROV, referral $REF, gateway $GW"
  COORD=$("$BIN/cusctl" token --role coordinator --keys-dir "$DEV")
}
