#!/usr/bin/env bash
# Starts two CUS instances on this machine, CUS Rawicz (TERC 3022053) and CUS Jarocin (TERC 3006023), each with
# its own demo catalogue, data directory, development key and gateway, following each other's catalogue, and
# shows one searching the other's services. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=bin
DATA=${CUS_FED_DATA:-var/federation}
mkdir -p "$DATA/log"

declare -A TERC=([rawicz]=3022053 [jarocin]=3006023)
declare -A NAME=([rawicz]="CUS Rawicz" [jarocin]="CUS Jarocin")
declare -A GRPC=([rawicz]=127.0.0.1:7001 [jarocin]=127.0.0.1:7011)
declare -A ADMIN=([rawicz]=127.0.0.1:9101 [jarocin]=127.0.0.1:9111)
declare -A HTTP=([rawicz]=127.0.0.1:8080 [jarocin]=127.0.0.1:8081)
declare -A OTHER=([rawicz]=jarocin [jarocin]=rawicz)

pids=()
stop() {
  trap - INT TERM EXIT
  echo; echo "stopping..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "stopped; data kept in $DATA/"
}
trap stop INT TERM EXIT

wait_port() {
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "$2 did not start; see $DATA/log/$2.log" >&2; tail -n 20 "$DATA/log/$2.log" >&2 || true; exit 1
}

# Each instance issues the other a peer token with its own development key, and lists the other as its peer.
for i in rawicz jarocin; do
  o=${OTHER[$i]}
  mkdir -p "$DATA/$i" "$DATA/$o"
  "$BIN/cusctl" token --role peer --terc "${TERC[$i]}" --subject "peer-$i" --keys-dir "$DATA/$o/dev" >"$DATA/$i/peer-$o.token"
  cat >"$DATA/$i/peers.json" <<JSON
{"peers": [{"terc": "${TERC[$o]}", "name": "${NAME[$o]}", "address": "${GRPC[$o]}", "token_file": "$DATA/$i/peer-$o.token"}]}
JSON
done

for i in rawicz jarocin; do
  "$BIN/catalogue" serve --data-dir "$DATA/$i/catalogue" --listen "${GRPC[$i]}" --admin-listen "${ADMIN[$i]}" \
    --instance-terc "${TERC[$i]}" --instance-name "${NAME[$i]}" --dev-mode --dev-keys-dir "$DATA/$i/dev" --demo-data \
    --peers-file "$DATA/$i/peers.json" --log-format console >"$DATA/log/$i-catalogue.log" 2>&1 &
  pids+=($!)
done
for i in rawicz jarocin; do wait_port "${GRPC[$i]}" "$i-catalogue"; done
for i in rawicz jarocin; do
  "$BIN/gateway" --listen "${HTTP[$i]}" --catalogue-addr "${GRPC[$i]}" --public-url "http://${HTTP[$i]}" \
    --instance-name "${NAME[$i]}" --log-format console >"$DATA/log/$i-gateway.log" 2>&1 &
  pids+=($!)
done
for i in rawicz jarocin; do wait_port "${HTTP[$i]}" "$i-gateway"; done

echo "waiting for the instances to synchronise..."
for _ in $(seq 1 100); do
  n=$(curl -s -X POST "http://${HTTP[rawicz]}/v1/services:search" -d '{"tercCodes":["3006023"],"pageSize":1}' | sed -n 's/.*"totalSize":[ ]*\([0-9]*\).*/\1/p')
  if [ -n "$n" ] && [ "$n" -gt 0 ]; then break; fi
  sleep 0.2
done
ORG=$("$BIN/cusctl" token --role organiser --keys-dir "$DATA/rawicz/dev")
cat <<MSG

Two CUS instances are running and federating:

  CUS Rawicz  (3022053)  REST http://${HTTP[rawicz]}   gRPC ${GRPC[rawicz]}
  CUS Jarocin (3006023)  REST http://${HTTP[jarocin]}   gRPC ${GRPC[jarocin]}

Rawicz searching Jarocin's services (about 45 km away):
  curl -s -X POST 'http://${HTTP[rawicz]}/v1/services:search' -d '{"query":"senior","tercCodes":["3006023"]}'
$(curl -s -X POST "http://${HTTP[rawicz]}/v1/services:search" -d '{"query":"senior","tercCodes":["3006023"],"pageSize":3}' | grep -o '"displayName":"[^"]*"\|"originTerc":"[^"]*"' | paste -sd' ' | sed 's/^/  -> /')

Federation state of Rawicz (cursor, lag, errors):
  curl -s -H "Authorization: Bearer \$(bin/cusctl token --role organiser --keys-dir $DATA/rawicz/dev)" http://${HTTP[rawicz]}/v1/peers
$(curl -s -H "Authorization: Bearer $ORG" "http://${HTTP[rawicz]}/v1/peers" | sed 's/^/  -> /')

Change something in Jarocin and watch it appear in Rawicz: a token for Jarocin is
  bin/cusctl token --role organiser --keys-dir $DATA/jarocin/dev

Press Ctrl-C to stop.
MSG
wait -n "${pids[@]}" || true
echo "a process exited; see $DATA/log/" >&2
