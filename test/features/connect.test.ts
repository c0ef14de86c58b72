import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { createDb } from "../../src/db/client";
import { completeCallback, startConnect } from "../../src/features/connect/connect.service";
import { admin, call, createWorkspace, insertAccount, type TestWorkspace } from "../helpers/api";
import { CALLBACK, connectAccount, consent } from "../helpers/connect";
import { type FakePlatform, fakePlatform } from "../helpers/fake-provider";
import { twitterMeRoute } from "../helpers/platform-fakes";
import { rowOf } from "../helpers/rows";

let fake: FakePlatform;
let ws: TestWorkspace;
const alice = { id: "1001", username: "alice", name: "Alice" };

beforeEach(async () => {
  fake = fakePlatform("twitter");
  fake.clientAuth = "basic";
  twitterMeRoute(fake);
  ws = await createWorkspace();
});

describe("connect → redirect → callback", () => {
  it("runs the whole OAuth flow with PKCE and stores the account with encrypted tokens", async () => {
    const { state, code, url, started } = await consent(ws, fake, alice);
    expect(url.origin + url.pathname).toBe("https://fake.test/twitter/authorize");
    expect(Object.fromEntries(url.searchParams)).toMatchObject({
      response_type: "code",
      client_id: "twitter-client-id",
      redirect_uri: "https://switchboard.test/v1/oauth/redirect/twitter",
      scope: "tweet.read tweet.write users.read offline.access media.write",
      code_challenge_method: "S256",
      state,
    });
    expect(url.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const expiresIn = Date.parse(started.json.expiresAt) - Date.now();
    expect(expiresIn).toBeGreaterThan(595_000);
    expect(expiresIn).toBeLessThanOrEqual(600_000);

    const redirect = await call(`/v1/oauth/redirect/twitter?code=${code}&state=${state}`);
    expect(redirect.status).toBe(302);
    const forwarded = new URL(redirect.headers.get("location") as string);
    expect(forwarded.origin + forwarded.pathname).toBe(CALLBACK);
    expect(forwarded.searchParams.get("code")).toBe(code);
    expect(forwarded.searchParams.get("state")).toBe(state);

    const done = await call("/v1/accounts/callback/twitter", {
      method: "POST",
      key: ws.key,
      body: { code, state },
    });
    expect(done.status, done.text).toBe(200);
    expect(done.json.warning).toBeUndefined();
    expect(done.json.account).toMatchObject({
      platform: "twitter",
      platformUserId: "1001",
      username: "@alice",
      displayName: "Alice",
      status: "active",
      connectionType: "oauth",
      permissions: ["tweet.read", "tweet.write", "users.read", "offline.access", "media.write"],
    });
    const grant = fake.grants[0];
    const row = await rowOf(done.json.account.id);
    for (const secret of [grant?.accessToken, grant?.refreshToken]) {
      expect(JSON.stringify(row)).not.toContain(secret);
      expect(done.text).not.toContain(secret);
    }
    // Due for refresh 5 minutes (X's lead time) before the 2-hour token expires.
    expect(Number(row?.token_expires_at) - Number(row?.next_refresh_at)).toBe(5 * 60_000);
    expect(fake.tokenRequests).toBe(1);
  });

  it("forwards a denied consent as error and state", async () => {
    const { state } = await consent(ws, fake, alice);
    const redirect = await call(`/v1/oauth/redirect/twitter?error=access_denied&state=${state}`);
    const forwarded = new URL(redirect.headers.get("location") as string);
    expect(forwarded.searchParams.get("error")).toBe("access_denied");
    expect(forwarded.searchParams.get("state")).toBe(state);
  });

  it("answers an unknown state with a plain page and no redirect", async () => {
    for (const query of ["?state=unknownunknownunknownunknown&code=x", "", "?code=x"]) {
      const res = await call(`/v1/oauth/redirect/twitter${query}`);
      expect(res.status).toBe(400);
      expect(res.headers.get("location")).toBeNull();
      expect(res.headers.get("content-type")).toContain("text/html");
    }
    const { state } = await consent(ws, fake, alice);
    expect((await call(`/v1/oauth/redirect/linkedin?code=x&state=${state}`)).status).toBe(400);
  });

  it("keeps the KV state encrypted: no verifier, callback or workspace in clear", async () => {
    const { state } = await consent(ws, fake, alice);
    const keys = await env.OAUTH_STATE.list({ prefix: "oauth:state:" });
    expect(keys.keys.length).toBeGreaterThan(0);
    for (const { name } of keys.keys) {
      expect(name).not.toContain(state);
      const value = (await env.OAUTH_STATE.get(name)) as string;
      expect(value).toMatch(/^k2\./);
      expect(value).not.toContain("app.example.com");
      expect(value).not.toContain(ws.id);
    }
  });
});

describe("OAuth state is single-use and short-lived", () => {
  it("rejects a replayed state", async () => {
    const { state, code } = await consent(ws, fake, alice);
    const first = await call("/v1/accounts/callback/twitter", {
      method: "POST",
      key: ws.key,
      body: { code, state },
    });
    expect(first.status).toBe(200);
    const again = await call("/v1/accounts/callback/twitter", {
      method: "POST",
      key: ws.key,
      body: { code, state },
    });
    expect(again.status).toBe(400);
    expect(again.json.error).toEqual({
      code: "INVALID_PARAM",
      message: "Invalid or expired OAuth state",
      requestId: again.headers.get("x-request-id"),
    });
    expect(fake.tokenRequests).toBe(1);
  });

  it("lets exactly one of 20 parallel callbacks with one state exchange the code", async () => {
    const { state, code } = await consent(ws, fake, alice);
    const results = await Promise.all(
      Array.from({ length: 20 }, () =>
        call("/v1/accounts/callback/twitter", { method: "POST", key: ws.key, body: { code, state } }),
      ),
    );
    expect(results.filter((r) => r.status === 200)).toHaveLength(1);
    for (const r of results.filter((r) => r.status !== 200))
      expect(r.json.error.message).toBe("Invalid or expired OAuth state");
    expect(fake.tokenRequests).toBe(1);
    const list = await call("/v1/accounts", { key: ws.key });
    expect(list.json.data).toHaveLength(1);
  });

  it("accepts a state at 599 s and rejects it at 601 s", async () => {
    const db = createDb(env.DB);
    const auth = { keyId: ws.keyId, workspaceId: ws.id, userId: "usr", scopes: [] };
    const t0 = Date.now();
    for (const [age, ok] of [
      [599_000, true],
      [601_000, false],
    ] as const) {
      const started = await startConnect({ env, db, now: t0 }, auth, "twitter", { callbackUrl: CALLBACK });
      const url = new URL(started.authorizationUrl);
      const code = fake.issueCode(
        { ...alice, id: `age-${age}` },
        { challenge: url.searchParams.get("code_challenge") ?? undefined },
      );
      const attempt = completeCallback({ env, db, now: t0 + age }, auth, "twitter", {
        code,
        state: started.state,
      });
      if (ok) await expect(attempt).resolves.toMatchObject({ account: { platformUserId: `age-${age}` } });
      else await expect(attempt).rejects.toThrow("Invalid or expired OAuth state");
    }
  });

  it("rejects another workspace's state and a state for another platform", async () => {
    const other = await createWorkspace();
    const { state, code } = await consent(ws, fake, alice);
    const stolen = await call("/v1/accounts/callback/twitter", {
      method: "POST",
      key: other.key,
      body: { code, state },
    });
    expect(stolen.status).toBe(400);
    expect(stolen.json.error.message).toBe("Invalid or expired OAuth state");
    const crossed = await call("/v1/accounts/callback/linkedin", {
      method: "POST",
      key: ws.key,
      body: { code, state },
    });
    expect(crossed.json.error.message).toBe(
      "This OAuth state was issued for X, not LinkedIn: send it to /v1/accounts/callback/twitter",
    );
    // Neither attempt spent the state: its owner can still finish.
    const mine = await call("/v1/accounts/callback/twitter", {
      method: "POST",
      key: ws.key,
      body: { code, state },
    });
    expect(mine.status).toBe(200);
  });

  it("answers INVALID_PARAM for a code the platform refuses", async () => {
    const { state } = await consent(ws, fake, alice);
    const res = await call("/v1/accounts/callback/twitter", {
      method: "POST",
      key: ws.key,
      body: { code: "forged", state },
    });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_PARAM");
    expect(res.json.error.message).toMatch(/Invalid authorization code/);
  });
});

describe("connect checks", () => {
  it("PLATFORM_RESTRICTED when the workspace may not use the platform", async () => {
    await admin(`/workspaces/${ws.id}`, { method: "PATCH", body: { allowedPlatforms: ["linkedin"] } });
    const res = await call("/v1/accounts/connect/twitter", {
      method: "POST",
      key: ws.key,
      body: { callbackUrl: CALLBACK },
    });
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe("PLATFORM_RESTRICTED");
  });

  it("PLAN_LIMIT_EXCEEDED when the plan has no room, counting only connected accounts", async () => {
    await admin(`/workspaces/${ws.id}`, { method: "PATCH", body: { plan: "free" } });
    for (let i = 0; i < 4; i++) await insertAccount(ws.id);
    await insertAccount(ws.id, { status: "disconnected" });
    expect((await connectAccount(ws, fake, alice)).status).toBe(200);
    const full = await call("/v1/accounts/connect/twitter", {
      method: "POST",
      key: ws.key,
      body: { callbackUrl: CALLBACK },
    });
    expect(full.status).toBe(402);
    expect(full.json.error.code).toBe("PLAN_LIMIT_EXCEEDED");
    // Reconnecting an account the workspace already has needs no room.
    expect(
      (
        await connectAccount(ws, fake, alice, {
          path: `/v1/accounts/${(await call("/v1/accounts?q=alice", { key: ws.key })).json.data[0].id}/reconnect`,
        })
      ).status,
    ).toBe(200);
  });

  it("PLATFORM_NOT_CONFIGURED without client credentials", async () => {
    const db = createDb(env.DB);
    const auth = { keyId: ws.keyId, workspaceId: ws.id, userId: "usr", scopes: [] };
    const bare = { ...env, TWITTER_CLIENT_ID: "" } as Env;
    await expect(
      startConnect({ env: bare, db, now: Date.now() }, auth, "twitter", { callbackUrl: CALLBACK }),
    ).rejects.toMatchObject({
      code: "PLATFORM_NOT_CONFIGURED",
      message: "X is not configured: set TWITTER_CLIENT_ID and TWITTER_CLIENT_SECRET",
    });
  });

  it("validates the body and the platform", async () => {
    const bad = [
      ["/v1/accounts/connect/myspace", { callbackUrl: CALLBACK }],
      ["/v1/accounts/connect/twitter", {}],
      ["/v1/accounts/connect/twitter", { callbackUrl: CALLBACK, forcePrompt: "yes" }],
      ["/v1/accounts/connect/twitter", { callbackUrl: CALLBACK, extra: 1 }],
      ["/v1/accounts/callback/twitter", { code: "x" }],
      ["/v1/accounts/callback/twitter", { code: 1, state: "s" }],
    ] as const;
    for (const [path, body] of bad) {
      const res = await call(path, { method: "POST", key: ws.key, body });
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(400);
      expect(res.json.error.code).toBe("INVALID_PARAM");
    }
    const upper = await call("/v1/accounts/connect/TWITTER", {
      method: "POST",
      key: ws.key,
      body: { callbackUrl: CALLBACK },
    });
    expect(upper.status).toBe(200);
  });

  it.each([
    "https://evil.com/cb",
    "https://app.example.com.evil.com/cb",
    "https://evilapp.example.com/cb",
    "https://example.com/cb",
    "https://app.example.co/cb",
    "http://app.example.com/cb",
    "javascript:alert(1)",
    "JAVASCRIPT:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    "file:///etc/passwd",
    "ftp://app.example.com/cb",
    "//app.example.com/cb",
    "/oauth/callback",
    "app.example.com/cb",
    "https://app.example.com@evil.com/cb",
    "https://user:pass@app.example.com/cb",
    "https://@app.example.com/cb",
    "https://evil.com\\@app.example.com/cb",
    "https://evil.com\\.app.example.com/cb",
    "https://app.example.com%2eevil.com/cb",
    "https://evil.com%2fapp.example.com/cb",
    "https://evil.com%23app.example.com",
    "https://app.example.com./cb",
    "https://app.example.com/cb#frag",
    " https://app.example.com/cb",
    "https://app.example.com/cb\n",
    "https://app.example.com\t/cb",
    "https://%61pp.example.com.evil.com/cb",
    "https://xn--pp-8ka.example.com/cb",
    "https://app．example．com.evil.com/cb",
    "http://127.0.0.1.evil.com/cb",
    "http://localhost.evil.com/cb",
    "http://evil.com:80@localhost/cb",
    `https://app.example.com/${"a".repeat(2100)}`,
    "https://[::1]/cb",
    "https://0x7f.0.0.1/cb",
  ])("rejects hostile callbackUrl %s", async (callbackUrl) => {
    const res = await call("/v1/accounts/connect/twitter", {
      method: "POST",
      key: ws.key,
      body: { callbackUrl },
    });
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_PARAM");
  });

  it.each([
    CALLBACK,
    "https://APP.example.com/cb?x=1",
    "https://app.example.com:8443/cb",
    "http://localhost:3000/cb",
  ])("accepts %s", async (callbackUrl) => {
    const res = await call("/v1/accounts/connect/twitter", {
      method: "POST",
      key: ws.key,
      body: { callbackUrl },
    });
    expect(res.status, res.text).toBe(200);
  });

  it("matches wildcard domains on subdomains only", async () => {
    await admin(`/workspaces/${ws.id}`, {
      method: "PATCH",
      body: { allowedCallbackDomains: ["*.acme.dev"] },
    });
    const at = (callbackUrl: string) =>
      call("/v1/accounts/connect/twitter", { method: "POST", key: ws.key, body: { callbackUrl } }).then(
        (r) => r.status,
      );
    expect(await at("https://app.acme.dev/cb")).toBe(200);
    expect(await at("https://a.b.acme.dev/cb")).toBe(200);
    expect(await at("https://acme.dev/cb")).toBe(400);
    expect(await at("https://evilacme.dev/cb")).toBe(400);
  });
});

describe("reconnect and shared accounts", () => {
  it("a reconnect upserts: tokens renewed, status active, errors cleared, refresh token kept when none comes back", async () => {
    const first = await connectAccount(ws, fake, alice);
    const id = first.json.account.id;
    await env.DB.prepare(
      "UPDATE accounts SET status = 'error', last_error_code = 'invalid_grant', last_error_message = 'revoked', last_error_at = 1 WHERE id = ?",
    )
      .bind(id)
      .run();
    const before = await rowOf(id);
    fake.shapeToken = (body) => {
      const { refresh_token: _dropped, ...rest } = body;
      return rest;
    };
    const again = await connectAccount(ws, fake, alice, { path: `/v1/accounts/${id}/reconnect` });
    expect(again.status, again.text).toBe(200);
    expect(again.json.account).toMatchObject({ id, status: "active", error: null });
    const after = await rowOf(id);
    expect(after?.access_token_enc).not.toBe(before?.access_token_enc);
    expect(after?.refresh_token_enc).not.toBeNull();
    expect(after?.next_refresh_at).not.toBeNull();
    expect((await call("/v1/accounts?includeArchived=true", { key: ws.key })).json.data).toHaveLength(1);
  });

  it("a plain connect of an account the workspace holds updates the same row", async () => {
    const first = await connectAccount(ws, fake, alice);
    const second = await connectAccount(ws, fake, { ...alice, username: "alice_new" });
    expect(second.json.account.id).toBe(first.json.account.id);
    expect(second.json.account.username).toBe("@alice_new");
  });

  it("a reconnect that returns another platform user is refused", async () => {
    const first = await connectAccount(ws, fake, alice);
    const res = await connectAccount(
      ws,
      fake,
      { id: "2002", username: "mallory", name: "M" },
      { path: `/v1/accounts/${first.json.account.id}/reconnect` },
    );
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_PARAM");
    expect((await call("/v1/accounts", { key: ws.key })).json.data).toHaveLength(1);
  });

  it("reconnect of another workspace's account answers 404", async () => {
    const other = await createWorkspace();
    const theirs = await insertAccount(other.id);
    const res = await call(`/v1/accounts/${theirs.id}/reconnect`, {
      method: "POST",
      key: ws.key,
      body: { callbackUrl: CALLBACK },
    });
    expect(res.status).toBe(404);
  });

  it("flags an account connected in two workspaces on both sides, with the reference warning", async () => {
    const other = await createWorkspace();
    const carol = { id: "3003", username: "carol", name: "Carol" };
    const mine = await connectAccount(ws, fake, carol);
    expect(mine.json.account.isSharedAccount).toBe(false);
    const theirs = await connectAccount(other, fake, carol);
    expect(theirs.json.warning).toBe(
      "This account is already connected in another workspace. Posts to this account from all connected workspaces share a combined publishing limit.",
    );
    expect(theirs.json.account.isSharedAccount).toBe(true);
    expect((await call(`/v1/accounts/${mine.json.account.id}`, { key: ws.key })).json.isSharedAccount).toBe(
      true,
    );
  });
});
