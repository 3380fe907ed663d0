#!/usr/bin/env bash
# make run-ha: the suite without a single point of failure, on loopback. A three-member etcd cluster (bin/cus-etcd,
# etcd's server built from its Go module), then two replicas of the catalogue, the provider registry and the
# referral service on that cluster (--storage-engine etcd, each under its own --etcd-prefix), with the demo data,
# and the REST gateway in front of them; prints where to look. Data under var/ha/ (CUS_HA_DATA), ports apart from
# make run's. Ctrl-C stops everything: the gateway and the services first, then the etcd members one at a time.
#
# Services built before the etcd engine existed have no --storage-engine: then only the etcd cluster runs.
set -euo pipefail
cd "$(dirname "$0")/.."
# CUS_HA_BIN, CUS_HA_DATA and the CUS_HA_*_PORT bases move it (the e2e test runs it on free ports).
BIN=${CUS_HA_BIN:-bin}
DATA=${CUS_HA_DATA:-var/ha}
HTTP=127.0.0.1:${CUS_HA_HTTP_PORT:-8090}
ETCD_PORT=${CUS_HA_ETCD_PORT:-2479}
GRPC_PORT=${CUS_HA_GRPC_PORT:-7101}
ADMIN_PORT=${CUS_HA_ADMIN_PORT:-9201}
LOG=$DATA/log
DEV=$DATA/dev
mkdir -p "$LOG" "$DEV"

# etcd member i: client port 2479+2i, peer port 2480+2i.
ETCD_NAMES=(e0 e1 e2)
ETCD_CLIENT=() ETCD_PEER=() initial=()
for i in 0 1 2; do
  ETCD_CLIENT+=("127.0.0.1:$((ETCD_PORT + 2 * i))")
  ETCD_PEER+=("127.0.0.1:$((ETCD_PORT + 1 + 2 * i))")
  initial+=("${ETCD_NAMES[$i]}=http://${ETCD_PEER[$i]}")
done
ETCD_ENDPOINTS=$(printf 'http://%s,' "${ETCD_CLIENT[@]}")
ETCD_ENDPOINTS=${ETCD_ENDPOINTS%,}
INITIAL_CLUSTER=$(IFS=,; echo "${initial[*]}")

# Replica r (1, 2) of a service: gRPC 71xx/72xx, admin 92xx/93xx (make run uses 7001-7003 and 9101-9103).
declare -A GRPC ADMIN
for r in 1 2; do
  for k in 0 1 2; do
    svc=(catalogue provider referral)
    GRPC[${svc[$k]}$r]=127.0.0.1:$((GRPC_PORT + 100 * (r - 1) + k))
    ADMIN[${svc[$k]}$r]=127.0.0.1:$((ADMIN_PORT + 100 * (r - 1) + k))
  done
done

names=()
pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "stopping..."
  # Reverse order of start: the gateway and the services are stopped and have finished their calls before the
  # first member goes; then the members one at a time, so each leader hands over to a member still running.
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    [[ ${names[$i]} == etcd-* ]] || kill -TERM "${pids[$i]}" 2>/dev/null || true
  done
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    [[ ${names[$i]} == etcd-* ]] && continue
    wait "${pids[$i]}" 2>/dev/null || true
    echo "   stopped ${names[$i]}"
  done
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    [[ ${names[$i]} == etcd-* ]] || continue
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
    echo "   stopped ${names[$i]}"
  done
  echo "stopped; data kept in $DATA/ (rm -rf $DATA to start again from the demo data)"
}
# After stop the script ends: going on would start the rest of the suite with no trap left to stop it.
trap 'stop; exit 130' INT
trap 'stop; exit 143' TERM
trap stop EXIT

started() { names+=("$1"); pids+=("$2"); }

# Each process runs in a session of its own, so a terminal's Ctrl-C reaches only this script, which stops them
# in order; in the terminal's process group each would get the SIGINT too and stop by itself, all at once.
# setsid execs in place (a background job of a script is no process group leader), so $! stays its pid.
detach=()
if command -v setsid >/dev/null; then detach=(setsid); fi

fail() { # name: a process did not come up
  echo "$1 did not start; see $LOG/$1.log" >&2
  tail -n 20 "$LOG/$1.log" >&2 || true
  exit 1
}

