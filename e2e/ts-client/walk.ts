// Walks the README's flows against a live CUS suite with a client generated from /openapi.json
// (openapi-typescript writes schema.d.ts, openapi-fetch makes the typed calls). `make ts-client` type-checks it
// and e2e TestTypeScriptClient runs it: CUS_BASE_URL names the gateway, CUS_ORGANISER_TOKEN and
// CUS_COORDINATOR_TOKEN are bearer tokens minted with `bin/cusctl token --role ...`.
//
// What it proves: an integrator in TypeScript gets paths, parameters, bodies and answers typed from the document
// alone, and what the document says is what the wire does. Every step that disagrees fails the run.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

declare const process: { env: Record<string, string | undefined>; exitCode?: number };

type Service = components["schemas"]["v1Service"];
type Status = components["schemas"]["rpcStatus"];

const baseUrl = required("CUS_BASE_URL");
const anonymous = createClient<paths>({ baseUrl });
const organiser = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${required("CUS_ORGANISER_TOKEN")}` } });
const coordinator = createClient<paths>({ baseUrl, headers: { Authorization: `Bearer ${required("CUS_COORDINATOR_TOKEN")}` } });

// A service of the demo catalogue (CUS Rawicz), the one the README reads.
const demoService = "0194c050-3022-7053-8000-000000000001";

let passed = 0;
let failed = 0;

function required(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
}

class StepFailure extends Error {}

function expect(cond: unknown, what: string): asserts cond {
  if (!cond) throw new StepFailure(what);
}

// reason returns the ErrorInfo reason of an error body (google.rpc.Status), typed from the document.
function reason(st: Status | undefined): string | undefined {
  for (const d of st?.details ?? []) {
    if ("reason" in d && d["@type"] === "type.googleapis.com/google.rpc.ErrorInfo") return d.reason as string;
  }
  return undefined;
}

async function step(name: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
    passed++;
    console.log(`ok - ${name}`);
  } catch (e) {
    failed++;
    console.log(`not ok - ${name}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

