#!/bin/sh
# Makes the catalogue's internal TLS material without cert-manager: a private CA and a serving certificate for
# the cus-catalogue Service, as files tls.crt, tls.key and ca.crt in DIR, then prints the kubectl command that
# stores them as Secret cus-catalogue-tls (the names catalogue-statefulset.yaml and gateway-deployment.yaml
# mount). Needs only openssl (1.1.1 or later).
#
#   deploy/kubernetes/internal-tls.sh DIR [NAMESPACE]
#
# Keep ca.key offline (it signs the next certificate, in 825 days); tls.key goes only into the Secret.
# The catalogue reads its certificate at start: after replacing the Secret, restart it.
set -eu
dir=${1:?usage: internal-tls.sh DIR [NAMESPACE]}
ns=${2:-cus-rawicz}
svc=cus-catalogue
mkdir -p "$dir"
cd "$dir"
umask 077
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
	-subj "/CN=CUS internal CA ($ns)" -keyout ca.key -out ca.crt \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$svc" \
	-keyout tls.key -out tls.csr 2>/dev/null
# The names clients dial: the gateway uses the short Service name (CUS_CATALOGUE_ADDR).
cat >tls.ext <<EXT
subjectAltName=DNS:$svc,DNS:$svc.$ns,DNS:$svc.$ns.svc,DNS:$svc.$ns.svc.cluster.local
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
EXT
openssl x509 -req -in tls.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 825 -extfile tls.ext \
	-out tls.crt 2>/dev/null
rm -f tls.csr tls.ext ca.srl
chmod 644 ca.crt tls.crt
echo "created $dir/{ca.crt,ca.key,tls.crt,tls.key}; store them with:"
echo "  kubectl -n $ns create secret generic $svc-tls --from-file=$dir/tls.crt --from-file=$dir/tls.key --from-file=$dir/ca.crt"
