#!/usr/bin/env bash
# Watch flood: with many REST watches open by one provider, how fast a coordinator's list still answers
# (issue: 270 watches of one provider token made the gateway answer a coordinator's GET /v1/referrals 504).
#   1. starts the catalogue, the provider registry, the referral service (all with demo data, no per-caller rate
#      limit, so every watch reaches the services) and the gateway on free loopback ports, with fresh data under
#      var/bench-watch;
#   2. picks a demo provider (GET /v1/providers as a coordinator) and mints a token of its staff with bin/cusctl;
#   3. opens BENCH_WATCHES (300) GET /v1/referrals:watch with that one token, each on its own connection
#      (bin/cusbench watchflood), then times BENCH_REQUESTS (200) GET /v1/referrals?pageSize=50 of a coordinator,
#      one after the other, while the watches are open;
#   4. prints watches attempted, opened, refused (429) and the list's p50/p99.
# Environment: BENCH_WATCHES (300), BENCH_REQUESTS (200), BENCH_SETTLE (3s), BENCH_LOG_LEVEL (warn),
# BENCH_GATEWAY_ARGS (extra gateway flags, e.g. "--streams-per-conn 100 --max-stream-conns 10"), BENCH_GATEWAY_BIN
# (another gateway binary to measure, e.g. one built from an older commit; bin/gateway by default).
# Results in var/bench-watch/run/, server logs in var/bench-watch/log/. Exits 0 whatever the figures; non-zero on
# any error (a failed list request, a server that dies).
set -euo pipefail
cd "$(dirname "$0")/.."

WATCHES=${BENCH_WATCHES:-300}
REQUESTS=${BENCH_REQUESTS:-200}
SETTLE=${BENCH_SETTLE:-3s}
GATEWAY_ARGS=${BENCH_GATEWAY_ARGS:-}
GATEWAY_BIN=${BENCH_GATEWAY_BIN:-bin/gateway}
LOG_LEVEL=${BENCH_LOG_LEVEL:-warn}
BIN=bin
OUT=var/bench-watch
RUN=$OUT/run
LOG=$OUT/log
DEV=$OUT/dev
CUSBENCH=$BIN/cusbench

SCRIPT=bench-watch
# shellcheck source=scripts/lib/suite-procs.sh
source scripts/lib/suite-procs.sh # (the script runs from the repository root)
for tool in curl jq; do command -v "$tool" >/dev/null || die "$tool is needed"; done

start_suite 17021 17022 17023 18091 19121 19122 19123
provider=$(curl -sS "$GW/v1/providers?pageSize=1" -H "Authorization: Bearer $COORD" | jq -r '.providers[0].name // empty')
[[ $provider == providers/* ]] || die "no demo provider"
PROVIDER=$("$BIN/cusctl" token --role provider --provider-id "${provider#providers/}" --keys-dir "$DEV")
echo "  provider staff of $provider"

echo
"$CUSBENCH" watchflood --url "$GW" --watches "$WATCHES" --requests "$REQUESTS" --settle "$SETTLE" \
  --watch-header "Authorization: Bearer $PROVIDER" --list-header "Authorization: Bearer $COORD" \
  --out "$RUN/watchflood.json"

r=$RUN/watchflood.json
echo
echo "== watch flood, one run, $(nproc) CPU(s)"
printf '  %-34s %s\n' "watches attempted (one provider)" "$(jq -r .watches_attempted "$r")"
printf '  %-34s %s\n' "opened (200)" "$(jq -r .watches_opened "$r")"
printf '  %-34s %s\n' "held, no answer from the service yet" "$(jq -r .watches_pending "$r")"
printf '  %-34s %s\n' "still open after the list run" "$(jq -r .watches_still_open "$r")"
printf '  %-34s %s\n' "refused (429)" "$(jq -r .watches_refused "$r")"
printf '  %-34s %s\n' "failed otherwise" "$(jq -r .watches_failed "$r")"
printf '  %-34s p50 %s ms, p99 %s ms, max %s ms over %s requests, %s errors\n' "coordinator GET /v1/referrals" \
  "$(jq -r .list_latency.p50_ms "$r")" "$(jq -r .list_latency.p99_ms "$r")" "$(jq -r .list_latency.max_ms "$r")" \
  "$(jq -r .list_requests "$r")" "$(jq -r .list_errors "$r")"
