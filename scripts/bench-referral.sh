#!/usr/bin/env bash
# Durable referral creates per second through REST, beside raw bbolt batch commits at the same concurrency, in
# one run on this machine (issue 5):
#   1. starts the catalogue, the provider registry, the referral service (all with demo data, no per-caller rate
#      limit) and the gateway on free loopback ports, with fresh data under var/bench-referral;
#   2. as a coordinator creates one resident, a consent and a case through REST, and picks a provider agreement
#      (GET /v1/providers, then its agreements) and the catalogue service it is for;
#   3. runs POST /v1/referrals?requestId=<new UUID> from BENCH_CONNS closed-loop keep-alive clients (bin/cusbench
#      post): every request creates a new referral, acknowledged by the service only after its write was fsynced;
#   4. runs the storage benchmarks BoltBatch64 (bbolt's own Batch) and GroupCommit64 (the platform's commit loop),
#      64 writers of 256-byte values, also fsynced;
#   5. prints the table.
# The generator, the four servers and the storage benchmark share the machine's CPUs; absolute numbers depend on
# the machine. Environment: BENCH_CONNS (64), BENCH_DURATION (10s), BENCH_WARMUP (2s), BENCH_BOLT_BENCHTIME (3s),
# BENCH_LOG_LEVEL (warn). Results in var/bench-referral/run/, server logs in var/bench-referral/log/.
# Exits 0 whatever the figures; non-zero on any error (a non-200, a server that dies, a failed benchmark).
set -euo pipefail
cd "$(dirname "$0")/.."

CONNS=${BENCH_CONNS:-64}
DURATION=${BENCH_DURATION:-10s}
WARMUP=${BENCH_WARMUP:-2s}
BOLT_BENCHTIME=${BENCH_BOLT_BENCHTIME:-3s}
LOG_LEVEL=${BENCH_LOG_LEVEL:-warn}
BIN=bin
OUT=var/bench-referral
RUN=$OUT/run
LOG=$OUT/log
DEV=$OUT/dev
CUSBENCH=$BIN/cusbench

SCRIPT=bench-referral
# shellcheck source=scripts/lib/suite-procs.sh
source scripts/lib/suite-procs.sh # (the script runs from the repository root)
for tool in curl jq; do command -v "$tool" >/dev/null || die "$tool is needed"; done

start_suite 17011 17012 17013 18090 19111 19112 19113
AUTH="Authorization: Bearer $COORD"