wait_tcp() { # addr name pid: until the port accepts connections
  for _ in $(seq 1 300); do
    kill -0 "$3" 2>/dev/null || fail "$2"
    if (exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  fail "$2"
}

etcd_healthy() { # addr: etcd's /health answers {"health":"true"} (it needs a leader and a quorum)
  local reply
  reply=$( (exec 3<>"/dev/tcp/${1%:*}/${1##*:}" && printf 'GET /health HTTP/1.0\r\nHost: %s\r\n\r\n' "$1" >&3 && cat <&3) 2>/dev/null) || return 1
  [[ $reply == *'"health":"true"'* ]]
}

# 1. The etcd cluster. A new cluster's members wait for each other, so all three start before any is waited for.
echo "== etcd: three members (data in $DATA/etcd/, logs in $LOG/etcd-*.log)"
for i in 0 1 2; do
  n=${ETCD_NAMES[$i]}
  cmd=("$BIN/cus-etcd" --name "$n" --data-dir "$DATA/etcd/$n" --listen-client "${ETCD_CLIENT[$i]}" --listen-peer "${ETCD_PEER[$i]}"
    --initial-cluster "$INITIAL_CLUSTER" --initial-cluster-token cus-run-ha --log-format console)
  # The command line heads the log, so a member killed to watch a failover can be started again by hand.
  printf 'command: %s\n' "${cmd[*]}" >"$LOG/etcd-$n.log"
  "${detach[@]}" "${cmd[@]}" >>"$LOG/etcd-$n.log" 2>&1 &
  started "etcd-$n" $!
done
for i in 0 1 2; do
  ok=
  for _ in $(seq 1 600); do
    kill -0 "${pids[$i]}" 2>/dev/null || fail "etcd-${ETCD_NAMES[$i]}"
    if etcd_healthy "${ETCD_CLIENT[$i]}"; then ok=1; break; fi
    sleep 0.1
  done
  [[ -n $ok ]] || fail "etcd-${ETCD_NAMES[$i]}"
done
echo "   healthy: $ETCD_ENDPOINTS"

etcd_help() {
  cat <<MSG

  etcd      $ETCD_ENDPOINTS (three members; each serves /health and /metrics)
            $BIN/cus-etcd status --endpoints $ETCD_ENDPOINTS
            curl -s http://${ETCD_CLIENT[0]}/health
            curl -s http://${ETCD_CLIENT[0]}/metrics | grep -E '^etcd_server_(has_leader|leader_changes_seen_total|proposals_committed_total)'
  failover  kill -TERM <pid> stops a member gracefully (a leader hands over first); kill -9 <pid> crashes it;
            start it again with the command heading $LOG/etcd-eN.log; pids: $(for i in 0 1 2; do printf '%s=%s ' "${ETCD_NAMES[$i]}" "${pids[$i]}"; done)
MSG
}

# 2. The services, only when they know the etcd engine.
# The help is read whole before it is searched: grep -q leaving early would kill the binary with SIGPIPE, and
# pipefail would take that for "no such flag".
catalogue_help=$("$BIN/catalogue" serve --help 2>&1 || true)
if [[ $catalogue_help != *--storage-engine* ]]; then
  etcd_help
  cat <<MSG

  services  not started: these builds of the services have no --storage-engine flag (the etcd storage engine is
            not in them yet), so make run-ha runs only the etcd cluster. make run starts the suite on bbolt.

Press Ctrl-C to stop.
MSG
  wait || true
  exit 0
fi

# The services and the gateway take a list of replicas (host:port,host:port) where they support one; an older
# build gets the first replica only.
gateway_help=$("$BIN/gateway" --help 2>&1 || true)
list() { # service: its replicas' addresses as the callers' flags take them
  if [[ $gateway_help == *host:port,host:port* ]]; then
    echo "${GRPC[${1}1]},${GRPC[${1}2]}"
  else
    echo "${GRPC[${1}1]}"
  fi
}
CATALOGUE=$(list catalogue)
PROVIDER=$(list provider)
REFERRAL=$(list referral)

engine() { # service
  echo --storage-engine etcd --etcd-endpoints "$ETCD_ENDPOINTS" --etcd-prefix "/cus/$1/"
}

echo "== services: two replicas each on etcd (logs in $LOG/)"
# Replica 1 of each service first: it creates the development key and loads the demo data into the empty
# cluster; replica 2 then finds both in place.
for r in 1 2; do
  # shellcheck disable=SC2046 # engine prints a list of flags
  "${detach[@]}" "$BIN/catalogue" serve $(engine catalogue) --data-dir "$DATA/catalogue$r" --listen "${GRPC[catalogue$r]}" \
    --admin-listen "${ADMIN[catalogue$r]}" --provider-addr "$PROVIDER" --dev-mode --dev-keys-dir "$DEV" --demo-data \
    --log-format console >"$LOG/catalogue$r.log" 2>&1 &
  started "catalogue$r" $!
  wait_tcp "${GRPC[catalogue$r]}" "catalogue$r" $!

  # shellcheck disable=SC2046
  "${detach[@]}" "$BIN/provider" serve $(engine provider) --data-dir "$DATA/provider$r" --listen "${GRPC[provider$r]}" \
    --admin-listen "${ADMIN[provider$r]}" --catalogue-addr "$CATALOGUE" --dev-mode --dev-keys-dir "$DEV" --demo-data \
    --log-format console >"$LOG/provider$r.log" 2>&1 &
  started "provider$r" $!
  wait_tcp "${GRPC[provider$r]}" "provider$r" $!

  if [[ $r == 1 ]]; then
    "$BIN/cusctl" token --role integration --subject referral-service --ttl 720h --keys-dir "$DEV" >"$DEV/referral-service.token"
  fi
  # Both replicas share the keys of the data (one PESEL index, one key ring); each anchors the audit chain's
  # head in its own file.
  # shellcheck disable=SC2046
  "${detach[@]}" "$BIN/referral" serve $(engine referral) --data-dir "$DATA/referral$r" --service-token-file "$DEV/referral-service.token" \
    --listen "${GRPC[referral$r]}" --admin-listen "${ADMIN[referral$r]}" --catalogue-addr "$CATALOGUE" --provider-addr "$PROVIDER" \
    --pesel-key-file "$DEV/pesel-index.key" --data-key-file "$DEV/referral-data.keys" \
    --audit-anchor-file "$DATA/referral$r.anchors" --webhook-allow http://127.0.0.1 \
    --dev-mode --dev-keys-dir "$DEV" --demo-data --log-format console >"$LOG/referral$r.log" 2>&1 &
  started "referral$r" $!
  wait_tcp "${GRPC[referral$r]}" "referral$r" $!
done

"${detach[@]}" "$BIN/gateway" --listen "$HTTP" --catalogue-addr "$CATALOGUE" --provider-addr "$PROVIDER" --referral-addr "$REFERRAL" \
  --public-url "http://$HTTP" --cors-origins "*" --cus-contact-file deploy/config/cus-contact.json.example \
  --log-format console >"$LOG/gateway.log" 2>&1 &
started gateway $!
wait_tcp "$HTTP" gateway $!

pid_of() { local i; for i in "${!names[@]}"; do [[ ${names[$i]} == "$1" ]] && echo "${pids[$i]}"; done; }

cat <<MSG

  pages     http://$HTTP/                  the CUS web page for residents

CUS suite is running on etcd (data in $DATA/, logs in $LOG/):

  curl      curl -s 'http://$HTTP/v1/services?pageSize=3'
            curl -s -X POST 'http://$HTTP/v1/services:search' -d '{"query":"zlobek"}'
            curl -s http://$HTTP/healthz
  token     TOKEN=\$(bin/cusctl token --role organiser --keys-dir $DEV)
            curl -s -X POST 'http://$HTTP/v1/services' -H "Authorization: Bearer \$TOKEN" -d '{"displayName":"Test","areas":["AREA_CULTURE"]}'
  replicas  catalogue ${GRPC[catalogue1]} + ${GRPC[catalogue2]}, provider ${GRPC[provider1]} + ${GRPC[provider2]},
            referral ${GRPC[referral1]} + ${GRPC[referral2]} (gRPC, reflection on); the gateway dials: $CATALOGUE
            a write on one replica is read on the other:
            bin/grpcurl -plaintext -d '{"query":"Test"}' ${GRPC[catalogue2]} cus.catalogue.v1.CatalogueService/SearchServices
            kill a replica (catalogue1 is pid $(pid_of catalogue1)) and the pages keep working through the other
  metrics   http://${ADMIN[catalogue1]}/metrics ... http://${ADMIN[referral2]}/metrics, http://$HTTP/metrics (gateway)
MSG
etcd_help
echo
echo "Press Ctrl-C to stop."
# Not wait -n: a replica or a member killed to watch the failover is not a reason to stop the rest.
wait || true
