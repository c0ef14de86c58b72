import { HttpResponse, http } from "msw";
import { setupServer } from "msw/node";
import type { Platform } from "../../src/lib/domain";
import { tokenError } from "../../src/platforms/wire/tokens";

/** Where PROVIDER_OVERRIDES (vitest.config.ts) points every platform in tests. */
export const FAKE_ORIGIN = "https://fake.test";

export interface FakeProfile {
  id: string;
  username: string;
  name: string;
  avatarUrl?: string;
}

export interface FakeGrant {
  profile: FakeProfile;
  scopes: string[];
  accessToken: string;
  accessExpiresAt: number | null;
  refreshToken: string | null;
  revoked: boolean;
}

/**
 * How a request fails. `timeout` and `network` fail the fetch at once, as a network error would;
 * `hang` accepts the request and never answers, so only the caller's own timeout ends it.
 */
type Failure = {
  kind: "5xx" | "429" | "timeout" | "invalid_grant" | "network" | "hang";
  retryAfter?: string;
};

export interface FakeRequest {
  request: Request;
  url: URL;
  path: string;
  /** The grant whose access token came as Bearer, if any. */
  grant: FakeGrant | undefined;
}

type ApiHandler = (req: FakeRequest) => Response | Promise<Response>;

/**
 * A platform's OAuth server and API, behaving like the real one: codes are single-use, PKCE is
 * checked, refresh tokens rotate and are single-use when `rotating` (a reused one kills the grant),
 * revoked grants answer 401, and failures (5xx, 429 with Retry-After, timeouts) are declared per test.
 */
export class FakePlatform {
  readonly codes = new Map<string, { grant: FakeGrant; challenge?: string; redirectUri?: string }>();
  readonly grants: FakeGrant[] = [];
  readonly apis = new Map<string, ApiHandler>();
  readonly calls: { method: string; path: string; body: string; headers: Headers }[] = [];
  tokenRequests = 0;
  refreshRequests = 0;
  revocations = 0;
  rotating = true;
  accessTtlSeconds: number | null = 7200;
  refreshTtlSeconds: number | null = null;
  delayMs = 0;
  /** Requests being answered now, and the most there ever were at once. */
  inFlight = 0;
  peakInFlight = 0;
  /** Hung requests the caller gave up on (aborted), as the platform would see them hang up. */
  hangUps = 0;
  /** Changes the token response before it is sent (platform quirks). */
  shapeToken: (body: Record<string, unknown>) => Record<string, unknown> = (b) => b;
  /** The client auth the platform expects on its token endpoint. */
  clientAuth: "basic" | "post" | "any" = "any";
  private failures: Failure[] = [];
  private seq = 0;

  /** `segment`: the path it is served under, when not the platform's (a variant's own app, tiktok_business). */
  constructor(
    readonly platform: Platform,
    readonly segment: string = platform,
  ) {}

  get base() {
    return `${FAKE_ORIGIN}/${this.segment}`;
  }

  /** The next `times` requests to this platform fail this way. */
  failNext(failure: Failure, times = 1) {
    for (let i = 0; i < times; i++) this.failures.push(failure);
  }

  /** Registers an API route under apiBaseUrl, e.g. api("GET /2/users/me", handler). */
  api(route: string, handler: ApiHandler) {
    this.apis.set(route, handler);
  }

  newGrant(profile: FakeProfile, scopes: string[] = []): FakeGrant {
    const grant: FakeGrant = {
      profile,
      scopes,
      accessToken: this.token("at"),
      accessExpiresAt: this.accessTtlSeconds === null ? null : Date.now() + this.accessTtlSeconds * 1000,
      refreshToken: this.token("rt"),
      revoked: false,
    };
    this.grants.push(grant);
    return grant;
  }

