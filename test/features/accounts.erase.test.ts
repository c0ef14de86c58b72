import { env } from "cloudflare:workers";
import { HttpResponse, http } from "msw";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newId } from "../../src/lib/ids";
import { call, createWorkspace, type TestWorkspace } from "../helpers/api";
import { connectAccount } from "../helpers/connect";
import { type FakePlatform, fakeServer } from "../helpers/fake-provider";
import { oauthFake } from "../helpers/platform-fakes";
import { rowOf } from "../helpers/rows";

let ws: TestWorkspace;
let other: TestWorkspace;
let twitter: FakePlatform;
let endpointId: string;
beforeAll(async () => {
  ws = await createWorkspace();
  other = await createWorkspace();
  twitter = oauthFake("twitter");
  // The account.connected deliveries' receiver.
  fakeServer.use(http.post("https://receiver.test/*", () => new HttpResponse(null, { status: 204 })));
  const hook = await call("/v1/webhooks", {
    method: "POST",
    key: ws.key,
    body: { url: "https://receiver.test/hooks/erase" },
  });
  expect(hook.status).toBe(201);
  endpointId = hook.json.webhook.id;
});

afterAll(() => fakeServer.resetHandlers());

async function connected(workspace = ws) {
  const tag = crypto.randomUUID().slice(0, 8);
  const profile = { id: `tw-${tag}`, username: `u_${tag}`, name: tag };
  const res = await connectAccount(workspace, twitter, profile);
  expect(res.status).toBe(200);
  return { id: res.json.account.id as string, platformUserId: profile.id };
}

const count = async (sql: string, ...values: unknown[]) =>
  (
    await env.DB.prepare(sql)
      .bind(...values)
      .first<{ n: number }>()
  )?.n;

/** Metrics, a backfill job, and an event with one delivery of each status about the account. */
async function plantData(accountId: string) {
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare(
      "INSERT INTO post_metrics (account_id, platform_post_id, workspace_id, platform, published_at, imported_at) VALUES (?, ?, ?, 'twitter', ?, ?)",
    ).bind(accountId, `post-${accountId}`, ws.id, now, now),
    env.DB.prepare(
      "INSERT INTO backfill_jobs (id, workspace_id, account_id, status, created_at, updated_at) VALUES (?, ?, ?, 'running', ?, ?)",
    ).bind(newId("bf", now), ws.id, accountId, now, now),
  ]);
  const eventId = newId("evt", now);
  const payload = JSON.stringify({
    id: eventId,
    type: "account.error",
    data: { account: { id: accountId } },
  });
  await env.DB.prepare(
    "INSERT INTO events (id, workspace_id, type, payload, created_at) VALUES (?, ?, 'account.error', ?, ?)",
  )
    .bind(eventId, ws.id, payload, now)
    .run();
  for (const status of ["pending", "failed", "succeeded"]) {
    await env.DB.prepare(
      "INSERT INTO deliveries (id, workspace_id, event_id, endpoint_id, status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
      .bind(newId("dlv", now), ws.id, eventId, endpointId, status, now, now)
      .run();
  }
  return eventId;
}

const deliveriesOf = async (eventId: string) =>
  (
    await env.DB.prepare("SELECT status FROM deliveries WHERE event_id = ? ORDER BY status")
      .bind(eventId)
      .all<{ status: string }>()
  ).results.map((r) => r.status);

