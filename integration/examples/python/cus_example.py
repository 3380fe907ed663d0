#!/usr/bin/env python3
"""The CUS REST API from Python 3.9+ with the standard library only (no requests, no generated client).

Lists services, searches, creates a service with a bearer token (idempotently, with a requestId), reads an error
as the google.rpc.Status every error is, and verifies a Standard Webhooks signature.

    CUS_BASE_URL=http://localhost:8080 CUS_TOKEN=$(bin/cusctl token --role organiser) python3 cus_example.py

Without CUS_TOKEN only the public reads run. The script exits non-zero when an answer is not what it expects,
so CI runs it against the live suite (make examples).
"""
import base64
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

BASE_URL = os.environ.get("CUS_BASE_URL", "http://localhost:8080").rstrip("/")
TOKEN = os.environ.get("CUS_TOKEN", "")


class ApiError(Exception):
    """An error answer: HTTP status plus the google.rpc.Status body (code, message, details)."""

    def __init__(self, http_status, body):
        self.http_status = http_status
        self.message = body.get("message", "")
        self.reason = ""  # from google.rpc.ErrorInfo: switch on this, never on the message
        self.metadata = {}
        self.violations = []  # from google.rpc.BadRequest: (field, description)
        for d in body.get("details", []):
            kind = d.get("@type", "")
            if kind.endswith("google.rpc.ErrorInfo"):
                self.reason, self.metadata = d.get("reason", ""), d.get("metadata", {})
            elif kind.endswith("google.rpc.BadRequest"):
                self.violations += [(v["field"], v["description"]) for v in d.get("fieldViolations", [])]
        super().__init__(f"HTTP {http_status} {self.reason}: {self.message}")


def call(method, path, body=None, query=None, token=None):
    url = BASE_URL + path + ("?" + urllib.parse.urlencode(query) if query else "")
    headers = {"Accept": "application/json", "Accept-Language": "pl"}
    data = None
    if body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    if token:
        headers["Authorization"] = "Bearer " + token
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.load(resp)
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            raise ApiError(e.code, json.loads(raw)) from None
        except ValueError:  # not JSON: a proxy in between answered
            raise ApiError(e.code, {"message": raw[:200].decode(errors="replace")}) from None


def verify_webhook(secret, headers, body, tolerance=300, now=None):
    """Standard Webhooks: HMAC-SHA256 over "id.timestamp.body" with the base64 key after "whsec_", sent as
    "v1,<base64>" (several, space-separated, while a secret rotates). Refuses old or future timestamps, so a
    captured delivery cannot be replayed later."""
    msg_id, ts, sigs = headers["webhook-id"], headers["webhook-timestamp"], headers["webhook-signature"]
    now = time.time() if now is None else now
    if abs(now - int(ts)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{ts}.".encode() + body, hashlib.sha256).digest()).decode()
    return any(hmac.compare_digest(s.partition(",")[2], expected) for s in sigs.split() if s.startswith("v1,"))


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        sys.exit(1)


def main():
    page = call("GET", "/v1/services", query={"pageSize": 3})
    for s in page["services"]:
        print(f"  {s['name']}  {s['displayName']}")
    check(len(page["services"]) > 0, "list services (public)")

    found = call("POST", "/v1/services:search", {"query": "zlobek", "pageSize": 3})
    for r in found["results"]:
        print(f"  {r['service']['displayName']}")
    check(found.get("totalSize", 0) > 0, "search 'zlobek' finds „Żłobek” (diacritics optional)")

    if TOKEN:
        # The same requestId on a retry (a timeout, a lost answer) returns the service created the first time.
        request_id = str(uuid.uuid4())
        new = {"displayName": "Kawiarenka Obywatelska", "areas": ["AREA_CIVIC_ACTIVITY"],
               "targetGroups": ["TARGET_GROUP_ALL_RESIDENTS"]}
        created = call("POST", "/v1/services", new, {"requestId": request_id}, TOKEN)
        again = call("POST", "/v1/services", new, {"requestId": request_id}, TOKEN)
        check(created["name"] == again["name"], f"create {created['name']}, and a retry creates nothing")

        bad = dict(new, locations=[{"name": "Sala", "terytCode": "123"}])
        try:
            call("POST", "/v1/services", bad, token=TOKEN)
            check(False, "an invalid TERYT code is refused")
        except ApiError as e:
            for field, description in e.violations:
                print(f"  {field}: {description}")
            check(e.http_status == 400 and e.reason == "INVALID_FIELDS" and e.violations,
                  f"invalid input: {e.http_status} {e.reason} with the field named")

    try:
        call("POST", "/v1/services", {"displayName": "bez tokenu"})
        check(False, "writing without a token is refused")
    except ApiError as e:
        check(e.http_status == 401 and e.reason != "", f"no token: {e.http_status} {e.reason}")

    # The example of the Standard Webhooks specification; CI may pass a delivery signed by other code.
    secret = os.environ.get("CUS_WEBHOOK_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    headers = {"webhook-id": os.environ.get("CUS_WEBHOOK_ID", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
               "webhook-timestamp": os.environ.get("CUS_WEBHOOK_TIMESTAMP", "1614265330"),
               "webhook-signature": os.environ.get("CUS_WEBHOOK_SIGNATURE",
                                                   "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")}
    body = os.environ.get("CUS_WEBHOOK_BODY", '{"test": 2432232314}').encode()
    now = None if "CUS_WEBHOOK_SIGNATURE" in os.environ else 1614265330
    check(verify_webhook(secret, headers, body, now=now), "webhook signature verifies")
    check(not verify_webhook(secret, headers, body + b" ", now=now), "a changed body does not")
    check(not verify_webhook(secret, headers, body, now=int(headers["webhook-timestamp"]) + 3600),
          "nor a delivery replayed an hour later")


if __name__ == "__main__":
    try:
        main()
    except (ApiError, urllib.error.URLError) as e:
        print(f"FAIL  {e}")
        sys.exit(1)
