#!/usr/bin/env bash
# Starts the CUS suite for development: the catalogue (with the demo catalogue of CUS Rawicz when its store is
# empty), the provider registry and the referral service (with their demo data), and the REST gateway, with data under var/. Ctrl-C stops everything cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=bin
DATA=${CUS_RUN_DATA:-var}
HTTP=${CUS_RUN_HTTP:-127.0.0.1:8080}
CATALOGUE=${CUS_RUN_CATALOGUE:-127.0.0.1:7001}
PROVIDER=${CUS_RUN_PROVIDER:-127.0.0.1:7002}
REFERRAL=${CUS_RUN_REFERRAL:-127.0.0.1:7003}
mkdir -p "$DATA/log"

pids=()
stop() {
  trap - INT TERM EXIT
  echo
  echo "stopping..."
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "stopped; data kept in $DATA/ (make clean removes it)"
}
trap stop INT TERM EXIT

wait_grpc() { # wait until a TCP port accepts connections
  local addr=$1 name=$2
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/${addr%:*}/${addr##*:}") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "$name did not start; see $DATA/log/$name.log" >&2
  tail -n 20 "$DATA/log/$name.log" >&2 || true
  exit 1
}

"$BIN/catalogue" serve --data-dir "$DATA/catalogue" --listen "$CATALOGUE" --admin-listen 127.0.0.1:9101 \
  --provider-addr "$PROVIDER" --dev-mode --dev-keys-dir "$DATA/dev" --demo-data --log-format console >"$DATA/log/catalogue.log" 2>&1 &
pids+=($!)
wait_grpc "$CATALOGUE" catalogue

"$BIN/provider" serve --data-dir "$DATA/provider" --listen "$PROVIDER" --admin-listen 127.0.0.1:9102 --catalogue-addr "$CATALOGUE" \
  --dev-mode --dev-keys-dir "$DATA/dev" --demo-data --log-format console >"$DATA/log/provider.log" 2>&1 &
pids+=($!)
wait_grpc "$PROVIDER" provider

# The referral service's own identity, for capacity releases it retries in the background with no caller.
"$BIN/cusctl" token --role integration --subject referral-service --ttl 720h --keys-dir "$DATA/dev" >"$DATA/dev/referral-service.token"
"$BIN/referral" serve --data-dir "$DATA/referral" --service-token-file "$DATA/dev/referral-service.token" --listen "$REFERRAL" --admin-listen 127.0.0.1:9103 \
  --catalogue-addr "$CATALOGUE" --provider-addr "$PROVIDER" --pesel-key-file "$DATA/dev/pesel-index.key" \
  --data-key-file "$DATA/dev/referral-data.keys" --audit-anchor-file "$DATA/dev/referral-audit.anchors" --webhook-allow http://127.0.0.1 \
  --dev-mode --dev-keys-dir "$DATA/dev" --demo-data --log-format console >"$DATA/log/referral.log" 2>&1 &
pids+=($!)
wait_grpc "$REFERRAL" referral

"$BIN/gateway" --listen "$HTTP" --catalogue-addr "$CATALOGUE" --provider-addr "$PROVIDER" --referral-addr "$REFERRAL" \
  --public-url "http://$HTTP" --cors-origins "*" --cus-contact-file deploy/config/cus-contact.json.example \
  --log-format console >"$DATA/log/gateway.log" 2>&1 &
pids+=($!)
wait_grpc "$HTTP" gateway

cat <<MSG

  pages     http://$HTTP/                  the CUS web page for residents (search, services, fee calculator)

CUS suite is running (data in $DATA/, logs in $DATA/log/):

  browser   http://$HTTP/docs              API reference
            http://$HTTP/hsds/services     HSDS 3.0 feed
  curl      curl -s 'http://$HTTP/v1/services?pageSize=3'
            curl -s -X POST 'http://$HTTP/v1/services:search' -d '{"query":"zlobek"}'
            curl -s http://$HTTP/healthz
  token     TOKEN=\$(bin/cusctl token --role organiser --keys-dir $DATA/dev)   (development key; roles: coordinator,
            organiser, director, admin, provider --provider-id ID, integration, peer --terc CODE)
            curl -s -X POST 'http://$HTTP/v1/services' -H "Authorization: Bearer \$TOKEN" -d '{"displayName":"Test","areas":["AREA_CULTURE"]}'
  services  catalogue $CATALOGUE, provider registry $PROVIDER, referrals $REFERRAL (gRPC, reflection on)
  grpcurl   make tools && bin/grpcurl -plaintext $CATALOGUE list
            bin/grpcurl -plaintext -d '{"query":"opiekunka"}' $CATALOGUE cus.catalogue.v1.CatalogueService/SearchServices
  metrics   http://127.0.0.1:9101/metrics (catalogue), http://$HTTP/metrics (gateway)
  backup    /backup on the admin ports (9101-9103) needs an admin token: 401 without one, 403 for other roles
            bin/cusctl token --role admin --keys-dir $DATA/dev >$DATA/dev/admin.token
            bin/catalogue backup --token-file $DATA/dev/admin.token --out catalogue.bak
            curl -s -H "Authorization: Bearer \$(cat $DATA/dev/admin.token)" http://127.0.0.1:9101/backup -o catalogue.bak

Press Ctrl-C to stop.
MSG
wait -n "${pids[@]}" || true
echo "a process exited; see $DATA/log/" >&2
