#!/usr/bin/env bash
# The residents' results page end to end (`make bench-web`): a catalogue loaded with a synthetic catalogue of
# BENCH_SERVICES services (100,000) and a gateway in front of it; sequential GETs of /szukaj with a mix of
# queries and filters. For each page the gateway reports in Server-Timing how long it waited for the catalogue
# (search), how long the templates took (render) and the whole page from the request's arrival (page); the
# figure of issue 14 is the page minus the search, both inside the gateway (page - search) and at the client
# (curl's total - search). Reported: p50/p99 of that, of render alone,
# of the search, and the page weight (HTML + CSS, before images; there are none).
# The client (curl) shares the CPUs with the servers: figures on a busy machine are upper bounds.
#
# Environment: BENCH_SERVICES (100000), BENCH_GMINAS (200), BENCH_ROUNDS (25 rounds of the query mix),
# BENCH_LOG_LEVEL (warn). Results: var/bench-web/results.txt, logs in var/bench-web/log/.
set -euo pipefail
cd "$(dirname "$0")/.."

SERVICES=${BENCH_SERVICES:-100000}
GMINAS=${BENCH_GMINAS:-200}
ROUNDS=${BENCH_ROUNDS:-25}
LOG_LEVEL=${BENCH_LOG_LEVEL:-warn}
BIN=bin
OUT=var/bench-web
DATA=var/bench/catalogue-web-$SERVICES-$GMINAS
LOG=$OUT/log
mkdir -p "$OUT" "$LOG"

pids=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do wait "${pids[$i]}" 2>/dev/null || true; done
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() { # a port nobody listens on now (the machine is shared)
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "bench-web: no free port" >&2
  exit 1
}

wait_tcp() {
  for _ in $(seq 1 600); do
    if (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; then return 0; fi
    kill -0 "$2" 2>/dev/null || { echo "bench-web: $3 exited; see $LOG/$3.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "bench-web: $3 did not start" >&2
  exit 1
}

echo "== machine: $(nproc) CPU(s), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== build"
${MAKE:-make} -s build
if [[ ! -d $DATA ]]; then
  echo "== generate $SERVICES services over $GMINAS gminas"
  rm -rf "$DATA.tmp"
  "$BIN/catalogue" generate --profile harsh --services "$SERVICES" --gminas "$GMINAS" --seed 1 --data-dir "$DATA.tmp"
  mv "$DATA.tmp" "$DATA"
fi
CAT=127.0.0.1:$(free_port)
ADMIN=127.0.0.1:$(free_port)
GW=127.0.0.1:$(free_port)
"$BIN/catalogue" serve --data-dir "$DATA" --listen "$CAT" --admin-listen "$ADMIN" --dev-mode --dev-keys-dir "$OUT/dev" \
  --log-level "$LOG_LEVEL" >"$LOG/catalogue.log" 2>&1 &
pids+=($!)
wait_tcp "$CAT" $! catalogue
"$BIN/gateway" --listen "$GW" --catalogue-addr "$CAT" --public-url "http://$GW" --log-level "$LOG_LEVEL" \
  --cus-contact-file deploy/config/cus-contact.json.example >"$LOG/gateway.log" 2>&1 &
pids+=($!)
wait_tcp "$GW" $! gateway
for _ in $(seq 1 600); do # the catalogue loads its index before it answers searches
  [[ $(curl -s -o /dev/null -w '%{http_code}' "http://$GW/szukaj?q=opieka") == 200 ]] && break
  sleep 0.5
done

# The query mix: free text, typos, areas, target groups with an age, free of charge, open now, a gmina, and a
# page number without a token (walked from the first page).
queries=(
  "q=opieka"
  "q=klub+seniora"
  "q=zlobek&bezplatne=1"
  "q=swietlca"
  "obszar=AREA_CULTURE"
  "grupa=TARGET_GROUP_SENIORS&wiek=70"
  "q=asystent+rodziny&otwarte=1"
  "obszar=AREA_SOCIAL_ASSISTANCE&obszar=AREA_HEALTH_PROMOTION&bezplatne=1"
  "q=zajecia&strona=3"
  ""
)
echo "== warm-up"
for q in "${queries[@]}"; do curl -s -o /dev/null "http://$GW/szukaj?$q"; done
css=$(curl -s "http://$GW/static/style.css" | wc -c)

echo "== $ROUNDS rounds of ${#queries[@]} result pages"
raw=$OUT/raw.tsv
: >"$raw"
for ((r = 0; r < ROUNDS; r++)); do
  for q in "${queries[@]}"; do
    # total seconds, size, then the Server-Timing header
    curl -s -o /dev/null -D "$OUT/headers" -w '%{time_total}\t%{size_download}\t%{http_code}\n' "http://$GW/szukaj?$q" >"$OUT/line"
    timing=$(tr -d '\r' <"$OUT/headers" | sed -n 's/^[Ss]erver-[Tt]iming: //p')
    search=$(sed -n 's/.*search;dur=\([0-9.]*\).*/\1/p' <<<"$timing")
    render=$(sed -n 's/.*render;dur=\([0-9.]*\).*/\1/p' <<<"$timing")
    pagedur=$(sed -n 's/.*page;dur=\([0-9.]*\).*/\1/p' <<<"$timing")
    IFS=$'\t' read -r total size code <"$OUT/line"
    [[ $code == 200 ]] || { echo "bench-web: /szukaj?$q answered $code" >&2; exit 1; }
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(awk -v t="$total" 'BEGIN{printf "%.3f", t*1000}')" "${search:-0}" "${render:-0}" "$size" "$q" "${pagedur:-0}" >>"$raw"
  done
done

pct() { # column percentile
  cut -f"$1" | sort -n | awk -v p="$2" '{a[NR]=$1} END{i=int((NR-1)*p/100+0.5)+1; if(i>NR)i=NR; printf "%.2f", a[i]}'
}
n=$(wc -l <"$raw")
awk -F'\t' '{printf "%.3f\n", $1-$2}' "$raw" >"$OUT/own.txt"
awk -F'\t' '{printf "%.3f\n", $6-$2}' "$raw" >"$OUT/own-server.txt"
{
  echo "results page at $SERVICES services ($n pages, sequential; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg))"
  echo "  page minus search, in the gateway  p50 $(pct 1 50 <"$OUT/own-server.txt") ms   p99 $(pct 1 99 <"$OUT/own-server.txt") ms   (target p50 <= 3 ms)"
  echo "  page minus search, at the client   p50 $(pct 1 50 <"$OUT/own.txt") ms   p99 $(pct 1 99 <"$OUT/own.txt") ms   (adds curl, TCP connect, HTTP)"
  echo "  render (templates) p50 $(pct 3 50 <"$raw") ms   p99 $(pct 3 99 <"$raw") ms"
  echo "  search (catalogue) p50 $(pct 2 50 <"$raw") ms   p99 $(pct 2 99 <"$raw") ms"
  echo "  whole page         p50 $(pct 1 50 <"$raw") ms   p99 $(pct 1 99 <"$raw") ms"
  echo "  weight: HTML p50 $(pct 4 50 <"$raw" | cut -d. -f1) B, max $(pct 4 100 <"$raw" | cut -d. -f1) B; CSS $css B; max page $(( $(pct 4 100 <"$raw" | cut -d. -f1) + css )) B (target <= 51200 B)"
} | tee "$OUT/results.txt"