  /** An authorization code the consent screen would have issued. */
  issueCode(
    profile: FakeProfile,
    options: { scopes?: string[]; challenge?: string; redirectUri?: string } = {},
  ) {
    const code = this.token("code");
    this.codes.set(code, {
      grant: this.newGrant(profile, options.scopes),
      challenge: options.challenge,
      redirectUri: options.redirectUri,
    });
    return code;
  }

  grantByAccess(token: string | null | undefined) {
    return this.grants.find((g) => g.accessToken === token);
  }

  token(kind: string) {
    this.seq += 1;
    return `${this.platform}-${kind}-${this.seq}-${crypto.randomUUID().slice(0, 8)}`;
  }

  async handle(request: Request): Promise<Response> {
    this.inFlight += 1;
    this.peakInFlight = Math.max(this.peakInFlight, this.inFlight);
    try {
      return await this.answer(request);
    } finally {
      this.inFlight -= 1;
    }
  }

  private async answer(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const path = url.pathname.slice(`/${this.segment}`.length);
    const body = new TextDecoder().decode(await request.clone().arrayBuffer());
    this.calls.push({ method: request.method, path, body, headers: request.headers });
    if (this.delayMs) await new Promise((r) => setTimeout(r, this.delayMs));
    const failure = this.failures.shift();
    if (failure) {
      if (failure.kind === "hang") return this.hang(request);
      if (failure.kind === "network" || failure.kind === "timeout") return HttpResponse.error();
      if (failure.kind === "5xx") return new Response("upstream unavailable", { status: 503 });
      if (failure.kind === "429") {
        return Response.json(
          { error: "rate_limited" },
          { status: 429, headers: failure.retryAfter ? { "retry-after": failure.retryAfter } : {} },
        );
      }
      if (path === "/token") this.tokenRequests += 1;
      return this.oauthError(400, "invalid_grant", "Refresh token revoked");
    }
    if (path === "/token" && request.method === "POST") return this.tokenEndpoint(request, body);
    if (path === "/revoke" && request.method === "POST") return this.revokeEndpoint(body);
    if (path.startsWith("/api/")) {
      const apiPath = path.slice(4);
      const handler = this.apis.get(`${request.method} ${apiPath}`);
      if (!handler) return Response.json({ error: "not_found", path: apiPath }, { status: 404 });
      const bearer =
        request.headers.get("authorization")?.replace(/^Bearer /i, "") ??
        url.searchParams.get("access_token");
      const grant = this.grantByAccess(bearer);
      return handler({ request, url, path: apiPath, grant: grant && !grant.revoked ? grant : undefined });
    }
    return Response.json({ error: "not_found" }, { status: 404 });
  }

  /** Never answers; settles only when the caller aborts the request (its timeout firing). */
  private hang(request: Request): Promise<Response> {
    return new Promise<Response>((resolve) => {
      request.signal.addEventListener("abort", () => {
        this.hangUps += 1;
        // Nobody reads it: the caller's fetch has already failed with its own abort reason.
        resolve(new Response(null, { status: 499 }));
      });
    });
  }

  /** An OAuth error of the token endpoint, in the platform's own envelope. */
  private oauthError(status: number, error: string, description?: string): Response {
    const answer = tokenError(this.platform, { status, error, description }, () => "fake-trace");
    return Response.json(answer.body, { status: answer.status });
  }

  private checkClient(request: Request, form: URLSearchParams): boolean {
    const basic = request.headers.get("authorization")?.startsWith("Basic ");
    const post = form.has("client_secret");
    if (this.clientAuth === "basic") return Boolean(basic);
    if (this.clientAuth === "post") return post;
    return Boolean(basic) || post;
  }

