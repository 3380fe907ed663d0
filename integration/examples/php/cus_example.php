<?php
// The CUS REST API from plain PHP 8 (php-cli alone: no curl extension, no Guzzle, no Composer).
//
// Lists services, searches, creates a service with a bearer token (idempotently, with a requestId), reads an
// error as the google.rpc.Status every error is, and verifies a Standard Webhooks signature.
//
//   CUS_BASE_URL=http://localhost:8080 CUS_TOKEN=$(bin/cusctl token --role organiser) php cus_example.php
//
// Without CUS_TOKEN only the public reads run. Exits non-zero when an answer is not what it expects, so CI runs
// it against the live suite (make examples).

declare(strict_types=1);

$baseUrl = rtrim(getenv('CUS_BASE_URL') ?: 'http://localhost:8080', '/');
$token = getenv('CUS_TOKEN') ?: '';

/** An error answer: HTTP status plus the google.rpc.Status body. Switch on $reason, never on the message. */
final class ApiError extends Exception
{
    public string $reason = '';
    /** @var array<int, array{field: string, description: string}> from google.rpc.BadRequest */
    public array $violations = [];

    public function __construct(public int $httpStatus, array $status)
    {
        foreach ($status['details'] ?? [] as $d) {
            $type = $d['@type'] ?? '';
            if (str_ends_with($type, 'google.rpc.ErrorInfo')) {
                $this->reason = $d['reason'] ?? '';
            } elseif (str_ends_with($type, 'google.rpc.BadRequest')) {
                $this->violations = array_merge($this->violations, $d['fieldViolations'] ?? []);
            }
        }
        parent::__construct("HTTP $httpStatus {$this->reason}: " . ($status['message'] ?? ''));
    }
}

function call(string $method, string $path, ?array $body = null, array $query = [], string $token = ''): array
{
    global $baseUrl;
    $headers = ['Accept: application/json', 'Accept-Language: pl'];
    if ($body !== null) {
        $headers[] = 'Content-Type: application/json';
    }
    if ($token !== '') {
        $headers[] = "Authorization: Bearer $token";
    }
    $url = $baseUrl . $path . ($query ? '?' . http_build_query($query) : '');
    $ctx = stream_context_create(['http' => [
        'method' => $method,
        'header' => implode("\r\n", $headers),
        'content' => $body === null ? '' : json_encode($body, JSON_UNESCAPED_UNICODE),
        'ignore_errors' => true, // read the body of 4xx/5xx answers too: it is the error
        'timeout' => 30,
    ]]);
    $raw = @file_get_contents($url, false, $ctx);
    if ($raw === false) {
        throw new RuntimeException("cannot reach $url");
    }
    // $http_response_header is set by the http wrapper; its first line is "HTTP/1.1 200 OK".
    $status = (int) explode(' ', $http_response_header[0])[1];
    $json = json_decode($raw, true) ?? ['message' => substr($raw, 0, 200)];
    if ($status >= 400) {
        throw new ApiError($status, $json);
    }
    return $json;
}

/**
 * Standard Webhooks: HMAC-SHA256 over "id.timestamp.body" with the base64 key after "whsec_", sent as
 * "v1,<base64>" (several, space-separated, while a secret rotates). Old or future timestamps are refused so a
 * captured delivery cannot be replayed.
 */
function verifyWebhook(string $secret, array $headers, string $body, ?int $now = null, int $tolerance = 300): bool
{
    $id = $headers['webhook-id'];
    $ts = $headers['webhook-timestamp'];
    if (abs(($now ?? time()) - (int) $ts) > $tolerance) {
        return false;
    }
    $key = base64_decode(preg_replace('/^whsec_/', '', $secret), true);
    $expected = base64_encode(hash_hmac('sha256', "$id.$ts.$body", $key, true));
    foreach (explode(' ', $headers['webhook-signature']) as $sig) {
        [$version, $value] = array_pad(explode(',', $sig, 2), 2, '');
        if ($version === 'v1' && hash_equals($expected, $value)) {
            return true;
        }
    }
    return false;
}

function check(bool $ok, string $what): void
{
    echo ($ok ? 'ok    ' : 'FAIL  ') . $what . "\n";
    if (!$ok) {
        exit(1);
    }
}

try {
    $page = call('GET', '/v1/services', null, ['pageSize' => 3]);
    foreach ($page['services'] as $s) {
        echo "  {$s['name']}  {$s['displayName']}\n";
    }
    check(count($page['services']) > 0, 'list services (public)');

    $found = call('POST', '/v1/services:search', ['query' => 'zlobek', 'pageSize' => 3]);
    foreach ($found['results'] as $r) {
        echo "  {$r['service']['displayName']}\n";
    }
    check(($found['totalSize'] ?? 0) > 0, "search 'zlobek' finds „Żłobek” (diacritics optional)");

    if ($token !== '') {
        // The same requestId on a retry (a timeout, a lost answer) returns the service created the first time.
        $requestId = bin2hex(random_bytes(16));
        $new = ['displayName' => 'Kawiarenka Obywatelska', 'areas' => ['AREA_CIVIC_ACTIVITY'],
            'targetGroups' => ['TARGET_GROUP_ALL_RESIDENTS']];
        $created = call('POST', '/v1/services', $new, ['requestId' => $requestId], $token);
        $again = call('POST', '/v1/services', $new, ['requestId' => $requestId], $token);
        check($created['name'] === $again['name'], "create {$created['name']}, and a retry creates nothing");

        try {
            call('POST', '/v1/services', $new + ['locations' => [['name' => 'Sala', 'terytCode' => '123']]], [], $token);
            check(false, 'an invalid TERYT code is refused');
        } catch (ApiError $e) {
            foreach ($e->violations as $v) {
                echo "  {$v['field']}: {$v['description']}\n";
            }
            check($e->httpStatus === 400 && $e->reason === 'INVALID_FIELDS' && $e->violations,
                "invalid input: {$e->httpStatus} {$e->reason} with the field named");
        }
    }

    try {
        call('POST', '/v1/services', ['displayName' => 'bez tokenu']);
        check(false, 'writing without a token is refused');
    } catch (ApiError $e) {
        check($e->httpStatus === 401 && $e->reason !== '', "no token: {$e->httpStatus} {$e->reason}");
    }

    // The example of the Standard Webhooks specification; CI may pass a delivery signed by other code.
    $secret = getenv('CUS_WEBHOOK_SECRET') ?: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    $headers = [
        'webhook-id' => getenv('CUS_WEBHOOK_ID') ?: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
        'webhook-timestamp' => getenv('CUS_WEBHOOK_TIMESTAMP') ?: '1614265330',
        'webhook-signature' => getenv('CUS_WEBHOOK_SIGNATURE') ?: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    ];
    $body = getenv('CUS_WEBHOOK_BODY') ?: '{"test": 2432232314}';
    $now = getenv('CUS_WEBHOOK_SIGNATURE') ? null : 1614265330;
    check(verifyWebhook($secret, $headers, $body, $now), 'webhook signature verifies');
    check(!verifyWebhook($secret, $headers, $body . ' ', $now), 'a changed body does not');
    check(!verifyWebhook($secret, $headers, $body, (int) $headers['webhook-timestamp'] + 3600),
        'nor a delivery replayed an hour later');
} catch (ApiError | RuntimeException $e) {
    echo 'FAIL  ' . $e->getMessage() . "\n";
    exit(1);
}
