#!/usr/bin/env bash
# The growth table of issue 12 (`make bench-scale`): for each catalogue size, on this machine, end to end:
#   1. generate a realistic synthetic catalogue as import files (catalogue generate --out-dir: CSV and HSDS 3.0
#      JSON files within ImportServices' limits, and a query set of resident searches for the same catalogue);
#   2. start the catalogue on an empty data directory and import the files through gRPC ImportServices, a few
#      requests in flight: durable services/s; memory right after and 10 s later;
#   3. restart it: seconds from process start to grpc.health.v1 SERVING, memory (VmRSS, RssAnon, RssFile);
#   4. search: the query set at 1 client (p50/p99) and at 8 clients (queries/s), page size 20, every answer
#      checked; memory after the searches; the data file's size and the search snapshot's, if there is one.
# Then it writes var/bench-scale/results.json and table.md (one row per figure, one column per size, the targets
# at 500k) and prints the table. The load average is recorded beside each step.
#
# Environment: BENCH_SCALE_SIZES ("10000 100000 500000 1000000"), BENCH_SCALE_GMINAS (2477, all of Poland's),
# BENCH_SCALE_SEED (1), BENCH_SCALE_QUERIES (200), BENCH_SCALE_FORMAT (mixed: CSV and HSDS files, about half of
# the services each; csv or hsds), BENCH_SCALE_IN_FLIGHT (3 import requests at once), BENCH_SCALE_SEARCH_DURATION
# (15s per search run), BENCH_SCALE_WARMUP (2s), BENCH_SCALE_LOG_LEVEL (warn), BENCH_SCALE_OUT (var/bench-scale),
# BENCH_SCALE_KEEP (0: each size's data and import files are deleted once measured; 1 keeps them),
# BENCH_SCALE_MEMORY_LIMIT (the catalogue's --memory-limit, "auto" by default: see the catalogue's
# internal/app/memlimit.go; outside a container auto sets none, so give a size to measure as a container would).
# Exits 0 when a target is missed (the figures are reported, not asserted), non-zero on any error.
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=${BENCH_SCALE_SIZES:-10000 100000 500000 1000000}
GMINAS=${BENCH_SCALE_GMINAS:-2477}
SEED=${BENCH_SCALE_SEED:-1}
QUERIES=${BENCH_SCALE_QUERIES:-200}
FORMAT=${BENCH_SCALE_FORMAT:-mixed}
IN_FLIGHT=${BENCH_SCALE_IN_FLIGHT:-3}
SEARCH_DURATION=${BENCH_SCALE_SEARCH_DURATION:-15s}
WARMUP=${BENCH_SCALE_WARMUP:-2s}
LOG_LEVEL=${BENCH_SCALE_LOG_LEVEL:-warn}
OUT=${BENCH_SCALE_OUT:-var/bench-scale}
KEEP=${BENCH_SCALE_KEEP:-0}
MEMORY_LIMIT=${BENCH_SCALE_MEMORY_LIMIT:-auto}
BIN=bin
DEV=$OUT/dev
began=$(date +%s)

cat_pid=""
pid_file=""
child=""

# run runs one step in the background and waits for it, so that a TERM or INT reaches the traps at once (bash
# runs a trap only between foreground commands); cleanup ends the step.
run() {
  "$@" &
  child=$!
  wait "$child"
  child=""
}

alive() { # the process exists and is not a zombie
  [[ -r /proc/$1/stat ]] || return 1
  local stat
  stat=$(</proc/"$1"/stat) || return 1
  stat=${stat##*) }
  [[ ${stat%% *} != Z ]]
}

# stop_catalogue ends the catalogue cusbench started (not a child of this shell, so it is polled, not waited).
stop_catalogue() {
  if [[ -z $cat_pid && -n $pid_file && -s $pid_file ]]; then cat_pid=$(<"$pid_file"); fi
  if [[ -n $cat_pid ]] && alive "$cat_pid"; then
    kill -TERM "$cat_pid" 2>/dev/null || true
    for _ in $(seq 1 300); do alive "$cat_pid" || break; sleep 0.1; done
    if alive "$cat_pid"; then
      echo "catalogue $cat_pid did not stop in 30s; killing it" >&2
      kill -KILL "$cat_pid" 2>/dev/null || true
    fi
  fi
  cat_pid=""
  if [[ -n $pid_file ]]; then rm -f "$pid_file"; fi
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n $child ]]; then
    kill -TERM "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  if ((rc != 0 && rc != 130 && rc != 143)) && [[ -n ${log:-} && -f ${log:-} ]]; then
    echo "bench-scale: the catalogue's log ends:" >&2
    tail -n 5 "$log" >&2 || true
  fi
  stop_catalogue
  if ((rc == 130 || rc == 143)); then
    echo "bench-scale: interrupted" >&2
  elif ((rc != 0)); then
    echo "bench-scale: FAILED (exit $rc); logs in $OUT/<size>/catalogue*.log" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

read -r la1 la5 la15 _ </proc/loadavg
echo "== machine: $(nproc) CPU(s), $(awk '/MemTotal/ {printf "%.1f GB", $2/1048576}' /proc/meminfo) memory, load average $la1 $la5 $la15 (other work on the machine skews the figures)"
echo "== sizes: $SIZES; $GMINAS gminas, seed $SEED, $FORMAT import files, $QUERIES queries; catalogue --memory-limit $MEMORY_LIMIT"
echo "== build"
${MAKE:-make} -s build
go build -o "$BIN/" ./bench/cmd/cusbench
CUSBENCH=$BIN/cusbench

