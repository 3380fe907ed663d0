// The CUS REST API from C# (.NET 8) with HttpClient and System.Text.Json only: no generated client, no packages.
//
// Lists services, searches, creates a service with a bearer token (idempotently, with a requestId), reads an
// error as the google.rpc.Status every error is, and verifies a Standard Webhooks signature.
//
//   CUS_BASE_URL=http://localhost:8080 CUS_TOKEN=$(bin/cusctl token --role organiser) dotnet run
//
// Without CUS_TOKEN only the public reads run. Exits 1 when an answer is not what it expects.

using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

var baseUrl = (Environment.GetEnvironmentVariable("CUS_BASE_URL") ?? "http://localhost:8080").TrimEnd('/');
var token = Environment.GetEnvironmentVariable("CUS_TOKEN") ?? "";

using var http = new HttpClient { BaseAddress = new Uri(baseUrl), Timeout = TimeSpan.FromSeconds(30) };
http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
http.DefaultRequestHeaders.AcceptLanguage.Add(new StringWithQualityHeaderValue("pl"));

async Task<JsonNode> Call(HttpMethod method, string pathAndQuery, object? body = null, string? bearer = null)
{
    // Relative to BaseAddress; explicit, because on Linux a string starting with "/" may be taken for a file path.
    using var req = new HttpRequestMessage(method, new Uri(pathAndQuery, UriKind.Relative));
    if (body is not null)
        req.Content = new StringContent(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");
    if (!string.IsNullOrEmpty(bearer))
        req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
    using var resp = await http.SendAsync(req);
    var text = await resp.Content.ReadAsStringAsync();
    JsonNode? json;
    try { json = JsonNode.Parse(text); } catch (JsonException) { json = null; }
    if (!resp.IsSuccessStatusCode)
        throw new ApiError(resp.StatusCode, json as JsonObject ?? new JsonObject { ["message"] = text });
    return json!;
}

int failures = 0;
void Check(bool ok, string what)
{
    Console.WriteLine((ok ? "ok    " : "FAIL  ") + what);
    if (!ok) failures++;
}

var page = await Call(HttpMethod.Get, "/v1/services?pageSize=3");
foreach (var s in page["services"]!.AsArray())
    Console.WriteLine($"  {s!["name"]}  {s["displayName"]}");
Check(page["services"]!.AsArray().Count > 0, "list services (public)");

var found = await Call(HttpMethod.Post, "/v1/services:search", new { query = "zlobek", pageSize = 3 });
foreach (var r in found["results"]!.AsArray())
    Console.WriteLine($"  {r!["service"]!["displayName"]}");
Check((found["totalSize"]?.GetValue<int>() ?? 0) > 0, "search 'zlobek' finds „Żłobek” (diacritics optional)");

if (token != "")
{
    // The same requestId on a retry (a timeout, a lost answer) returns the service created the first time.
    var requestId = Guid.NewGuid().ToString();
    var svc = new { displayName = "Kawiarenka Obywatelska", areas = new[] { "AREA_CIVIC_ACTIVITY" }, targetGroups = new[] { "TARGET_GROUP_ALL_RESIDENTS" } };
    var created = await Call(HttpMethod.Post, $"/v1/services?requestId={requestId}", svc, token);
    var again = await Call(HttpMethod.Post, $"/v1/services?requestId={requestId}", svc, token);
    Check((string?)created["name"] == (string?)again["name"], $"create {created["name"]}, and a retry creates nothing");

    try
    {
        await Call(HttpMethod.Post, "/v1/services", new
        {
            svc.displayName, svc.areas, svc.targetGroups,
            locations = new[] { new { name = "Sala", terytCode = "123" } },
        }, token);
        Check(false, "an invalid TERYT code is refused");
    }
    catch (ApiError e)
    {
        foreach (var (field, description) in e.Violations) Console.WriteLine($"  {field}: {description}");
        Check(e.Status == HttpStatusCode.BadRequest && e.Reason == "INVALID_FIELDS" && e.Violations.Count > 0,
            $"invalid input: {(int)e.Status} {e.Reason} with the field named");
    }
}

try
{
    await Call(HttpMethod.Post, "/v1/services", new { displayName = "bez tokenu" });
    Check(false, "writing without a token is refused");
}
catch (ApiError e)
{
    Check(e.Status == HttpStatusCode.Unauthorized && e.Reason != "", $"no token: {(int)e.Status} {e.Reason}");
}

// The example of the Standard Webhooks specification.
var headers = new Dictionary<string, string>
{
    ["webhook-id"] = "msg_p5jXN8AQM9LWM0D4loKWxJek",
    ["webhook-timestamp"] = "1614265330",
    ["webhook-signature"] = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
};
const string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
var at = DateTimeOffset.FromUnixTimeSeconds(1614265330);
Check(Webhooks.Verify(secret, headers, "{\"test\": 2432232314}", at), "webhook signature verifies");
Check(!Webhooks.Verify(secret, headers, "{\"test\": 2432232314} ", at), "a changed body does not");
Check(!Webhooks.Verify(secret, headers, "{\"test\": 2432232314}", at.AddHours(1)), "nor a delivery replayed an hour later");

return failures == 0 ? 0 : 1;

/// <summary>An error answer: HTTP status plus the google.rpc.Status body. Switch on Reason, never on the message.</summary>
sealed class ApiError : Exception
{
    public HttpStatusCode Status { get; }
    public string Reason { get; } = "";
    public List<(string Field, string Description)> Violations { get; } = new();

    public ApiError(HttpStatusCode status, JsonObject body) : base($"HTTP {(int)status}: {body["message"]}")
    {
        Status = status;
        foreach (var d in body["details"]?.AsArray() ?? new JsonArray())
        {
            var type = (string?)d?["@type"] ?? "";
            if (type.EndsWith("google.rpc.ErrorInfo"))
                Reason = (string?)d!["reason"] ?? "";
            else if (type.EndsWith("google.rpc.BadRequest"))
                foreach (var v in d!["fieldViolations"]?.AsArray() ?? new JsonArray())
                    Violations.Add(((string?)v!["field"] ?? "", (string?)v["description"] ?? ""));
        }
    }
}

static class Webhooks
{
    /// Standard Webhooks: HMAC-SHA256 over "id.timestamp.body" with the base64 key after "whsec_", sent as
    /// "v1,&lt;base64&gt;" (several, space-separated, while a secret rotates). Old or future timestamps are
    /// refused so that a captured delivery cannot be replayed.
    public static bool Verify(string secret, IReadOnlyDictionary<string, string> headers, string body,
        DateTimeOffset now, int toleranceSeconds = 300)
    {
        var id = headers["webhook-id"];
        var ts = headers["webhook-timestamp"];
        if (!long.TryParse(ts, out var seconds) || Math.Abs(now.ToUnixTimeSeconds() - seconds) > toleranceSeconds)
            return false;
        var key = Convert.FromBase64String(secret.StartsWith("whsec_") ? secret[6..] : secret);
        var expected = Encoding.ASCII.GetBytes(Convert.ToBase64String(
            HMACSHA256.HashData(key, Encoding.UTF8.GetBytes($"{id}.{ts}.{body}"))));
        foreach (var sig in headers["webhook-signature"].Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = sig.Split(',', 2);
            if (parts.Length == 2 && parts[0] == "v1" &&
                CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(parts[1])))
                return true;
        }
        return false;
    }
}