describe("DELETE /v1/accounts/:id?erase=true", () => {
  it("revokes at the platform, then removes the row, its metrics, jobs and undelivered deliveries", async () => {
    const { id } = await connected();
    const kept = await connected();
    const eventId = await plantData(id);
    const keptEvent = await plantData(kept.id);
    const revocations = twitter.revocations;
    const eventsAbout = () =>
      count("SELECT count(*) AS n FROM events WHERE json_extract(payload, '$.data.account.id') = ?", id);
    const eventsBefore = await eventsAbout();

    const res = await call(`/v1/accounts/${id}?erase=true`, { method: "DELETE", key: ws.key });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ success: true });
    expect(twitter.revocations).toBeGreaterThan(revocations);
    expect(await rowOf(id)).toBeNull();
    expect(await count("SELECT count(*) AS n FROM post_metrics WHERE account_id = ?", id)).toBe(0);
    expect(await count("SELECT count(*) AS n FROM backfill_jobs WHERE account_id = ?", id)).toBe(0);
    // What was delivered stays as the record of it; nothing left can deliver the account again.
    expect(await deliveriesOf(eventId)).toEqual(["succeeded"]);
    expect(await deliveriesOf(keptEvent)).toEqual(["failed", "pending", "succeeded"]);
    expect(await count("SELECT count(*) AS n FROM post_metrics WHERE account_id = ?", kept.id)).toBe(1);
    expect(await count("SELECT count(*) AS n FROM backfill_jobs WHERE account_id = ?", kept.id)).toBe(1);
    expect(await rowOf(kept.id)).not.toBeNull();

    // Gone for good: every route answers as for an id that never existed, and no event was sent.
    expect((await call(`/v1/accounts/${id}`, { key: ws.key })).status).toBe(404);
    const again = await call(`/v1/accounts/${id}?erase=true`, { method: "DELETE", key: ws.key });
    expect(again.status).toBe(404);
    expect(again.json.error).toMatchObject({ code: "NOT_FOUND", message: "Account not found" });
    expect((await call(`/v1/accounts/${id}`, { method: "DELETE", key: ws.key })).status).toBe(404);
    expect(await eventsAbout()).toBe(eventsBefore);
  });

  it("erases an archived account, and the platform user can be connected again afresh", async () => {
    const { id, platformUserId } = await connected();
    expect((await call(`/v1/accounts/${id}`, { method: "DELETE", key: ws.key })).status).toBe(200);
    expect((await rowOf(id))?.status).toBe("disconnected");
    expect((await call(`/v1/accounts/${id}?erase=TRUE`, { method: "DELETE", key: ws.key })).status).toBe(200);
    expect(await rowOf(id)).toBeNull();
    const back = await connectAccount(ws, twitter, { id: platformUserId, username: "back", name: "Back" });
    expect(back.status).toBe(200);
    expect(back.json.account.id).not.toBe(id);
  });

  it("keeps archiving by default and with erase=false", async () => {
    const { id } = await connected();
    await plantData(id);
    expect((await call(`/v1/accounts/${id}?erase=false`, { method: "DELETE", key: ws.key })).status).toBe(
      200,
    );
    expect((await rowOf(id))?.status).toBe("disconnected");
    expect(await count("SELECT count(*) AS n FROM post_metrics WHERE account_id = ?", id)).toBe(1);
  });

  it("answers another workspace's account like a missing one and erases nothing of it", async () => {
    const theirs = await connected(other);
    const foreign = await call(`/v1/accounts/${theirs.id}?erase=true`, { method: "DELETE", key: ws.key });
    const missing = await call(`/v1/accounts/${newId("acc")}?erase=true`, { method: "DELETE", key: ws.key });
    expect(foreign.status).toBe(404);
    expect(foreign.json.error.message).toBe(missing.json.error.message);
    expect((await rowOf(theirs.id))?.status).toBe("active");
  });

  it("refuses an erase value that is not a boolean", async () => {
    const { id } = await connected();
    const res = await call(`/v1/accounts/${id}?erase=1`, { method: "DELETE", key: ws.key });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: "INVALID_PARAM", details: [{ field: "erase" }] });
    expect((await rowOf(id))?.status).toBe("active");
  });
});

describe("GET and DELETE /v1/accounts/by-platform/:platform/:platformAccountId", () => {
  it("answers exactly what the id's route answers", async () => {
    const { id, platformUserId } = await connected();
    const byId = await call(`/v1/accounts/${id}`, { key: ws.key });
    const byPlatform = await call(`/v1/accounts/by-platform/twitter/${platformUserId}`, { key: ws.key });
    expect(byPlatform.status).toBe(200);
    expect(byPlatform.json).toEqual(byId.json);
    const anyCase = await call(`/v1/accounts/by-platform/TWITTER/${platformUserId}`, { key: ws.key });
    expect(anyCase.json).toEqual(byId.json);
  });

  it("answers NOT_FOUND for another platform, another workspace's user, or an unknown one, alike", async () => {
    const { platformUserId } = await connected();
    const theirs = await connected(other);
    const answers = await Promise.all(
      [
        `/v1/accounts/by-platform/linkedin/${platformUserId}`,
        `/v1/accounts/by-platform/twitter/${theirs.platformUserId}`,
        "/v1/accounts/by-platform/twitter/nobody-here",
      ].map((path) => call(path, { key: ws.key })),
    );
    for (const res of answers) {
      expect(res.status).toBe(404);
      expect(res.json.error).toMatchObject({ code: "NOT_FOUND", message: "Account not found" });
    }
    const deleted = await call(`/v1/accounts/by-platform/twitter/${theirs.platformUserId}`, {
      method: "DELETE",
      key: ws.key,
    });
    expect(deleted.status).toBe(404);
    expect((await rowOf(theirs.id))?.status).toBe("active");
  });

  it("refuses an unknown platform with the error envelope", async () => {
    const res = await call("/v1/accounts/by-platform/myspace/123", { key: ws.key });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: "INVALID_PARAM", details: [{ field: "platform" }] });
  });

  it("archives by default and erases with erase=true, as by id", async () => {
    const archived = await connected();
    const res = await call(`/v1/accounts/by-platform/twitter/${archived.platformUserId}`, {
      method: "DELETE",
      key: ws.key,
    });
    expect(res.json).toEqual({ success: true });
    expect((await rowOf(archived.id))?.status).toBe("disconnected");
    const shown = await call(`/v1/accounts/by-platform/twitter/${archived.platformUserId}`, { key: ws.key });
    expect(shown.json).toMatchObject({ id: archived.id, status: "disconnected" });

    const erased = await connected();
    await plantData(erased.id);
    const gone = await call(`/v1/accounts/by-platform/twitter/${erased.platformUserId}?erase=true`, {
      method: "DELETE",
      key: ws.key,
    });
    expect(gone.json).toEqual({ success: true });
    expect(await rowOf(erased.id)).toBeNull();
    expect(await count("SELECT count(*) AS n FROM post_metrics WHERE account_id = ?", erased.id)).toBe(0);
  });
});
