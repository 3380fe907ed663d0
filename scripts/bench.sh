#!/usr/bin/env bash
# The figures of the closing notes, measured side by side in one run on this machine (`make bench`):
#   1. REST GET /v1/services/{id} through the gateway vs a bare net/http handler serving the same body (64 conns)
#   2. gRPC GetService vs the bare grpc.health.v1 Check on the same catalogue process (64 callers)
#   3. SearchServices on a large synthetic catalogue: 1 sequential client (target p99 < 20 ms), then 4 clients
#   4. catalogue start-up to SERVING and its VmRSS after start-up and after the search runs
# The load generator (bin/cusbench) shares the CPUs with the servers: compare the ratios, not the absolute numbers.
#
# Environment: BENCH_SERVICES (default 100000), BENCH_GMINAS (200), BENCH_DURATION (10s per timed run),
# BENCH_SEARCH_DURATION (15s), BENCH_WARMUP (2s), BENCH_CONNS (64), BENCH_ROUNDS (5: the pairs of figure 1 and 2
# run interleaved in this many rounds), BENCH_LOG_LEVEL (info, the product default).
# Results: var/bench/results.json (figures with PASS/MISS and every raw report), var/bench/run/*.json, logs in
# var/bench/log/. Exits 0 when a target is missed (the figures are reported, not asserted), non-zero on any error.
set -euo pipefail
cd "$(dirname "$0")/.."

SERVICES=${BENCH_SERVICES:-100000}
GMINAS=${BENCH_GMINAS:-200}
SEED=1 # the search query set's TERC codes and points are those of seed 1 with 200 gminas
DURATION=${BENCH_DURATION:-10s}
SEARCH_DURATION=${BENCH_SEARCH_DURATION:-15s}
WARMUP=${BENCH_WARMUP:-2s}
CONNS=${BENCH_CONNS:-64}
ROUNDS=${BENCH_ROUNDS:-5}
LOG_LEVEL=${BENCH_LOG_LEVEL:-info}
BIN=bin
OUT=var/bench
DATA=$OUT/catalogue
RUN=$OUT/run
LOG=$OUT/log
began=$(date +%s)
read -r la1 la5 la15 _ </proc/loadavg

cat_pid=""
gw_pid=""