  private async tokenEndpoint(request: Request, body: string): Promise<Response> {
    this.tokenRequests += 1;
    const form = new URLSearchParams(body);
    if (!this.checkClient(request, form)) return this.oauthError(401, "invalid_client");
    const grantType = form.get("grant_type");
    if (grantType === "authorization_code") {
      const entry = this.codes.get(form.get("code") ?? "");
      if (!entry) return this.oauthError(400, "invalid_grant", "Unknown code");
      this.codes.delete(form.get("code") ?? "");
      if (entry.redirectUri && entry.redirectUri !== form.get("redirect_uri")) {
        return this.oauthError(400, "invalid_grant", "redirect_uri mismatch");
      }
      if (entry.challenge) {
        const verifier = form.get("code_verifier") ?? "";
        const digest = new Uint8Array(
          await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)),
        );
        const computed = btoa(String.fromCharCode(...digest))
          .replace(/\+/g, "-")
          .replace(/\//g, "_")
          .replace(/=+$/, "");
        if (computed !== entry.challenge) return this.oauthError(400, "invalid_grant", "PKCE mismatch");
      }
      return this.tokenResponse(entry.grant);
    }
    if (grantType === "refresh_token") {
      this.refreshRequests += 1;
      const presented = form.get("refresh_token");
      const grant = this.grants.find((g) => g.refreshToken === presented);
      const reused = this.rotating && !grant && this.spent.has(presented ?? "");
      if (reused) {
        // Replaying a spent rotating refresh token revokes the whole grant, as X and TikTok do.
        const family = this.spent.get(presented ?? "");
        if (family) family.revoked = true;
        return this.oauthError(400, "invalid_grant", "Refresh token reused");
      }
      if (!grant || grant.revoked) return this.oauthError(400, "invalid_grant", "Invalid refresh token");
      grant.accessToken = this.token("at");
      grant.accessExpiresAt =
        this.accessTtlSeconds === null ? null : Date.now() + this.accessTtlSeconds * 1000;
      if (this.rotating) {
        this.spent.set(grant.refreshToken ?? "", grant);
        grant.refreshToken = this.token("rt");
      }
      return this.tokenResponse(grant);
    }
    return this.oauthError(400, "unsupported_grant_type");
  }

  /** Spent rotating refresh tokens, to detect replay. */
  readonly spent = new Map<string, FakeGrant>();

  private tokenResponse(grant: FakeGrant): Response {
    const body: Record<string, unknown> = {
      access_token: grant.accessToken,
      token_type: "bearer",
      scope: grant.scopes.join(" "),
    };
    if (this.accessTtlSeconds !== null) body.expires_in = this.accessTtlSeconds;
    if (grant.refreshToken) body.refresh_token = grant.refreshToken;
    if (this.refreshTtlSeconds !== null) body.refresh_token_expires_in = this.refreshTtlSeconds;
    return Response.json(this.shapeToken(body), { headers: { "cache-control": "no-store" } });
  }

  private revokeEndpoint(body: string): Response {
    this.revocations += 1;
    const token = new URLSearchParams(body).get("token");
    for (const grant of this.grants) {
      if (grant.accessToken === token || grant.refreshToken === token) grant.revoked = true;
    }
    return new Response(null, { status: 200 });
  }

  get liveGrants() {
    return this.grants.filter((g) => !g.revoked);
  }
}

const platforms = new Map<string, FakePlatform>();

/** Forgets every fake, so a file never talks to another file's (pool workers are reused). */
export function forgetFakePlatforms(): void {
  platforms.clear();
}

/** A fresh fake for `platform`, replacing any earlier one in this test file. */
export function fakePlatform(platform: Platform, segment: string = platform): FakePlatform {
  const fake = new FakePlatform(platform, segment);
  platforms.set(segment, fake);
  return fake;
}

export const fakeServer = setupServer(
  http.all(`${FAKE_ORIGIN}/*`, async ({ request }) => {
    const platform = new URL(request.url).pathname.split("/")[1] ?? "";
    const fake = platforms.get(platform);
    if (!fake) return Response.json({ error: `no fake for ${platform}` }, { status: 502 });
    return fake.handle(request as unknown as Request);
  }),
);

export const unauthorized = () =>
  Response.json({ error: { message: "Invalid or revoked token" } }, { status: 401 });
