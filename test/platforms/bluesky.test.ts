import { beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../../src/lib/errors";
import { DAY, HOUR } from "../../src/lib/time";
import { bluesky, jwtExpiry } from "../../src/platforms/bluesky";
import { ProviderError } from "../../src/platforms/http";
import { refreshGrant } from "../../src/platforms/oauth";
import type { Grant } from "../../src/platforms/types";
import type { FakePlatform } from "../helpers/fake-provider";
import { NOW, platformTestContext } from "../helpers/platform-context";
import { BLUESKY_PDS, blueskyFake, type FakePds, fakeFor, unsignedJwt } from "../helpers/platform-fakes";

const DID = "did:plc:z72i7hdynmk6r22z27h6tvur";
const HANDLE = "switchboard.bsky.social";
const APP_PASSWORD = "abcd-efgh-ijkl-mnop";
const context = (now = NOW) => platformTestContext("bluesky", now);

let fake: FakePlatform;
let pds: FakePds;
beforeEach(() => {
  fake = fakeFor("bluesky");
  pds = blueskyFake(fake, {
    did: DID,
    handle: HANDLE,
    appPassword: APP_PASSWORD,
    displayName: "Switchboard",
  });
  pds.clock = NOW;
});

async function connect(now = NOW) {
  return bluesky.connectWithCredentials?.(context(now), { identifier: `@${HANDLE}`, password: APP_PASSWORD });
}

const toGrant = (tokens: {
  accessToken: string;
  refreshToken?: string | null;
  extras?: Record<string, unknown>;
}): Grant => ({
  accessToken: tokens.accessToken,
  refreshToken: tokens.refreshToken ?? null,
  extras: tokens.extras ?? {},
});

describe("bluesky module shape", () => {
  it("has no OAuth block, needs no client credentials and rotates", () => {
    expect(bluesky.oauth).toBeUndefined();
    expect(bluesky.needsClientCredentials).toBe(false);
    expect(bluesky.endpoints).toEqual({ apiBaseUrl: "https://bsky.social" });
    expect(bluesky.refresh).toEqual({ kind: "rotating", leadMs: 15 * 60_000 });
  });

  it("reads exp from a JWT and answers null for junk", () => {
    expect(jwtExpiry(unsignedJwt("at+jwt", { exp: 1_800_000_000 }))).toBe(1_800_000_000_000);
    expect(jwtExpiry("not-a-jwt")).toBeNull();
    expect(jwtExpiry("a.%%%.c")).toBeNull();
  });
});

describe("bluesky connectWithCredentials", () => {
  it("creates a session, stores its tokens with JWT expiries, and reads the profile", async () => {
    const result = await connect();
    const body = JSON.parse(fake.calls[0]?.body ?? "");
    expect(fake.calls[0]?.path).toBe("/api/xrpc/com.atproto.server.createSession");
    expect(body).toEqual({ identifier: HANDLE, password: APP_PASSWORD });
    expect(result?.tokens).toMatchObject({
      expiresAt: NOW + 2 * HOUR,
      refreshTokenExpiresAt: NOW + 90 * DAY,
      extras: { did: DID, handle: HANDLE, pds: BLUESKY_PDS },
    });
    expect(pds.access.has(result?.tokens.accessToken ?? "")).toBe(true);
    expect(pds.refresh.has(result?.tokens.refreshToken ?? "")).toBe(true);
    expect(result?.profile).toEqual({
      platformUserId: DID,
      username: `@${HANDLE}`,
      displayName: "Switchboard",
      avatarUrl: `https://cdn.bsky.app/img/avatar/plain/${DID}/bafkreia@jpeg`,
      accountType: null,
    });
    const profileCall = fake.calls.at(-1);
    expect(profileCall?.path).toBe("/api/xrpc/app.bsky.actor.getProfile");
    expect(profileCall?.headers.get("authorization")).toBe(`Bearer ${result?.tokens.accessToken}`);
  });

  it("never stores the app password", async () => {
    const result = await connect();
    expect(JSON.stringify(result?.tokens)).not.toContain(APP_PASSWORD);
  });

  it("refuses a wrong app password with a message saying so", async () => {
    const err = await bluesky
      .connectWithCredentials?.(context(), { identifier: HANDLE, password: "wrong-pass-word-here" })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
    expect(err.message).toMatch(/handle or app password is wrong/);
    expect(err.message).not.toContain("wrong-pass-word-here");
    expect(err.details).toMatchObject({ status: 401, code: "AuthenticationRequired" });
  });

  it("asks for a handle and a password before calling", async () => {
    const err = await bluesky.connectWithCredentials?.(context(), { identifier: HANDLE }).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe("INVALID_PARAM");
    expect(fake.calls).toHaveLength(0);
  });

  it("keeps a 429 transient with the RateLimit-Reset delay", async () => {
    fake.api("POST /xrpc/com.atproto.server.createSession", () =>
      Response.json(
        { error: "RateLimitExceeded", message: "Rate Limit Exceeded" },
        {
          status: 429,
          headers: {
            "ratelimit-limit": "30",
            "ratelimit-remaining": "0",
            "ratelimit-reset": String(Math.floor(NOW / 1000) + 300),
            "ratelimit-policy": "30;w=300",
          },
        },
      ),
    );
    const err = await connect().catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("transient");
    expect(err.details).toMatchObject({ status: 429, retryAfterMs: 300_000 });
  });

  it("treats a 5xx as transient", async () => {
    fake.failNext({ kind: "5xx" });
    const err = await connect().catch((e) => e);
    expect(err.kind).toBe("transient");
  });

  it("refuses a deactivated account", async () => {
    fake.api("POST /xrpc/com.atproto.server.createSession", () =>
      Response.json({ ...pds.session(), active: false, status: "deactivated" }),
    );
    const err = await connect().catch((e) => e);
    expect(err.kind).toBe("refused");
    expect(err.message).toContain("deactivated");
  });
});

describe("bluesky refresh", () => {
  it("rotates the refreshJwt with refreshSession and refuses a replayed one", async () => {
    const connected = await connect();
    if (!connected) throw new Error("no session");
    const first = toGrant(connected.tokens);
    pds.clock = NOW + 2 * HOUR - 10 * 60_000;
    const refreshed = await refreshGrant(context(pds.clock), bluesky, first);
    const call = fake.calls.at(-1);
    expect(call?.path).toBe("/api/xrpc/com.atproto.server.refreshSession");
    expect(call?.headers.get("authorization")).toBe(`Bearer ${first.refreshToken}`);
    expect(refreshed.refreshToken).not.toBe(first.refreshToken);
    expect(refreshed.accessToken).not.toBe(first.accessToken);
    expect(refreshed.expiresAt).toBe(pds.clock + 2 * HOUR);
    expect(refreshed.extras).toMatchObject({ did: DID, handle: HANDLE, pds: BLUESKY_PDS });

    const replay = await refreshGrant(context(pds.clock), bluesky, first).catch((e) => e);
    expect(replay).toBeInstanceOf(ProviderError);
    expect(replay.kind).toBe("refused");
    expect(replay.details).toMatchObject({ status: 400, code: "ExpiredToken" });

    const again = await refreshGrant(context(pds.clock), bluesky, toGrant(refreshed));
    expect(again.refreshToken).not.toBe(refreshed.refreshToken);
  });

  it("refuses an unknown refreshJwt and a grant without one", async () => {
    const unknown = await refreshGrant(context(), bluesky, {
      accessToken: "a",
      refreshToken: unsignedJwt("refresh+jwt", { exp: 1 }),
      extras: {},
    }).catch((e) => e);
    expect(unknown.kind).toBe("refused");
    expect(unknown.details.code).toBe("InvalidToken");
    const none = await refreshGrant(context(), bluesky, {
      accessToken: "a",
      refreshToken: null,
      extras: {},
    }).catch((e) => e);
    expect(none.kind).toBe("refused");
  });
});

describe("bluesky profile", () => {
  it("refuses an expired accessJwt", async () => {
    const connected = await connect();
    if (!connected) throw new Error("no session");
    pds.clock = NOW + 3 * HOUR;
    const err = await bluesky.profile(context(pds.clock), toGrant(connected.tokens)).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
    expect(err.details.code).toBe("ExpiredToken");
  });

  it("finds the DID with getSession when none is stored", async () => {
    const connected = await connect();
    if (!connected) throw new Error("no session");
    const profile = await bluesky.profile(context(), { ...toGrant(connected.tokens), extras: {} });
    expect(profile.platformUserId).toBe(DID);
    expect(fake.calls.some((c) => c.path === "/api/xrpc/com.atproto.server.getSession")).toBe(true);
  });

  it("treats a 5xx as transient", async () => {
    const connected = await connect();
    if (!connected) throw new Error("no session");
    fake.failNext({ kind: "5xx" });
    const err = await bluesky.profile(context(), toGrant(connected.tokens)).catch((e) => e);
    expect(err.kind).toBe("transient");
  });
});

describe("bluesky revoke", () => {
  it("deletes the session with the refreshJwt", async () => {
    const connected = await connect();
    if (!connected) throw new Error("no session");
    const grant = toGrant(connected.tokens);
    await bluesky.revoke?.(context(), grant);
    const call = fake.calls.at(-1);
    expect(call?.method).toBe("POST");
    expect(call?.path).toBe("/api/xrpc/com.atproto.server.deleteSession");
    expect(call?.headers.get("authorization")).toBe(`Bearer ${grant.refreshToken}`);
    const refresh = await refreshGrant(context(), bluesky, grant).catch((e) => e);
    expect(refresh.kind).toBe("refused");
    const profile = await bluesky.profile(context(), grant).catch((e) => e);
    expect(profile.kind).toBe("refused");
  });
});