async function main(): Promise<void> {
  await step("list services, two per page", async () => {
    const { data, error, response } = await anonymous.GET("/v1/services", { params: { query: { pageSize: 2 } } });
    expect(response.status === 200 && data, `status ${response.status}: ${JSON.stringify(error)}`);
    expect(data.services?.length === 2, `got ${data.services?.length} services`);
    expect(data.nextPageToken, "no nextPageToken on a partial page");
    const next = await anonymous.GET("/v1/services", { params: { query: { pageSize: 2, pageToken: data.nextPageToken } } });
    expect(next.data?.services?.[0]?.name !== data.services?.[0]?.name, "the second page repeats the first");
  });

  await step("get a service by its id ({service})", async () => {
    const { data, response } = await anonymous.GET("/v1/services/{service}", { params: { path: { service: demoService } } });
    expect(response.status === 200 && data, `status ${response.status}`);
    const s: Service = data;
    expect(s.name === `services/${demoService}`, `name ${s.name}`);
    expect(s.displayName && s.areas && s.areas.length > 0, "no displayName or areas");
  });

  await step("a missing service is a typed 404 with reason SERVICE_NOT_FOUND", async () => {
    const { data, error, response } = await anonymous.GET("/v1/services/{service}", {
      params: { path: { service: "0194c050-3022-7053-8000-00000000ffff" } },
    });
    expect(response.status === 404 && !data && error, `status ${response.status}`);
    expect(reason(error) === "SERVICE_NOT_FOUND", `reason ${reason(error)}`);
  });

  await step("search as residents type", async () => {
    const { data, response } = await anonymous.POST("/v1/services:search", { body: { query: "zlobek" } });
    expect(response.status === 200 && data, `status ${response.status}`);
    expect((data.results?.length ?? 0) > 0, "no result for zlobek");
    expect(data.results?.[0]?.service?.displayName, "a result without a service");
  });

  await step("search with filters near a point", async () => {
    const { data, response } = await anonymous.POST("/v1/services:search", {
      body: {
        areas: ["AREA_HEALTH_PROMOTION"],
        freeOfCharge: true,
        near: { center: { latitude: 51.6094, longitude: 16.8583 }, radiusMeters: 3000 },
      },
    });
    expect(response.status === 200 && data, `status ${response.status}`);
    for (const r of data.results ?? []) {
      expect(r.service?.areas?.includes("AREA_HEALTH_PROMOTION"), `${r.service?.name} is not in the area`);
    }
  });

  await step("filter and order a list", async () => {
    const { data, response } = await anonymous.GET("/v1/services", {
      params: { query: { filter: "area = AREA_CULTURE", orderBy: "display_name desc" } },
    });
    expect(response.status === 200 && data, `status ${response.status}`);
    const names = (data.services ?? []).map((s) => s.displayName ?? "");
    expect(names.length > 0, "no culture services");
    for (const s of data.services ?? []) expect(s.areas?.includes("AREA_CULTURE"), `${s.name} is not AREA_CULTURE`);
  });

  await step("the taxonomy of areas", async () => {
    const { data, response } = await anonymous.GET("/v1/areas");
    expect(response.status === 200 && data, `status ${response.status}`);
    expect((data.areas?.length ?? 0) >= 14, `${data.areas?.length} areas`);
  });

  let created: Service | undefined;
  await step("an anonymous create is a typed 401", async () => {
    const { error, response } = await anonymous.POST("/v1/services", {
      body: { displayName: "Bez tokenu", areas: ["AREA_CIVIC_ACTIVITY"] },
    });
    expect(response.status === 401 && error, `status ${response.status}`);
    expect(reason(error) === "AUTHENTICATION_REQUIRED", `reason ${reason(error)}`);
  });

  await step("create a service as an organiser, idempotently", async () => {
    const requestId = `ts-client-${Date.now()}`;
    const body = {
      displayName: "Kawiarenka Obywatelska (TypeScript)",
      areas: ["AREA_CIVIC_ACTIVITY" as const],
      targetGroups: ["TARGET_GROUP_ALL_RESIDENTS" as const],
    };
    const first = await organiser.POST("/v1/services", { params: { query: { requestId } }, body });
    expect(first.response.status === 200 && first.data, `status ${first.response.status}: ${JSON.stringify(first.error)}`);
    const made: Service = first.data;
    created = made;
    expect(made.name?.startsWith("services/") && made.etag, `created ${JSON.stringify(made)}`);
    const again = await organiser.POST("/v1/services", { params: { query: { requestId } }, body });
    expect(again.data?.name === made.name, `a retry with the same requestId created ${again.data?.name}`);
    const id = (made.name ?? "").slice("services/".length);
    const read = await anonymous.GET("/v1/services/{service}", { params: { path: { service: id } } });
    expect(read.data?.displayName === body.displayName, `read back ${read.data?.displayName}`);
  });

  await step("update with the etag, then a stale etag is a typed 409", async () => {
    expect(created?.name && created.etag, "nothing created");
    const id = (created.name ?? "").slice("services/".length);
    const upd = await organiser.PATCH("/v1/services/{service}", {
      params: { path: { service: id }, query: { updateMask: "display_name" } },
      body: { displayName: "Kawiarenka Obywatelska", etag: created.etag },
    });
    expect(upd.response.status === 200 && upd.data?.displayName === "Kawiarenka Obywatelska", `status ${upd.response.status}`);
    const stale = await organiser.PATCH("/v1/services/{service}", {
      params: { path: { service: id }, query: { updateMask: "display_name" } },
      body: { displayName: "Lost update", etag: created.etag },
    });
    expect(stale.response.status === 409 && reason(stale.error) === "STALE_ETAG", `status ${stale.response.status} reason ${reason(stale.error)}`);
  });

  await step("the change feed, three at a time", async () => {
    const { data, response } = await organiser.GET("/v1/changes", { params: { query: { afterRevision: "0", pageSize: 3 } } });
    expect(response.status === 200 && data, `status ${response.status}`);
    expect(data.changes?.length === 3, `${data.changes?.length} changes`);
    expect(data.changes?.every((c) => c.revision && c.type && c.resourceName), "a change without revision, type or resource");
  });

  await step("watch the change feed (newline-delimited JSON)", async () => {
    const abort = new AbortController();
    const { response } = await organiser.GET("/v1/changes:watch", {
      params: { query: { afterRevision: "0" } },
      parseAs: "stream",
      signal: abort.signal,
    });
    expect(response.status === 200 && response.body, `status ${response.status}`);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    while (!buf.includes("\n")) {
      const { value, done } = await reader.read();
      expect(!done, "the stream ended before its first line");
      buf += value;
    }
    abort.abort();
    type Line = paths["/v1/changes:watch"]["get"]["responses"]["200"]["content"]["application/x-ndjson"];
    const line = JSON.parse(buf.slice(0, buf.indexOf("\n"))) as Line;
    expect(line.result?.change?.revision, `first line ${buf.slice(0, 200)}`);
  });

  await step("the provider registry is public", async () => {
    const { data, response } = await anonymous.GET("/v1/providers", { params: { query: { pageSize: 2 } } });
    expect(response.status === 200 && data, `status ${response.status}`);
    expect(data.providers?.length === 2, `${data.providers?.length} providers`);
    const p = data.providers?.[0];
    const id = p?.name?.slice("providers/".length) ?? "";
    const agreements = await anonymous.GET("/v1/providers/{provider}/agreements", { params: { path: { provider: id } } });
    expect(agreements.response.status === 200, `agreements of ${p?.name}: status ${agreements.response.status}`);
  });

  await step("referrals need a token; a coordinator lists them", async () => {
    const anon = await anonymous.GET("/v1/referrals", { params: { query: { pageSize: 2 } } });
    expect(anon.response.status === 401 && reason(anon.error) === "AUTHENTICATION_REQUIRED", `anonymous: ${anon.response.status}`);
    const { data, response } = await coordinator.GET("/v1/referrals", { params: { query: { pageSize: 2 } } });
    expect(response.status === 200 && data, `status ${response.status}`);
    expect((data.referrals?.length ?? 0) > 0, "no demo referral");
    const r = data.referrals?.[0];
    const id = r?.name?.slice("referrals/".length) ?? "";
    const one = await coordinator.GET("/v1/referrals/{referral}", { params: { path: { referral: id } } });
    expect(one.data?.name === r?.name && one.data?.status, `GET ${r?.name}: ${one.response.status}`);
  });

  await step("statistics as a coordinator", async () => {
    const { data, response } = await coordinator.GET("/v1/statistics");
    expect(response.status === 200 && data, `status ${response.status}`);
    expect((data.total ?? 0) > 0, `total ${data.total}`);
  });

  await step("a coordinator may not edit the catalogue: a typed 403", async () => {
    const { error, response } = await coordinator.POST("/v1/services", {
      body: { displayName: "Nie wolno", areas: ["AREA_CIVIC_ACTIVITY"] },
    });
    expect(response.status === 403 && error, `status ${response.status}`);
    expect(reason(error), "a 403 without an ErrorInfo reason");
  });

  console.log(`${passed} passed, ${failed} failed`);
  if (failed > 0) process.exitCode = 1;
}

await main();
