#!/bin/sh
# Makes the internal TLS material without cert-manager: one private CA for the instance and a serving certificate
# for each service from it - the cus-provider, cus-catalogue and cus-referral Services - as DIR/ca.crt, DIR/ca.key
# and DIR/<service>/{tls.crt,tls.key,ca.crt}. Then prints the kubectl commands that store each as Secret
# cus-<service>-tls (the names the StatefulSets, the gateway and the referral service mount). Needs only openssl
# (1.1.1 or later).
#
#   deploy/kubernetes/internal-tls.sh DIR [NAMESPACE]
#
# Run again with the same DIR to renew the service certificates (every 825 days): an existing ca.key is reused,
# so clients keep trusting the CA. Keep ca.key offline between runs; tls.key files go only into the Secrets.
# The services read their certificates at start: after replacing a Secret, restart the pod.
set -eu
dir=${1:?usage: internal-tls.sh DIR [NAMESPACE]}
ns=${2:-cus-rawicz}
mkdir -p "$dir"
cd "$dir"
umask 077
if [ ! -f ca.key ] || [ ! -f ca.crt ]; then
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
		-subj "/CN=CUS internal CA ($ns)" -keyout ca.key -out ca.crt \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
fi
chmod 644 ca.crt
for svc in cus-provider cus-catalogue cus-referral; do
	mkdir -p "$svc"
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$svc" \
		-keyout "$svc/tls.key" -out "$svc/tls.csr" 2>/dev/null
	# The names clients dial: the gateway and the referral service use the short Service name (CUS_*_ADDR).
	cat >"$svc/tls.ext" <<EXT
subjectAltName=DNS:$svc,DNS:$svc.$ns,DNS:$svc.$ns.svc,DNS:$svc.$ns.svc.cluster.local
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
EXT
	openssl x509 -req -in "$svc/tls.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 \
		-extfile "$svc/tls.ext" -out "$svc/tls.crt" 2>/dev/null
	rm -f "$svc/tls.csr" "$svc/tls.ext" ca.srl
	cp ca.crt "$svc/ca.crt"
	chmod 644 "$svc/ca.crt" "$svc/tls.crt"
done
echo "created $dir/{ca.crt,ca.key} and $dir/{cus-provider,cus-catalogue,cus-referral}/{tls.crt,tls.key,ca.crt};"
echo "store them with:"
for svc in cus-provider cus-catalogue cus-referral; do
	echo "  kubectl -n $ns create secret generic $svc-tls --from-file=$dir/$svc/tls.crt --from-file=$dir/$svc/tls.key --from-file=$dir/$svc/ca.crt"
done