api() { # method path [body]: a REST call as the coordinator; prints the JSON answer, fails on a non-200
  local method=$1 path=$2 body=${3:-} out code
  out=$(curl -sS -X "$method" "$GW$path" -H "$AUTH" -H 'Content-Type: application/json' \
    ${body:+--data-binary "$body"} -w '\n%{http_code}') || die "$method $path: curl failed"
  code=${out##*$'\n'}
  out=${out%$'\n'*}
  [[ $code == 200 ]] || die "$method $path: HTTP $code: $out"
  printf '%s\n' "$out"
}

echo "== setup through REST as a coordinator"
# A provider agreement in force, and the catalogue service it is for.
agreement="" service="" provider=""
for p in $(api GET "/v1/providers?pageSize=100" | jq -r '.providers[]?.name'); do
  a=$(api GET "/v1/$p/agreements?pageSize=100" |
    jq -c '[.agreements[]? | select((.status // "") | test("ACTIVE"))][0] // empty')
  if [[ -n $a ]]; then
    provider=$p
    agreement=$(jq -r .name <<<"$a")
    service=$(jq -r .service <<<"$a")
    break
  fi
done
[[ -n $agreement ]] || die "no active agreement among the demo providers"
# The service exists in the catalogue; one granted by a decyzja needs its reference on the referral.
decision=$(api GET "/v1/$service" | jq -r 'if .requiresDecision then "CUS.4011.1.BENCH" else "" end')
echo "  provider  $provider"
echo "  agreement $agreement"
echo "  service   $service"

today=$(date +%F)
due=$(date -d '+14 days' +%F)
resident=$(api POST "/v1/residents?requestId=$(cat /proc/sys/kernel/random/uuid)" '{
  "givenName": "Jan", "familyName": "Testowy-Benchmark", "birthDate": "1950-01-01",
  "phone": "+48 600 000 000", "terytCode": "3022053",
  "address": {"address1": "ul. Przykładowa 1", "city": "Rawicz", "postalCode": "63-900"},
  "householdSize": 1, "monthlyIncomePerPersonGrosze": 120000 }' | jq -r .name)
consent=$(api POST "/v1/$resident/consents" '{
  "basis": "LEGAL_BASIS_CONSENT", "purpose": "benchmark skierowań",
  "scope": ["DATA_SCOPE_NAME", "DATA_SCOPE_CONTACT", "DATA_SCOPE_ADDRESS"], "givenDate": "'"$today"'" }' | jq -r .name)
kase=$(api POST "/v1/cases" '{
  "resident": "'"$resident"'", "documentReference": "CUS.4101.1.BENCH",
  "needs": [{"area": "AREA_SOCIAL_ASSISTANCE", "description": "benchmark"}] }' | jq -r .name)
echo "  resident  $resident"
echo "  consent   $consent"
echo "  case      $kase"

# Every request of the load gets a new requestId, so every one is a new referral (a repeated requestId would
# return the first result and write nothing).
cat >"$RUN/referral-body.json" <<JSON
{"resident": "$resident", "consent": "$consent", "case": "$kase", "service": "$service", "provider": "$provider",
 "agreement": "$agreement", "units": 1, "priority": "PRIORITY_ROUTINE", "responseDueDate": "$due",
 "decisionReference": "$decision"}
JSON

echo
"$CUSBENCH" post --url "$GW/v1/referrals?requestId={{.UUID}}" --body-file "$RUN/referral-body.json" \
  --header "$AUTH" --conns "$CONNS" --warmup "$WARMUP" --duration "$DURATION" --label referral-create \
  --out "$RUN/referral-create.json" --cpu-pids "gateway=${pids[3]},referral=${pids[2]},provider=${pids[1]},catalogue=${pids[0]}"

echo
echo "== storage baseline, same run: go test -run XXX -bench 'BoltBatch64|GroupCommit64' -benchtime $BOLT_BENCHTIME ./storage/"
(cd platform && go test -run XXX -bench 'BoltBatch64|GroupCommit64' -benchtime "$BOLT_BENCHTIME" ./storage/) |
  tee "$RUN/storage-bench.txt"
bolt=$(awk '/^BenchmarkBoltBatch64/ { for (i = 1; i < NF; i++) if ($(i+1) == "writes/s") print $i }' "$RUN/storage-bench.txt")
group=$(awk '/^BenchmarkGroupCommit64/ { for (i = 1; i < NF; i++) if ($(i+1) == "writes/s") print $i }' "$RUN/storage-bench.txt")
[[ -n $bolt && -n $group ]] || die "no writes/s figure in the storage benchmark output"

rest=$(jq -r '.per_second' "$RUN/referral-create.json")
p50=$(jq -r '.latency.p50_ms' "$RUN/referral-create.json")
p99=$(jq -r '.latency.p99_ms' "$RUN/referral-create.json")
reqs=$(jq -r '.requests' "$RUN/referral-create.json")

echo
echo "== durable writes at $CONNS concurrent clients/writers, one run, $(nproc) CPU(s)"
printf '  %-44s %12s  %s\n' "figure" "per second" "notes"
printf '  %-44s %12.0f  p50 %.2f ms, p99 %.2f ms, %d creates in %s\n' "referral creates through REST (gateway)" \
  "$rest" "$p50" "$p99" "$reqs" "$DURATION"
printf '  %-44s %12.0f  %s\n' "raw bbolt Batch, 256-byte puts" "$bolt" "BenchmarkBoltBatch64"
printf '  %-44s %12.0f  %s\n' "platform group commit, 256-byte puts" "$group" "BenchmarkGroupCommit64"
awk -v r="$rest" -v b="$bolt" -v g="$group" 'BEGIN { printf "  REST creates / bbolt Batch %.1f %%, REST creates / group commit %.1f %%\n", 100*r/b, 100*r/g }'