alive() { # the process exists and is not a zombie
  [[ -r /proc/$1/stat ]] || return 1
  local stat
  stat=$(</proc/"$1"/stat) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

cleanup() {
  local rc=$? failed=0
  trap - EXIT INT TERM
  if ((rc != 0 && rc != 130 && rc != 143)); then failed=1; fi # 130/143: interrupted
  if [[ -z $cat_pid && -s $RUN/catalogue.pid ]]; then cat_pid=$(<"$RUN/catalogue.pid"); fi
  if ((failed)) && [[ -n $cat_pid ]] && ! alive "$cat_pid"; then
    echo "bench: the catalogue (pid $cat_pid) is gone; its log ends:" >&2
    grep -v '"msg":"rpc"' "$LOG/catalogue.log" | tail -n 5 >&2 || true
  fi
  if ((failed)) && [[ -n $gw_pid ]] && ! alive "$gw_pid"; then
    echo "bench: the gateway (pid $gw_pid) is gone; see $LOG/gateway.log" >&2
  fi
  if [[ -n $gw_pid ]]; then
    kill -TERM "$gw_pid" 2>/dev/null || true
    wait "$gw_pid" 2>/dev/null || true
  fi
  if [[ -n ${gw2_pid:-} ]]; then
    kill -TERM "$gw2_pid" 2>/dev/null || true
    wait "$gw2_pid" 2>/dev/null || true
  fi
  if [[ -n $cat_pid ]] && alive "$cat_pid"; then
    # Not a child of this shell (cusbench started it), so poll instead of wait.
    kill -TERM "$cat_pid" 2>/dev/null || true
    for _ in $(seq 1 150); do alive "$cat_pid" || break; sleep 0.1; done
    if alive "$cat_pid"; then
      echo "catalogue $cat_pid did not stop in 15s; killing it" >&2
      kill -KILL "$cat_pid" 2>/dev/null || true
    fi
  fi
  rm -f "$RUN/catalogue.pid"
  if ((failed)); then
    echo "bench: FAILED (exit $rc); logs in $LOG/" >&2
  elif ((rc != 0)); then
    echo "bench: interrupted" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== machine: $(nproc) CPU(s), load average before the bench $la1 $la5 $la15 (other work on the machine skews the figures)"
echo "== build"
${MAKE:-make} -s build
go build -o "$BIN/" ./bench/cmd/cusbench
CUSBENCH=$BIN/cusbench

busy=$("$CUSBENCH" busy --for 2s)
echo "== cores busy before starting anything: $busy of $(nproc)"
if awk -v b="$busy" 'BEGIN { exit !(b > 0.25) }'; then
  echo "WARNING: the machine is not quiet; the figures will be disturbed (see the per-run 'outside' figures)" >&2
fi

mkdir -p "$OUT" "$RUN" "$LOG"
rm -f "$RUN"/*.json "$RUN/catalogue.pid"

echo "== catalogue of $SERVICES services over $GMINAS gminas (seed $SEED) in $DATA"
params="services=$SERVICES gminas=$GMINAS seed=$SEED"
if [[ -f $DATA/catalogue.db && -f $DATA/PARAMS && $(<"$DATA/PARAMS") == "$params" ]]; then
  echo "  already generated with the same parameters (rm -rf $DATA to regenerate)"
else
  rm -rf "$DATA" "$DATA.tmp"
  "$BIN/catalogue" generate --profile harsh --services "$SERVICES" --gminas "$GMINAS" --seed "$SEED" --data-dir "$DATA.tmp"
  echo "$params" >"$DATA.tmp/PARAMS"
  mv "$DATA.tmp" "$DATA"
fi

# Preferred ports, or free ones when something else holds them.
ports=$("$CUSBENCH" ports 17001 17101 18080 18081)
read -r CAT_PORT ADMIN_PORT GW_PORT GW2_PORT <<<"$ports"
CAT=127.0.0.1:$CAT_PORT
GW=127.0.0.1:$GW_PORT
GW2=127.0.0.1:$GW2_PORT

cat_flags=(--log-level "$LOG_LEVEL")
cat_help=$("$BIN/catalogue" serve --help 2>&1 || true)
if [[ $cat_help == *--rate-per-caller* ]]; then
  # The gateway is a single caller to the catalogue, so a per-caller rate limit would turn the REST run into a
  # measurement of 429s. The benchmark measures capacity; the limiter is a policy on top of it.
  cat_flags+=(--rate-per-caller 0)
fi
if [[ $cat_help == *--rate-per-address* ]]; then
  # Likewise the load generator is one client address behind the gateway.
  cat_flags+=(--rate-per-address 0)
fi

echo
"$CUSBENCH" startup --bin "$BIN/catalogue" --data-dir "$DATA" --listen "$CAT" --admin-listen "127.0.0.1:$ADMIN_PORT" \
  --log "$LOG/catalogue.log" --pid-file "$RUN/catalogue.pid" --out "$RUN/startup.json" -- "${cat_flags[@]}"
cat_pid=$(<"$RUN/catalogue.pid")

"$BIN/gateway" --listen "$GW" --catalogue-addr "$CAT" --public-url "http://$GW" --log-level "$LOG_LEVEL" \
  >"$LOG/gateway.log" 2>&1 &
gw_pid=$!
"$CUSBENCH" wait --url "http://$GW/healthz" --timeout 30s
if ! alive "$gw_pid"; then # it could not bind, and someone else's gateway answered
  echo "bench: the gateway exited:" >&2
  tail -n 5 "$LOG/gateway.log" >&2
  exit 1
fi

# A second gateway with the public micro-cache off: the REST figure is reported both ways.
"$BIN/gateway" --listen "$GW2" --catalogue-addr "$CAT" --public-url "http://$GW2" --log-level "$LOG_LEVEL" \
  --public-cache-ttl 0 >"$LOG/gateway-nocache.log" 2>&1 &
gw2_pid=$!
"$CUSBENCH" wait --url "http://$GW2/healthz" --timeout 30s

name=$("$CUSBENCH" pick --addr "$CAT")
url="http://$GW/v1/$name"
echo
echo "service under test: $name"

echo
# Each pair is measured interleaved (A B, B A, ... in $ROUNDS rounds) by one generator process, so that other
# work on the machine weighs on both sides of a ratio alike.
"$CUSBENCH" http --url "$url" --vs-bare --conns "$CONNS" --warmup "$WARMUP" --duration "$DURATION" --rounds "$ROUNDS" \
  --label rest --out-dir "$RUN" --cpu-pids "gateway=$gw_pid,catalogue=$cat_pid"
echo
mkdir -p "$RUN/nocache"
"$CUSBENCH" http --url "http://$GW2/v1/$name" --vs-bare --conns "$CONNS" --warmup "$WARMUP" --duration "$DURATION" --rounds "$ROUNDS" \
  --label rest-nocache --out-dir "$RUN/nocache" --cpu-pids "gateway=$gw2_pid,catalogue=$cat_pid"
echo
"$CUSBENCH" grpc --addr "$CAT" --method getservice --vs health --name "$name" --conns "$CONNS" --warmup "$WARMUP" \
  --duration "$DURATION" --rounds "$ROUNDS" --out-dir "$RUN" --cpu-pids "catalogue=$cat_pid"
echo
"$CUSBENCH" search --addr "$CAT" --clients 1 --warmup "$WARMUP" --duration "$SEARCH_DURATION" --label search-1 --out "$RUN/search-1.json" \
  --cpu-pids "catalogue=$cat_pid"
echo
"$CUSBENCH" search --addr "$CAT" --clients 4 --warmup "$WARMUP" --duration "$SEARCH_DURATION" --label search-4 --out "$RUN/search-4.json" \
  --cpu-pids "catalogue=$cat_pid"
echo
"$CUSBENCH" rss --pid "$cat_pid" --label rss-after-search --out "$RUN/rss-after-search.json"

"$CUSBENCH" summary --dir "$RUN" --out "$OUT/results.json" --loadavg-before "$la1 $la5 $la15"
echo "total bench time: $(($(date +%s) - began)) s"