mkdir -p "$OUT"
ports=$("$CUSBENCH" ports 17401 17402)
read -r CAT_PORT ADMIN_PORT <<<"$ports"
CAT=127.0.0.1:$CAT_PORT
ADMIN=127.0.0.1:$ADMIN_PORT

cat_flags=(--log-level "$LOG_LEVEL" --dev-mode --dev-keys-dir "$DEV")
cat_help=$("$BIN/catalogue" serve --help 2>&1 || true)
# One caller (the importer, the search clients) from one address: the rate limits are a policy on top of the
# capacity this measures.
if [[ $cat_help == *--rate-per-caller* ]]; then cat_flags+=(--rate-per-caller 0); fi
if [[ $cat_help == *--rate-per-address* ]]; then cat_flags+=(--rate-per-address 0); fi
if [[ $cat_help == *--memory-limit* ]]; then cat_flags+=(--memory-limit "$MEMORY_LIMIT"); fi

loadavg1() { read -r l _ </proc/loadavg && echo "$l"; }

for n in $SIZES; do
  dir=$OUT/$n
  files=$dir/files
  data=$dir/data
  log=$dir/catalogue.log
  pid_file=$dir/catalogue.pid
  rm -rf "$dir"
  mkdir -p "$dir"
  echo
  echo "======== $n services"

  echo "== generate (load average $(loadavg1))"
  t0=$(date +%s.%N)
  run "$BIN/catalogue" generate --out-dir "$files" --services "$n" --gminas "$GMINAS" --seed "$SEED" --format "$FORMAT" --queries "$QUERIES"
  gen_s=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.3f", b - a }')
  gen_la=$(loadavg1)
  import_bytes=$(find "$files" -name '[0-9]*.*' -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
  # The generator leaves the files in the page cache, dirty, and the kernel writes them back up to 30 s later
  # (vm.dirty_expire_centisecs): during the import, whose fsyncs would queue behind hundreds of MB of the
  # generator's writes. An importer sends its files from elsewhere: write them out before the import starts.
  sync

  echo
  run "$CUSBENCH" startup --bin "$BIN/catalogue" --data-dir "$data" --listen "$CAT" --admin-listen "$ADMIN" \
    --log "$dir/catalogue-import.log" --pid-file "$pid_file" --label startup-empty --out "$dir/startup-empty.json" -- "${cat_flags[@]}"
  log=$dir/catalogue-import.log
  cat_pid=$(<"$pid_file")
  "$BIN/cusctl" token --role organiser --keys-dir "$DEV" >"$dir/token"
  echo
  run "$CUSBENCH" import --addr "$CAT" --dir "$files" --token-file "$dir/token" --in-flight "$IN_FLIGHT" --out "$dir/import.json"
  "$CUSBENCH" rss --pid "$cat_pid" --label rss-after-import --out "$dir/rss-after-import.json"
  # The collector's pacing hands an import's garbage back once the import is over (catalogue --gc-headroom).
  sleep 10
  "$CUSBENCH" rss --pid "$cat_pid" --label rss-import-settled --out "$dir/rss-import-settled.json"
  stop_catalogue

  echo
  run "$CUSBENCH" startup --bin "$BIN/catalogue" --data-dir "$data" --listen "$CAT" --admin-listen "$ADMIN" \
    --log "$dir/catalogue.log" --pid-file "$pid_file" --label startup --out "$dir/startup.json" -- "${cat_flags[@]}"
  log=$dir/catalogue.log
  cat_pid=$(<"$pid_file")
  echo
  # The report (200 queries long) goes to the file only.
  run "$CUSBENCH" search --addr "$CAT" --queries "$files/queries.json" --clients 1 --warmup "$WARMUP" --duration "$SEARCH_DURATION" \
    --label search-1 --out "$dir/search-1.json" --cpu-pids "catalogue=$cat_pid" --result-line=false
  echo
  run "$CUSBENCH" search --addr "$CAT" --queries "$files/queries.json" --clients 8 --warmup "$WARMUP" --duration "$SEARCH_DURATION" \
    --label search-8 --out "$dir/search-8.json" --cpu-pids "catalogue=$cat_pid" --result-line=false
  echo
  "$CUSBENCH" rss --pid "$cat_pid" --label rss-after-search --out "$dir/rss-after-search.json"
  stop_catalogue

  data_bytes=$(stat -c %s "$data/catalogue.db")
  search_bytes=0
  if [[ -f $data/catalogue.search ]]; then search_bytes=$(stat -c %s "$data/catalogue.search"); fi
  printf '{"generate_s":%s,"generate_loadavg":%s,"import_bytes":%s,"data_bytes":%s,"search_bytes":%s,"services":%s}\n' \
    "$gen_s" "$gen_la" "$import_bytes" "$data_bytes" "$search_bytes" "$n" >"$dir/step.json"
  echo "== files: data $((data_bytes / 1048576)) MiB, search snapshot $((search_bytes / 1048576)) MiB, import files $((import_bytes / 1048576)) MiB"
  if [[ $KEEP != 1 ]]; then rm -rf "$data" "$files"; fi
done
pid_file=""
log=""

echo
"$CUSBENCH" scale-table --root "$OUT" --sizes "$SIZES"
echo "total bench time: $(($(date +%s) - began)) s"
