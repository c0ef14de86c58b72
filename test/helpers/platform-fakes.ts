import { env } from "cloudflare:workers";
import { http } from "msw";
import type { Platform } from "../../src/lib/domain";
import { atprotoClient } from "../../src/platforms/atproto/client";
import { clientKeys, type KeySource } from "../../src/platforms/atproto/keys";
import { DOH_URL, PLC_URL } from "../../src/platforms/atproto/resolve";
import { verifyClientAssertion, verifyDpopProof } from "../../src/platforms/atproto/verify";
import { GRAPH_VERSION } from "../../src/platforms/meta";
import * as bluesky from "../../src/platforms/wire/bluesky";
import * as google from "../../src/platforms/wire/google";
import * as linkedin from "../../src/platforms/wire/linkedin";
import * as mastodon from "../../src/platforms/wire/mastodon";
import * as meta from "../../src/platforms/wire/meta";
import * as pinterest from "../../src/platforms/wire/pinterest";
import * as reddit from "../../src/platforms/wire/reddit";
import * as snapchat from "../../src/platforms/wire/snapchat";
import * as telegram from "../../src/platforms/wire/telegram";
import * as tiktok from "../../src/platforms/wire/tiktok";
import { instagramShortLivedToken, tokenAnswer, type WireTokens } from "../../src/platforms/wire/tokens";
import * as twitter from "../../src/platforms/wire/twitter";
import { listParam, type WireError } from "../../src/platforms/wire/wire";
import {
  type FakeGrant,
  type FakePlatform,
  type FakeRequest,
  fakePlatform,
  fakeServer,
} from "./fake-provider";

/**
 * Per platform, a FakePlatform that behaves like the real one, shared by the platform unit tests and
 * the feature tests: API routes answering the real response shapes, token-response quirks, client
 * auth, refresh-token rotation and lifetimes. `fakeFor(platform)` builds one and records every token
 * it issues in `issuedSecrets`, so a test can prove none of them ever reaches a response.
 */

/** Every access token, refresh token and other secret a fake built here has issued (codes excluded). */
export const issuedSecrets = new Set<string>();

/** Records the tokens the fake mints (access, refresh, long-lived…) but not authorization codes. */
function track(fake: FakePlatform): FakePlatform {
  const mint = fake.token.bind(fake);
  fake.token = (kind: string) => {
    const token = mint(kind);
    if (kind !== "code") issuedSecrets.add(token);
    return token;
  };
  return fake;
}

/** The grant_type of the token request being answered (the fake records each call before answering it). */
function grantTypeOf(fake: FakePlatform): string | null {
  return new URLSearchParams(fake.calls.at(-1)?.body ?? "").get("grant_type");
}

/** The tokens behind the fake's generic token body, as the shared wire code takes them. */
function tokensOf(fake: FakePlatform, body: Record<string, unknown>, resendRefresh: boolean): WireTokens {
  const grantType = grantTypeOf(fake) === "refresh_token" ? "refresh_token" : "authorization_code";
  const num = (value: unknown) => (typeof value === "number" ? value : undefined);
  return {
    grantType,
    accessToken: String(body.access_token),
    accessTtl: num(body.expires_in) ?? null,
    refreshToken:
      resendRefresh || grantType !== "refresh_token" ? (body.refresh_token as string | undefined) : undefined,
    refreshTtl: num(body.refresh_token_expires_in),
    scopes: String(body.scope ?? "")
      .split(" ")
      .filter(Boolean),
    userId: fake.grantByAccess(String(body.access_token))?.profile.id ?? "",
    now: Date.now(),
  };
}

/**
 * The fake's token answers in the platform's own shape, from the shared wire code; with
 * `resendRefresh: false` (Google, Reddit) a refresh answers no new refresh token: the old one stays valid.
 */
function wireTokenShape(
  fake: FakePlatform,
  { resendRefresh = true }: { resendRefresh?: boolean } = {},
): (body: Record<string, unknown>) => Record<string, unknown> {
  return (body) => tokenAnswer(fake.platform, tokensOf(fake, body, resendRefresh));
}

/** A platform's error answer, from the shared wire code. */
export const sendError = (e: WireError) => Response.json(e.body, { status: e.status, headers: e.headers });

const TRACE_ID = "AbCdEfGhIjK";

/** Meta's Graph error envelope (190: invalid token; 4/17/32/613: rate limits). */
export function graphError(
  code: number,
  status = 400,
  message = "Error validating access token",
  subcode?: number,
) {
  return sendError(meta.graphError({ status, code, message, subcode, traceId: TRACE_ID }));
}

/** The scopes a call is checked against, as the sandbox checks them; a grant made without any (a test's shorthand) holds `all`. */
const scopesOf = (grant: FakeGrant, all: string[]) => (grant.scopes.length ? grant.scopes : all);

type ApiHandler = (req: FakeRequest) => Response | Promise<Response>;

/** The handler the fake has registered for `route`, e.g. to wrap or fall back to it. */
export function handlerOf(fake: FakePlatform, route: string): ApiHandler {
  const handler = fake.apis.get(route);
  if (!handler) throw new Error(`The ${fake.platform} fake has no route ${route}`);
  return handler;
}

/** Every request the fake's `route` answers from now on, in order, with its query string. */
export function recordRoute(fake: FakePlatform, route: string): FakeRequest[] {
  const handler = handlerOf(fake, route);
  const seen: FakeRequest[] = [];
  fake.api(route, (req) => {
    seen.push(req);
    return handler(req);
  });
  return seen;
}

/** X API v2: OAuth 2.0 with PKCE, HTTP Basic on the token endpoint, 2-hour tokens, rotating refresh tokens. */
export function twitterFake(fake: FakePlatform) {
  fake.clientAuth = "basic";
  fake.rotating = true;
  fake.accessTtlSeconds = 7200;
  twitterMeRoute(fake);
}

/** X's GET /2/users/me, answering the user.fields asked for. */
export function twitterMeRoute(fake: FakePlatform) {
  fake.api("GET /2/users/me", ({ grant, url }) => {
    if (!grant) return sendError(twitter.twitterUnauthorized());
    const me = { ...grant.profile, verifiedType: "none", createdAt: "2013-12-14T04:35:55.000Z" };
    return Response.json(twitter.twitterMe(me, listParam(url.searchParams.get("user.fields"))));
  });
}

export const LINKEDIN_PICTURE =
  "https://media.licdn.com/dms/image/v2/D4E03AQ/profile-displayphoto-shrink_100_100/0/1?e=1&v=beta&t=x";

/**
 * LinkedIn: client_secret_post, 60-day access tokens, comma-separated scope, an ID token with openid
 * and no token_type. A partner app gets refresh tokens, not rotated and lasting 365 days; others get none.
 */
export function linkedinFake(fake: FakePlatform, { partner = true }: { partner?: boolean } = {}) {
  fake.clientAuth = "post";
  fake.rotating = false;
  fake.accessTtlSeconds = 5_183_999;
  fake.refreshTtlSeconds = partner ? 31_535_999 : null;
  const shape = wireTokenShape(fake);
  fake.shapeToken = ({ refresh_token, ...body }) => ({
    ...shape(partner ? { ...body, refresh_token } : body),
    id_token: "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln",
  });
  // GET /v2/userinfo (OpenID Connect).
  fake.api("GET /v2/userinfo", ({ grant }) => {
    if (!grant) return sendError(linkedin.linkedinUnauthorized());
    const me = {
      ...grant.profile,
      email: `${grant.profile.username}@example.com`,
      picture: grant.profile.avatarUrl ?? LINKEDIN_PICTURE,
    };
    const answer = linkedin.linkedinUserinfo(me, scopesOf(grant, ["openid", "profile", "email"]));
    return "refused" in answer ? sendError(answer.refused) : Response.json(answer.body);
  });
}

/** Whether a Meta grant's token is short-lived (answered for a code) or long-lived (exchanged); unset: either. */
const lifetimes = new WeakMap<FakeGrant, "short" | "long">();

/** The token endpoint's answer for a code is a short-lived token, which only the exchange takes. */
function issuedShortLived(fake: FakePlatform, body: Record<string, unknown>) {
  const grant = fake.grantByAccess(String(body.access_token));
  if (grant) lifetimes.set(grant, "short");
}

/**
 * ig_exchange_token / ig_refresh_token and th_exchange_token / th_refresh_token: the grant's token
 * swapped in place; as in the sandbox, only a short-lived token is exchanged and only a long-lived one extended.
 */
function longLived(
  fake: FakePlatform,
  grantType: string,
  options: { exchange: boolean; expiresIn: number; permissions?: boolean },
) {
  return ({ url, grant }: FakeRequest): Response => {
    if (url.searchParams.get("grant_type") !== grantType)
      return sendError(meta.graphWrongGrantType(grantType, TRACE_ID));
    if (options.exchange && url.searchParams.get("client_secret") !== `${fake.platform}-client-secret`)
      return sendError(meta.graphBadClient(TRACE_ID));
    if (!grant) return graphError(190, 400, "Error validating access token: Session has expired");
    const lifetime = lifetimes.get(grant);
    if (options.exchange && lifetime === "long") return sendError(meta.graphAlreadyLongLived(TRACE_ID));
    if (!options.exchange && lifetime === "short") return sendError(meta.graphNotLongLived(TRACE_ID));
    grant.accessToken = fake.token(options.exchange ? "long" : "refreshed");
    lifetimes.set(grant, "long");
    return Response.json(
      meta.longLivedToken({
        accessToken: grant.accessToken,
        expiresIn: options.expiresIn,
        ...(options.permissions ? { permissions: grant.scopes } : {}),
      }),
    );
  };
}

/**
 * Instagram API with Instagram Login: the code answers a bare 1-hour token with `user_id` and
 * `permissions`, exchanged at once (ig_exchange_token) for a 60-day one, extended in place.
 */
export function instagramFake(fake: FakePlatform, accountType = "Business") {
  fake.clientAuth = "post";
  fake.rotating = false;
  fake.accessTtlSeconds = 3600;
  // The flat answer; the sandbox sends the documented {data: [...]} one, which the instagram test covers too.
  fake.shapeToken = (body) => {
    issuedShortLived(fake, body);
    return instagramShortLivedToken(tokensOf(fake, body, true));
  };
  fake.api(
    "GET /access_token",
    longLived(fake, "ig_exchange_token", { exchange: true, expiresIn: 5_184_000 }),
  );
  fake.api(
    "GET /refresh_access_token",
    longLived(fake, "ig_refresh_token", { exchange: false, expiresIn: 5_184_000, permissions: true }),
  );
  fake.api(`GET /${GRAPH_VERSION}/me`, ({ grant, url }) => {
    if (!grant) return sendError(meta.graphInvalidToken(TRACE_ID, 400));
    const user = { ...grant.profile, appScopedId: "9130000000000001", accountType };
    return Response.json(meta.instagramMe(user, url.searchParams.get("fields")));
  });
}

/**
 * Facebook Login for Pages: PKCE, a short-lived user token (no scope, no refresh token) swapped with
 * fb_exchange_token for a ~60-day one; granted permissions from /me/permissions; revoke by DELETE.
 */
export function facebookFake(fake: FakePlatform, options: { declined?: string[] } = {}) {
  const declined = options.declined ?? [];
  fake.clientAuth = "post";
  fake.rotating = false;
  fake.accessTtlSeconds = 5183;
  const shape = wireTokenShape(fake);
  fake.shapeToken = (body) => {
    issuedShortLived(fake, body);
    return shape(body);
  };
  const authed = (handler: (req: FakeRequest & { grant: NonNullable<FakeRequest["grant"]> }) => Response) => {
    return (req: FakeRequest) =>
      req.grant
        ? handler({ ...req, grant: req.grant })
        : graphError(190, 400, "Invalid OAuth access token data.");
  };
  fake.api("GET /oauth/access_token", ({ url }) => {
    const grant = fake.grantByAccess(url.searchParams.get("fb_exchange_token"));
    if (url.searchParams.get("grant_type") !== "fb_exchange_token")
      return sendError(meta.graphWrongGrantType("fb_exchange_token", TRACE_ID));
    if (
      url.searchParams.get("client_id") !== "facebook-client-id" ||
      url.searchParams.get("client_secret") !== "facebook-client-secret"
    )
      return sendError(meta.graphBadClient(TRACE_ID));
    if (!grant || grant.revoked) return graphError(190, 400, "Error validating access token", 463);
    if (lifetimes.get(grant) === "long") return sendError(meta.graphAlreadyLongLived(TRACE_ID));
    grant.accessToken = fake.token("long");
    lifetimes.set(grant, "long");
    return Response.json(meta.longLivedToken({ accessToken: grant.accessToken, expiresIn: 5183944 }));
  });
  fake.api(
    "GET /me/permissions",
    authed(({ grant }) =>
      Response.json(meta.facebookPermissions([...grant.scopes, "public_profile"], declined)),
    ),
  );
  fake.api(
    "GET /me",
    authed(({ grant, url }) => Response.json(meta.facebookMe(grant.profile, url.searchParams.get("fields")))),
  );
  fake.api(
    "DELETE /me/permissions",
    authed(({ grant }) => {
      grant.revoked = true;
      return Response.json({ success: true });
    }),
  );
}

/**
 * Threads: the code answers only the token and a numeric user id; th_exchange_token gives a ~60-day
 * token, th_refresh_token extends it in place. No scope is reported anywhere.
 */
export function threadsFake(fake: FakePlatform) {
  fake.clientAuth = "post";
  fake.rotating = false;
  fake.accessTtlSeconds = 3600;
  const shape = wireTokenShape(fake);
  // Threads sends the user id as a number.
  fake.shapeToken = (body) => {
    issuedShortLived(fake, body);
    const answer = shape(body);
    return { ...answer, user_id: Number(answer.user_id) };
  };
  fake.api(
    "GET /access_token",
    longLived(fake, "th_exchange_token", { exchange: true, expiresIn: 5_183_944 }),
  );
  fake.api(
    "GET /refresh_access_token",
    longLived(fake, "th_refresh_token", { exchange: false, expiresIn: 5_183_944 }),
  );
  fake.api("GET /v1.0/me", ({ grant, url }) => {
    if (!grant) return sendError(meta.graphInvalidToken(TRACE_ID, 400));
    const user = { ...grant.profile, biography: "Posting things." };
    return Response.json(meta.threadsMe(user, url.searchParams.get("fields")));
  });
}

/** Google's error envelope, as its APIs send it. */
export function googleError(code: number, status: string, reason: string, message: string): Response {
  return sendError(
    google.googleError({ code, status, message, errors: [{ message, domain: "global", reason }] }),
  );
}

/** Google's short answer to an invalid token (no `errors` list), as some of its APIs send it. */
export const googleUnauthenticated = () =>
  sendError(
    google.googleError({
      code: 401,
      status: "UNAUTHENTICATED",
      message: "Request had invalid authentication credentials.",
    }),
  );

/** Google OAuth: client_secret_post, PKCE, ~1-hour tokens, a refresh token that is never rotated nor re-sent. */
function googleOAuthFake(fake: FakePlatform) {
  fake.clientAuth = "post";
  fake.rotating = false;
  fake.accessTtlSeconds = 3599;
  fake.shapeToken = wireTokenShape(fake, { resendRefresh: false });
}

/** A brand account's channel the fake's Google user also owns. */
export interface YouTubeBrandChannel {
  id: string;
  title: string;
  customUrl: string;
}

/**
 * YouTube Data API: GET /youtube/v3/channels?part=snippet&mine=true (a youtube#channelListResponse,
 * paged by maxResults and pageToken): the grant's own channel first, then `brands`.
 */
export function youtubeFake(fake: FakePlatform, { brands = [] }: { brands?: YouTubeBrandChannel[] } = {}) {
  googleOAuthFake(fake);
  fake.api("GET /youtube/v3/channels", ({ grant, url }) => {
    if (!grant)
      return googleError(
        401,
        "UNAUTHENTICATED",
        "authError",
        "Request had invalid authentication credentials.",
      );
    if (url.searchParams.get("part") !== "snippet" || url.searchParams.get("mine") !== "true")
      return googleError(400, "INVALID_ARGUMENT", "missingRequiredParameter", "No filter selected.");
    const channel = (c: YouTubeBrandChannel) => ({
      ...c,
      etag: `etag-${c.id}`,
      description: "Videos about switching boards",
      publishedAt: "2015-03-01T10:00:00Z",
      thumbnail: (px: number) => `https://yt3.ggpht.com/${c.id}=s${px}-c-k-c0x00ffffff-no-rj`,
      country: "FR",
    });
    const own = { id: grant.profile.id, title: grant.profile.name, customUrl: grant.profile.username };
    const paging = {
      maxResults: url.searchParams.get("maxResults"),
      pageToken: url.searchParams.get("pageToken"),
    };
    return Response.json(google.youtubeChannelList([own, ...brands].map(channel), "etag-1", paging));
  });
}

/** The location group every Business Profile fake grant manages, beside the user's personal account. */
export const BUSINESS_GROUP = { id: "987654321", name: "Bakery group" };

/** The group's locations: the first two have a storefront, the third serves an area. */
export const BUSINESS_LOCATIONS: google.BusinessLocation[] = [
  {
    id: "1111111111111111111",
    title: "Vox Bakery Downtown",
    address: { lines: ["1 Main St"], locality: "Springfield", postalCode: "62701", regionCode: "US" },
  },
  {
    id: "2222222222222222222",
    title: "Vox Bakery Riverside",
    address: {
      lines: ["20 River Rd", "Unit 3"],
      locality: "Springfield",
      postalCode: "62702",
      regionCode: "US",
    },
  },
  { id: "3333333333333333333", title: "Vox Catering" },
];

/**
 * Google Business Profile: accounts.list (the personal account first, then the location group),
 * locations.list per account on the Business Information API (paged by pageSize and pageToken,
 * readMask required; the personal account owns none) and locations.get. Both APIs are served
 * under the one apiBaseUrl the tests override, as in the sandbox.
 */
export function googlebusinessFake(
  fake: FakePlatform,
  { locations = BUSINESS_LOCATIONS }: { locations?: google.BusinessLocation[] } = {},
) {
  googleOAuthFake(fake);
  const readMaskOf = (url: URL) => listParam(url.searchParams.get("readMask"));
  const pageOf = (url: URL, all: google.BusinessLocation[]) => {
    const size = Math.min(Number(url.searchParams.get("pageSize") || 10), 100);
    const start = Number(url.searchParams.get("pageToken")?.replace("page-", "") || 0);
    const next = start + size < all.length ? `page-${start + size}` : undefined;
    return google.businessLocationPage(all.slice(start, start + size), readMaskOf(url), next);
  };
  const locationsRoute =
    (all: () => google.BusinessLocation[]) =>
    ({ grant, url }: FakeRequest) => {
      if (!grant) return googleUnauthenticated();
      if (!readMaskOf(url).length) return sendError(google.googleMissingReadMask());
      return Response.json(pageOf(url, all()));
    };
  fake.api(
    `GET /v1/accounts/${BUSINESS_GROUP.id}/locations`,
    locationsRoute(() => locations),
  );
  for (const location of locations) {
    fake.api(`GET /v1/locations/${location.id}`, ({ grant, url }) => {
      if (!grant) return googleUnauthenticated();
      if (!readMaskOf(url).length) return sendError(google.googleMissingReadMask());
      return Response.json(google.businessLocation(location, readMaskOf(url)));
    });
  }
  fake.api("GET /v1/accounts", ({ grant }) => {
    if (!grant) return googleUnauthenticated();
    // The personal account's id is the user's, known only now: its (empty) listing is added here.
    const personal = `GET /v1/accounts/${grant.profile.id}/locations`;
    if (!fake.apis.has(personal))
      fake.api(
        personal,
        locationsRoute(() => []),
      );
    return Response.json(
      google.businessAccounts([
        {
          id: grant.profile.id,
          name: grant.profile.name,
          type: "PERSONAL",
          verificationState: "UNVERIFIED",
          vettedState: "NOT_VETTED",
        },
        {
          id: BUSINESS_GROUP.id,
          name: BUSINESS_GROUP.name,
          type: "LOCATION_GROUP",
          role: "OWNER",
          verificationState: "VERIFIED",
          vettedState: "NOT_VETTED",
          accountNumber: "1234-5678-9012",
          permissionLevel: "OWNER_LEVEL",
        },
      ]),
    );
  });
}

/** TikTok's answer to a missing, revoked or unknown access token. */
export const tiktokInvalidToken = (logId: string) => sendError(tiktok.tiktokInvalidToken(logId));

/**
 * TikTok Login Kit v2: client_key and client_secret in the form, comma-separated scope, open_id,
 * refresh_expires_in, 2-hour tokens and rotating 180-day refresh tokens; GET /v2/user/info/.
 */
export function tiktokFake(fake: FakePlatform) {
  fake.clientAuth = "post";
  fake.rotating = true;
  fake.accessTtlSeconds = 7200;
  fake.refreshTtlSeconds = 180 * 86400;
  fake.shapeToken = wireTokenShape(fake);
  fake.api("GET /v2/user/info/", ({ grant, url }) => {
    if (!grant) return tiktokInvalidToken("202611201200000000000000000000");
    const user = {
      ...grant.profile,
      unionId: `union-${grant.profile.id}`,
      bio: "",
      deepLink: `https://www.tiktok.com/@${grant.profile.username}`,
      verified: false,
    };
    const answer = tiktok.tiktokUserInfo(
      user,
      url.searchParams.get("fields"),
      scopesOf(grant, ["user.info.basic", "user.info.profile"]),
      "202611201200000000000000000001",
    );
    return "refused" in answer ? sendError(answer.refused) : Response.json(answer.body);
  });
}

/**
 * TikTok API for Business (Accounts API), served under tiktok_business: JSON token, refresh and revoke
 * bodies checked for the business app, the {code, message, request_id, data} envelope with errors as
 * HTTP 200 and a non-zero code, 24 h access tokens, rotating single-use refresh tokens (a reused one
 * kills the grant), business/get and business/video/list (serving `videos`, newest first) with the
 * token in Access-Token.
 */
export function tiktokBusinessFake(): FakePlatform & { videos: tiktok.WireBusinessVideo[] } {
  const fake = Object.assign(track(fakePlatform("tiktok", "tiktok_business")), {
    videos: [] as tiktok.WireBusinessVideo[],
  });
  fake.rotating = true;
  fake.accessTtlSeconds = 86400;
  fake.refreshTtlSeconds = 31_536_000;
  const { TIKTOK_BUSINESS_CODES: CODES } = tiktok;
  const requestId = () => fake.token("req");
  const refuse = (code: number, message: string) =>
    sendError(tiktok.tiktokBusinessError(code, message, requestId()));
  const tokens = (grant: FakeGrant) =>
    Response.json(
      tiktok.tiktokBusinessOk(
        tiktok.tiktokBusinessTokenData({
          accessToken: grant.accessToken,
          accessTtl: fake.accessTtlSeconds ?? 86400,
          refreshToken: grant.refreshToken ?? "",
          refreshTtl: fake.refreshTtlSeconds ?? 31_536_000,
          openId: grant.profile.id,
          scopes: grant.scopes,
        }),
        requestId(),
      ),
    );
  const body = async (req: FakeRequest) => {
    if (!req.request.headers.get("content-type")?.includes("application/json")) return undefined;
    try {
      return (await req.request.clone().json()) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  };
  const client = (json: Record<string, unknown>) =>
    json.client_id === "tiktok_business-client-id" && json.client_secret === "tiktok_business-client-secret";
  const paths = "/open_api/v1.3/tt_user/oauth2";
  fake.api(`POST ${paths}/token/`, async (req) => {
    fake.tokenRequests += 1;
    const json = await body(req);
    if (!json) return refuse(CODES.invalidParams, "The body must be JSON");
    if (!client(json)) return refuse(CODES.invalidParams, "client_id or client_secret is invalid");
    if (json.grant_type !== "authorization_code") return refuse(CODES.invalidParams, "grant_type is invalid");
    const entry = fake.codes.get(String(json.auth_code));
    if (!entry) return refuse(CODES.authCodeInvalid, "Authorization code is expired.");
    fake.codes.delete(String(json.auth_code));
    if (entry.redirectUri && entry.redirectUri !== json.redirect_uri)
      return refuse(CODES.authCodeInvalid, "redirect_uri does not match");
    return tokens(entry.grant);
  });
  fake.api(`POST ${paths}/refresh_token/`, async (req) => {
    fake.tokenRequests += 1;
    fake.refreshRequests += 1;
    const json = await body(req);
    if (!json) return refuse(CODES.invalidParams, "The body must be JSON");
    if (!client(json)) return refuse(CODES.invalidParams, "client_id or client_secret is invalid");
    if (json.grant_type !== "refresh_token") return refuse(CODES.invalidParams, "grant_type is invalid");
    const presented = String(json.refresh_token ?? "");
    const grant = fake.grants.find((g) => g.refreshToken === presented);
    const family = fake.spent.get(presented);
    if (!grant && family) {
      // A spent refresh token presented again revokes the whole grant.
      family.revoked = true;
      return refuse(CODES.refreshTokenInvalid, "Refresh token is invalid or has been used.");
    }
    if (!grant || grant.revoked) return refuse(CODES.refreshTokenInvalid, "Refresh token is invalid.");
    fake.spent.set(presented, grant);
    grant.accessToken = fake.token("at");
    grant.refreshToken = fake.token("rt");
    return tokens(grant);
  });
  fake.api(`POST ${paths}/revoke/`, async (req) => {
    fake.revocations += 1;
    const json = await body(req);
    if (!json || !client(json)) return refuse(CODES.invalidParams, "client_id or client_secret is invalid");
    const grant = fake.grantByAccess(String(json.access_token ?? ""));
    if (grant) grant.revoked = true;
    return Response.json(tiktok.tiktokBusinessOk({}, requestId()));
  });
  fake.api("GET /open_api/v1.3/business/get/", (req) => {
    const token = req.request.headers.get("access-token");
    if (!token) return refuse(CODES.accessTokenMissing, "Access-Token is missing.");
    const grant = fake.grantByAccess(token);
    if (!grant || grant.revoked)
      return refuse(CODES.accessTokenInvalid, "Access token is incorrect or has been revoked.");
    const answer = tiktok.tiktokBusinessProfile(
      grant.profile,
      req.url.searchParams.get("business_id"),
      req.url.searchParams.get("fields"),
      requestId(),
    );
    return "refused" in answer ? sendError(answer.refused) : Response.json(answer.body);
  });
  fake.api("GET /open_api/v1.3/business/video/list/", (req) => {
    const token = req.request.headers.get("access-token");
    if (!token) return refuse(CODES.accessTokenMissing, "Access-Token is missing.");
    const grant = fake.grantByAccess(token);
    if (!grant || grant.revoked)
      return refuse(CODES.accessTokenInvalid, "Access token is incorrect or has been revoked.");
    const answer = tiktok.tiktokBusinessVideoList(
      grant.profile,
      fake.videos,
      req.url.searchParams,
      requestId(),
    );
    return "refused" in answer ? sendError(answer.refused) : Response.json(answer.body);
  });
  return fake;
}

/** Pinterest v5: HTTP Basic, comma-separated scope, 30-day tokens, continuous (rotating) 60-day refresh tokens. */
export function pinterestFake(fake: FakePlatform) {
  fake.clientAuth = "basic";
  fake.rotating = true;
  fake.accessTtlSeconds = 2_592_000;
  fake.refreshTtlSeconds = 5_184_000;
  const shape = wireTokenShape(fake);
  fake.shapeToken = (body) => ({
    ...shape(body),
    refresh_token_expires_at: Math.floor(Date.now() / 1000) + 5_184_000,
  });
  fake.api("GET /v5/user_account", ({ grant }) => {
    if (!grant) return sendError(pinterest.pinterestUnauthorized());
    const counts = { boards: 14, pins: 339, followers: 10, following: 347, monthlyViews: 163 };
    const account = { ...grant.profile, websiteUrl: "https://bakery.example", about: "Bread, daily", counts };
    return Response.json(pinterest.pinterestUserAccount(account));
  });
}

export const REDDIT_ICON =
  "https://styles.redditmedia.com/t5_abc/styles/profileIcon_xyz.png?width=256&amp;height=256&amp;crop=256:256,smart&amp;s=0123abcd";

/** Reddit: HTTP Basic, hour-long tokens, a permanent refresh token not re-sent on refresh; GET /api/v1/me. */
export function redditFake(fake: FakePlatform) {
  fake.clientAuth = "basic";
  fake.rotating = false;
  fake.accessTtlSeconds = 3600;
  fake.shapeToken = wireTokenShape(fake, { resendRefresh: false });
  fake.api("GET /api/v1/me", ({ grant }) => {
    if (!grant) return sendError(reddit.redditUnauthorized());
    const me = { ...grant.profile, icon: REDDIT_ICON, createdUtc: 1_500_000_000.0, karma: 617 };
    const answer = reddit.redditMe(me, scopesOf(grant, ["identity"]));
    return "refused" in answer ? sendError(answer.refused) : Response.json(answer.body);
  });
}

/** Snapchat Marketing API: client_secret_post, hour-long tokens, token_type "Bearer"; GET /v1/me. */
export function snapchatFake(fake: FakePlatform) {
  fake.clientAuth = "post";
  fake.rotating = false;
  fake.accessTtlSeconds = 3600;
  fake.refreshTtlSeconds = null;
  fake.shapeToken = (body) => ({ ...body, token_type: "Bearer" });
  fake.api("GET /v1/me", ({ grant }) =>
    grant
      ? Response.json(
          snapchat.snapchatMe({
            ...grant.profile,
            requestId:
              "57affee300ff0d91229fabb9710001737e616473617069736300016275696c642d35396264653638322d312d31312d3700010110",
            updatedAt: "2026-09-28T23:33:01.706Z",
            createdAt: "2026-09-28T23:30:27.009Z",
            email: "honey.badger@hooli.com",
            organizationId: "40d6719b-da09-410b-9185-0cc9c0dfed1d",
          }),
        )
      : sendError(snapchat.snapchatUnauthorized("5f0e")),
  );
}

/** The app an instance answers to POST /api/v1/apps. */
export const MASTODON_APP = {
  clientId: "TWhM-tNSuncnqN7DBJmoyeLnk6K3iJJ71KKXxgL1hPM",
  clientSecret: "ZEaFUFmF0umgBX1qKJDjaU99Q31lDkOU8NutzTOoliw",
};

/**
 * A Mastodon instance: app registration (POST /api/v1/apps), client_secret_post with the app's
 * credentials, PKCE, tokens that never expire and no refresh token; verify_credentials; /oauth/revoke.
 */
export function mastodonFake(
  fake: FakePlatform,
  options: { bot?: boolean; app?: () => { clientId: string; clientSecret: string } } = {},
) {
  issuedSecrets.add(MASTODON_APP.clientSecret);
  fake.clientAuth = "post";
  fake.rotating = false;
  fake.accessTtlSeconds = null;
  fake.shapeToken = wireTokenShape(fake);
  fake.api("POST /api/v1/apps", async ({ request }) =>
    mastodonAppAnswer(request, options.app?.() ?? MASTODON_APP),
  );
  fake.api("GET /api/v1/accounts/verify_credentials", ({ grant }) =>
    grant
      ? Response.json(
          mastodon.mastodonAccount({
            ...grant.profile,
            url: `https://mastodon.social/@${grant.profile.username}`,
            createdAt: "2016-03-16T00:00:00.000Z",
            bot: options.bot ?? false,
            note: "",
            language: "",
          }),
        )
      : sendError(mastodon.mastodonUnauthorized()),
  );
}

/** An instance's answer to POST /api/v1/apps (a form), registering the app with these credentials. */
async function mastodonAppAnswer(
  request: Request,
  app: { clientId: string; clientSecret: string; id?: string },
): Promise<Response> {
  const form = new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer()));
  const answer = mastodon.mastodonApp(Object.fromEntries(form), {
    id: app.id ?? "563419",
    clientId: app.clientId,
    clientSecret: app.clientSecret,
    vapidKey: "BCk-QqERU0q-CfYZjcuB6lnyyOYfJ2AifKqfeGIm7Z-HiTU5T9eTG5GxVA0_OH5mMlI4UkkDTpaZwozy0TzdZ2M=",
  });
  return "refused" in answer ? sendError(answer.refused) : Response.json(answer.body);
}

const b64url = (value: unknown) =>
  btoa(JSON.stringify(value)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
/** An unsigned JWT shaped like a PDS's session tokens. */
export const unsignedJwt = (typ: string, claims: Record<string, unknown>) =>
  `${b64url({ typ, alg: "HS256" })}.${b64url(claims)}.fake-signature`;

export interface BlueskyAccount {
  did: string;
  handle: string;
  appPassword: string;
  displayName: string;
}

const SESSION_EMAIL = { email: "team@switchboard.test", emailConfirmed: true, emailAuthFactor: false };

/** The account's own PDS, as its DID document names it; its requests are answered by the bluesky fake. */
export const BLUESKY_PDS = "https://porcini.us-east.host.bsky.network";
/** The header the PDS forwarding keeps the origin the client called in (DPoP proofs name it). */
const CALLED_ORIGIN = "x-fake-called-origin";

/** A DID document naming the PDS and claiming the handle. */
export const didDocument = (account: Pick<BlueskyAccount, "did" | "handle">, pds = BLUESKY_PDS) =>
  bluesky.blueskyDidDocument({ did: account.did, handle: account.handle, pds });

/** What the fake network resolves: handles to DIDs (DNS TXT, or HTTPS), DIDs to documents. */
export const blueskyNetwork = {
  txt: new Map<string, string[]>(),
  wellKnown: new Map<string, string>(),
  docs: new Map<string, unknown>(),
  /** Requests the resolution endpoints answered, by kind, in order. */
  lookups: [] as string[],
};

/** Puts an account on the fake network: its handle's DNS record and its DID document. */
export function publishAccount(account: Pick<BlueskyAccount, "did" | "handle">, pds = BLUESKY_PDS) {
  blueskyNetwork.txt.set(account.handle, [`did=${account.did}`]);
  blueskyNetwork.docs.set(account.did, didDocument(account, pds));
}

let pdsTarget: FakePlatform | undefined;

/** DNS-over-HTTPS, handle well-knowns, the PLC directory and the account's PDS, on the fake network. */
function installNetwork(fake: FakePlatform) {
  pdsTarget = fake;
  fakeServer.use(
    http.get(DOH_URL, ({ request }) => {
      const url = new URL(request.url);
      const name = (url.searchParams.get("name") ?? "").replace(/^_atproto\./, "");
      blueskyNetwork.lookups.push(`dns:${name}`);
      const records = blueskyNetwork.txt.get(name);
      if (!records) return Response.json({ Status: 3, Answer: [] });
      return Response.json({
        Status: 0,
        Answer: records.map((data) => ({ name: `_atproto.${name}`, type: 16, TTL: 300, data: `"${data}"` })),
      });
    }),
    http.get("https://:host/.well-known/atproto-did", ({ request }) => {
      const host = new URL(request.url).hostname;
      blueskyNetwork.lookups.push(`https:${host}`);
      const did = blueskyNetwork.wellKnown.get(host);
      return did ? new Response(did) : new Response("not found", { status: 404 });
    }),
    http.get(`${PLC_URL}/:did`, ({ params }) => {
      const did = decodeURIComponent(String(params.did));
      blueskyNetwork.lookups.push(`plc:${did}`);
      const doc = blueskyNetwork.docs.get(did);
      return doc
        ? Response.json(doc)
        : Response.json({ message: `DID not registered: ${did}` }, { status: 404 });
    }),
    http.all(`${BLUESKY_PDS}/*`, async ({ request }) => {
      const target = pdsTarget;
      if (!target) return Response.json({ error: "no bluesky fake" }, { status: 502 });
      const url = new URL(request.url);
      const headers = new Headers(request.headers);
      headers.set(CALLED_ORIGIN, url.origin);
      const body = ["GET", "HEAD"].includes(request.method) ? undefined : await request.arrayBuffer();
      return target.handle(
        new Request(`${target.base}/api${url.pathname}${url.search}`, {
          method: request.method,
          headers,
          body,
        }),
      );
    }),
  );
}

/**
 * A Bluesky PDS: createSession checks the app password; refreshSession rotates the refreshJwt and
 * refuses a used one; getProfile needs a live accessJwt (DPoP-bound when issued through OAuth, see
 * FakeAtprotoServer); deleteSession ends it.
 */
export class FakePds {
  accessTtlMs = 2 * 3600_000;
  /** The PDS's time in epoch ms; the real clock while unset. */
  clock: number | undefined;
  private seq = 0;
  readonly refresh = new Map<string, { used: boolean; deleted: boolean }>();
  readonly access = new Map<string, { exp: number; refreshJwt: string }>();
  /** OAuth access tokens and the DPoP key thumbprint each is bound to. */
  readonly bound = new Map<string, string>();
  /** Set by an OAuth server: checks a DPoP-bound call; answers a refusal, or undefined when it passes. */
  checkDpop: ((request: Request, token: string) => Promise<Response | undefined>) | undefined;

  constructor(readonly account: BlueskyAccount) {}

  now() {
    return this.clock ?? Date.now();
  }

  /** A new session as createSession answers it; refreshSession's answer leaves the email out. */
  session({ email = true }: { email?: boolean } = {}) {
    const { accessJwt, refreshJwt } = this.mint();
    return bluesky.blueskySession({
      did: this.account.did,
      handle: this.account.handle,
      didDoc: didDocument(this.account),
      accessJwt,
      refreshJwt,
      ...(email ? { email: SESSION_EMAIL } : {}),
    });
  }

  /** A fresh access and refresh token pair for the account. */
  mint() {
    this.seq += 1;
    const now = this.now();
    const iat = Math.floor(now / 1000);
    const accessExp = now + this.accessTtlMs;
    const { did } = this.account;
    const refreshJwt = unsignedJwt("refresh+jwt", {
      scope: "com.atproto.refresh",
      sub: did,
      aud: "did:web:bsky.social",
      jti: `jti-${this.seq}-${crypto.randomUUID()}`,
      iat,
      exp: iat + 90 * 86400,
    });
    const accessJwt = unsignedJwt("at+jwt", {
      scope: "com.atproto.access",
      sub: did,
      aud: "did:web:porcini.us-east.host.bsky.network",
      iat,
      exp: Math.floor(accessExp / 1000),
      n: this.seq,
    });
    this.refresh.set(refreshJwt, { used: false, deleted: false });
    this.access.set(accessJwt, { exp: accessExp, refreshJwt });
    issuedSecrets.add(refreshJwt);
    issuedSecrets.add(accessJwt);
    return { accessJwt, refreshJwt, accessExp };
  }

  liveAccess(token: string | undefined) {
    const entry = token ? this.access.get(token) : undefined;
    if (!entry) return "invalid" as const;
    if (this.refresh.get(entry.refreshJwt)?.deleted) return "invalid" as const;
    return entry.exp <= this.now() ? ("expired" as const) : ("ok" as const);
  }

  /** The token of an XRPC call, refused when a DPoP-bound token comes without its proof (or as Bearer). */
  async authorize(request: Request): Promise<{ token?: string; refusal?: Response }> {
    const header = request.headers.get("authorization") ?? "";
    const [scheme, token] = [
      header.slice(0, header.indexOf(" ")).toLowerCase(),
      header.slice(header.indexOf(" ") + 1),
    ];
    if (scheme === "dpop" || this.bound.has(token)) {
      if (scheme !== "dpop" || !this.checkDpop)
        return { refusal: dpopChallenge("invalid_token", "DPoP-bound token sent as Bearer") };
      const refusal = await this.checkDpop(request, token);
      if (refusal) return { refusal };
    }
    return { token: scheme === "bearer" || scheme === "dpop" ? token : undefined };
  }
}

function dpopChallenge(error: string, description: string, nonce?: string) {
  return Response.json(
    { error: error === "use_dpop_nonce" ? "use_dpop_nonce" : "InvalidToken", message: description },
    {
      status: 401,
      headers: {
        "www-authenticate": `DPoP error="${error}", error_description="${description}"`,
        ...(nonce ? { "dpop-nonce": nonce } : {}),
      },
    },
  );
}

const bearer = (request: Request) => request.headers.get("authorization")?.replace(/^Bearer /, "");
const xrpcError = (status: number, error: string, message: string) =>
  sendError(bluesky.xrpcError(status, error, message));

/**
 * Bluesky on the fake network: the account's handle and DID resolve, its PDS (BLUESKY_PDS) and the
 * entryway (apiBaseUrl) answer XRPC with app-password sessions; answers the PDS to inspect.
 */
export function blueskyFake(fake: FakePlatform, account: BlueskyAccount): FakePds {
  issuedSecrets.add(account.appPassword);
  installNetwork(fake);
  publishAccount(account);
  const pds = new FakePds(account);
  // The entryway standing in for DNS and the PLC directory, when PROVIDER_OVERRIDES names it the resolver.
  fake.api("GET /xrpc/com.atproto.identity.resolveHandle", ({ url }) => {
    const did = blueskyNetwork.txt.get(url.searchParams.get("handle") ?? "")?.[0]?.slice(4);
    return did ? Response.json({ did }) : xrpcError(400, "InvalidRequest", "Unable to resolve handle");
  });
  fake.api("GET /xrpc/com.atproto.identity.resolveDid", ({ url }) => {
    const didDoc = blueskyNetwork.docs.get(url.searchParams.get("did") ?? "");
    return didDoc ? Response.json({ didDoc }) : xrpcError(400, "DidNotFound", "DID not found");
  });
  fake.api("POST /xrpc/com.atproto.server.createSession", async ({ request }) => {
    const body = (await request.json()) as { identifier?: string; password?: string };
    if (
      (body.identifier === account.handle || body.identifier === account.did) &&
      body.password === account.appPassword
    )
      return Response.json(pds.session());
    return xrpcError(401, "AuthenticationRequired", "Invalid identifier or password");
  });
  fake.api("POST /xrpc/com.atproto.server.refreshSession", ({ request }) => {
    const entry = pds.refresh.get(bearer(request) ?? "");
    if (!entry || entry.deleted) return xrpcError(400, "InvalidToken", "Token could not be verified");
    if (entry.used) return xrpcError(400, "ExpiredToken", "Token has been revoked");
    entry.used = true;
    return Response.json(pds.session({ email: false }));
  });
  fake.api("POST /xrpc/com.atproto.server.deleteSession", ({ request }) => {
    const entry = pds.refresh.get(bearer(request) ?? "");
    if (!entry) return xrpcError(400, "InvalidToken", "Token could not be verified");
    entry.deleted = true;
    return new Response(null, { status: 200 });
  });
  fake.api("GET /xrpc/com.atproto.server.getSession", async ({ request }) => {
    const { token, refusal } = await pds.authorize(request);
    if (refusal) return refusal;
    return pds.liveAccess(token) === "ok"
      ? Response.json(bluesky.blueskyGetSession(account))
      : xrpcError(401, "AuthenticationRequired", "Invalid token");
  });
  fake.api("GET /xrpc/app.bsky.actor.getProfile", async ({ request, url }) => {
    const { token, refusal } = await pds.authorize(request);
    if (refusal) return refusal;
    const state = pds.liveAccess(token);
    if (state === "expired") return xrpcError(400, "ExpiredToken", "Token has expired");
    if (state === "invalid") return xrpcError(400, "InvalidToken", "Token could not be verified");
    if (url.searchParams.get("actor") !== account.did)
      return xrpcError(400, "InvalidRequest", "Profile not found");
    return Response.json(
      bluesky.blueskyProfile({
        ...account,
        avatar: `https://cdn.bsky.app/img/avatar/plain/${account.did}/bafkreia@jpeg`,
        description: "",
        counts: { followers: 10, follows: 2, posts: 5 },
        indexedAt: "2026-11-01T00:00:00.000Z",
        createdAt: "2026-01-01T00:00:00.000Z",
      }),
    );
  });
  return pds;
}

interface PushedRequest {
  params: URLSearchParams;
  jkt: string;
  expiresAt: number;
}

/**
 * An AT Protocol authorization server in front of the fake PDS, issuer `${apiBaseUrl}/oauth`:
 * protected-resource and server metadata, PAR, the token endpoint (code and rotating refresh
 * grants) and revocation, each checking the client assertion against the Worker's JWKS and a DPoP
 * proof with a server nonce; the PDS then checks every call's proof against the token's key.
 */
export class FakeAtprotoServer {
  readonly issuer: string;
  /** The nonce the server accepts now; a client that has not seen it is asked to retry with it. */
  nonce = `nonce-${crypto.randomUUID()}`;
  nonceChallenges = 0;
  accessTtlSeconds = 1800;
  /** The DID the consent screen signs in (the PDS's account unless a test changes it). */
  signsIn: string;
  /** Whether the token endpoint names the signed-in DID in `sub`. */
  sendSub = true;
  readonly pushed = new Map<string, PushedRequest>();
  readonly codes = new Map<string, { request: PushedRequest; did: string }>();
  /** Refresh tokens by value: the DPoP key they are bound to, and whether spent. */
  readonly refreshTokens = new Map<string, { jkt: string; did: string; spent: boolean; revoked: boolean }>();
  readonly assertions: { kid: string; endpoint: string }[] = [];
  /** The client keys assertions are checked against (what the client's JWKS publishes): the Worker's own unless set. */
  clientKeys: KeySource | undefined;

  constructor(
    readonly fake: FakePlatform,
    readonly pds: FakePds,
  ) {
    this.issuer = `${fake.base}/api/oauth`;
    this.signsIn = pds.account.did;
    const client = atprotoClient(env);
    fake.api("GET /.well-known/oauth-protected-resource", ({ request }) =>
      Response.json(
        bluesky.protectedResourceMetadata(
          request.headers.get(CALLED_ORIGIN) ?? `${fake.base}/api`,
          this.issuer,
        ),
      ),
    );
    fake.api("GET /oauth/.well-known/oauth-authorization-server", () => Response.json(this.metadata()));
    fake.api("POST /oauth/par", async ({ request }) => {
      const form = new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer()));
      const refused = await this.checkClient(form, "par");
      if (refused) return refused;
      const proof = await this.checkProof(request, `${this.issuer}/par`);
      if ("refusal" in proof) return proof.refusal;
      if (form.get("redirect_uri") !== client.redirectUri)
        return this.error(400, "invalid_request", "redirect_uri");
      if (form.get("code_challenge_method") !== "S256" || !form.get("code_challenge"))
        return this.error(400, "invalid_request", "PKCE S256 is required");
      if (!(form.get("scope") ?? "").split(" ").includes("atproto"))
        return this.error(400, "invalid_scope", "atproto is required");
      if (!form.get("state")) return this.error(400, "invalid_request", "state is required");
      const uri = `urn:ietf:params:oauth:request_uri:req-${crypto.randomUUID()}`;
      this.pushed.set(uri, { params: form, jkt: proof.jkt, expiresAt: Date.now() + 300_000 });
      return this.json({ request_uri: uri, expires_in: 299 }, 201);
    });
    fake.api("POST /oauth/token", async ({ request }) => {
      const form = new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer()));
      const refused = await this.checkClient(form, "token");
      if (refused) return refused;
      const proof = await this.checkProof(request, `${this.issuer}/token`);
      if ("refusal" in proof) return proof.refusal;
      const grantType = form.get("grant_type");
      if (grantType === "authorization_code") {
        const entry = this.codes.get(form.get("code") ?? "");
        this.codes.delete(form.get("code") ?? "");
        if (!entry) return this.error(400, "invalid_grant", "Invalid code");
        const params = entry.request.params;
        if (form.get("redirect_uri") !== params.get("redirect_uri"))
          return this.error(400, "invalid_grant", "redirect_uri mismatch");
        const digest = new Uint8Array(
          await crypto.subtle.digest("SHA-256", new TextEncoder().encode(form.get("code_verifier") ?? "")),
        );
        const challenge = btoa(String.fromCharCode(...digest))
          .replace(/\+/g, "-")
          .replace(/\//g, "_")
          .replace(/=+$/, "");
        if (challenge !== params.get("code_challenge"))
          return this.error(400, "invalid_grant", "PKCE mismatch");
        if (proof.jkt !== entry.request.jkt) return this.error(400, "invalid_dpop_proof", "Another DPoP key");
        return this.issue(entry.did, proof.jkt, params.get("scope") ?? "");
      }
      if (grantType === "refresh_token") {
        const token = form.get("refresh_token") ?? "";
        const entry = this.refreshTokens.get(token);
        if (!entry || entry.revoked) return this.error(400, "invalid_grant", "Invalid refresh token");
        if (entry.spent) {
          for (const other of this.refreshTokens.values()) if (other.did === entry.did) other.revoked = true;
          return this.error(400, "invalid_grant", "Refresh token replayed");
        }
        if (proof.jkt !== entry.jkt) return this.error(400, "invalid_dpop_proof", "Another DPoP key");
        entry.spent = true;
        return this.issue(entry.did, proof.jkt, "atproto transition:generic");
      }
      return this.error(400, "unsupported_grant_type", "Unsupported grant_type");
    });
    fake.api("POST /oauth/revoke", async ({ request }) => {
      const form = new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer()));
      const refused = await this.checkClient(form, "revoke");
      if (refused) return refused;
      const entry = this.refreshTokens.get(form.get("token") ?? "");
      if (entry) entry.revoked = true;
      const session = pds.refresh.get(form.get("token") ?? "");
      if (session) session.deleted = true;
      return new Response(null, { status: 200 });
    });
    pds.checkDpop = async (request, token) => {
      const called = request.headers.get(CALLED_ORIGIN);
      const url = new URL(request.url);
      const original = called ? `${called}${url.pathname.replace(/^\/[^/]+\/api/, "")}` : request.url;
      const result = await verifyDpopProof(request.headers.get("dpop"), {
        method: request.method,
        url: original,
        now: Date.now(),
        accessToken: token,
        nonceValid: (nonce) => nonce === this.nonce,
      });
      if (!result.ok) {
        if (result.error === "use_dpop_nonce") this.nonceChallenges += 1;
        return dpopChallenge(result.error, result.description, this.nonce);
      }
      if (pds.bound.get(token) !== result.jkt)
        return dpopChallenge("invalid_token", "The token is bound to another DPoP key", this.nonce);
      return undefined;
    };
  }

  metadata() {
    return bluesky.authorizationServerMetadata(this.issuer);
  }

  /** The consent screen: approves the pushed request of `authorizationUrl`; answers the redirect's parameters. */
  approve(authorizationUrl: string) {
    const url = new URL(authorizationUrl);
    const request = this.pushed.get(url.searchParams.get("request_uri") ?? "");
    if (!request || url.searchParams.get("client_id") !== atprotoClient(env).clientId)
      throw new Error("unknown pushed request");
    const code = `cod-${crypto.randomUUID()}`;
    this.codes.set(code, { request, did: this.signsIn });
    return { code, state: request.params.get("state") ?? "", iss: this.issuer };
  }

  private json(body: unknown, status = 200) {
    return Response.json(body, {
      status,
      headers: { "dpop-nonce": this.nonce, "cache-control": "no-store" },
    });
  }

  private error(status: number, error: string, description: string) {
    return this.json({ error, error_description: description }, status);
  }

  private async checkClient(form: URLSearchParams, endpoint: string): Promise<Response | undefined> {
    const client = atprotoClient(env);
    const keys = await clientKeys(this.clientKeys ?? client.keys ?? { seed: "" });
    const result = await verifyClientAssertion(form, {
      clientId: client.clientId,
      issuer: this.issuer,
      keys: keys.map((k) => k.publicJwk),
      now: Date.now(),
    });
    if (!result.ok) return this.error(401, result.error, result.description);
    this.assertions.push({ kid: result.kid, endpoint });
    return undefined;
  }

  private async checkProof(request: Request, url: string): Promise<{ jkt: string } | { refusal: Response }> {
    const result = await verifyDpopProof(request.headers.get("dpop"), {
      method: "POST",
      url,
      now: Date.now(),
      nonceValid: (nonce) => nonce === this.nonce,
    });
    if (result.ok) return { jkt: result.jkt };
    if (result.error === "use_dpop_nonce") this.nonceChallenges += 1;
    return { refusal: this.error(400, result.error, result.description) };
  }

  private issue(did: string, jkt: string, scope: string) {
    const { accessJwt, refreshJwt } = this.pds.mint();
    this.pds.bound.set(accessJwt, jkt);
    this.refreshTokens.set(refreshJwt, { jkt, did, spent: false, revoked: false });
    const body: Record<string, unknown> = bluesky.atprotoTokens({
      accessToken: accessJwt,
      refreshToken: refreshJwt,
      expiresIn: this.accessTtlSeconds,
      scope,
      sub: did,
    });
    if (!this.sendSub) delete body.sub;
    return this.json(body);
  }
}

/** Bluesky with its AT Protocol authorization server, on the fake network. */
export function blueskyOAuthFake(fake: FakePlatform, account: BlueskyAccount) {
  const pds = blueskyFake(fake, account);
  return { pds, server: new FakeAtprotoServer(fake, pds) };
}

export interface TelegramBot {
  token: string;
  id: number;
  firstName: string;
  username: string;
}

/** A fresh bot as @BotFather makes one: "<numeric id>:<35 URL-safe characters>". */
export function newTelegramBot(): TelegramBot {
  const id = 7_000_000_000 + Math.floor(Math.random() * 999_999_999);
  const secret = `AA${crypto.randomUUID().replace(/-/g, "")}x`.slice(0, 35);
  return { token: `${id}:${secret}`, id, firstName: "Switchboard Poster", username: `poster_${id}_bot` };
}

/** The Bot API: {ok:true,result} for the bot's token; an unknown token answers 404 Not Found. */
export function telegramFake(fake: FakePlatform, bot: TelegramBot) {
  issuedSecrets.add(bot.token);
  fake.api(`GET /bot${bot.token}/getMe`, () => Response.json(telegram.telegramGetMe(bot)));
}

/** The WhatsApp Cloud API's phone number node, GET /{phone-number-id}, read with a system-user token. */
export function whatsappFake(
  fake: FakePlatform,
  phone: { id: string; displayNumber: string; verifiedName: string },
) {
  fake.api(`GET /${phone.id}`, ({ grant, url }) => {
    if (!grant) return sendError(meta.graphInvalidToken(TRACE_ID));
    return Response.json(meta.whatsappPhoneNumber(phone, url.searchParams.get("fields")));
  });
}

/**
 * WhatsApp Embedded Signup: Facebook's fake issues the business token, which debug_token (with the
 * app's token) shows shared with `business`; the WABA's Graph calls answer on both fakes, since
 * onboarding runs with Facebook's context and the account's calls with WhatsApp's.
 */
export function embeddedSignupFake(
  fb: FakePlatform,
  wa: FakePlatform,
  business: meta.WireWhatsAppBusiness | null,
) {
  fb.api("GET /debug_token", ({ url }) => {
    if (url.searchParams.get("access_token") !== "facebook-client-id|facebook-client-secret")
      return sendError(meta.graphBadClient(TRACE_ID));
    const grant = fb.grantByAccess(url.searchParams.get("input_token"));
    if (!grant || grant.revoked) return sendError(meta.graphInvalidToken(TRACE_ID, 400));
    return Response.json(
      meta.whatsappDebugToken({
        appId: "facebook-client-id",
        userId: grant.profile.id,
        wabaIds: business ? [business.id] : [],
        scopes: grant.scopes,
      }),
    );
  });
  // FB.login's code, exchanged with the app's credentials and no redirect URI; the long-lived exchange stays as it was.
  const longLived = handlerOf(fb, "GET /oauth/access_token");
  fb.api("GET /oauth/access_token", (req) => {
    const code = req.url.searchParams.get("code");
    if (code === null) return longLived(req);
    const q = req.url.searchParams;
    if (q.get("client_id") !== "facebook-client-id" || q.get("client_secret") !== "facebook-client-secret")
      return sendError(meta.graphBadClient(TRACE_ID));
    const entry = fb.codes.get(code);
    if (!entry) return graphError(100, 400, "This authorization code has been used.", 36009);
    fb.codes.delete(code);
    return Response.json({ access_token: entry.grant.accessToken, token_type: "bearer" });
  });
  if (!business) return;
  const authed =
    (handler: (req: FakeRequest) => Response) =>
    (req: FakeRequest): Response => {
      const token = req.request.headers.get("authorization")?.replace(/^Bearer /i, "");
      const grant = fb.grantByAccess(token);
      return grant && !grant.revoked ? handler(req) : sendError(meta.graphInvalidToken(TRACE_ID));
    };
  const fields = (req: FakeRequest) => req.url.searchParams.get("fields");
  for (const fake of [fb, wa]) {
    fake.api(
      `GET /${business.id}`,
      authed((req) => Response.json(meta.whatsappBusinessNode(business, fields(req)))),
    );
    fake.api(
      `GET /${business.id}/phone_numbers`,
      authed((req) => Response.json(meta.whatsappPhoneNumberList(business, fields(req)))),
    );
    for (const method of ["POST", "DELETE"])
      fake.api(
        `${method} /${business.id}/subscribed_apps`,
        authed(() => Response.json({ success: true })),
      );
    for (const number of business.numbers)
      fake.api(
        `GET /${number.id}`,
        authed((req) => Response.json(meta.whatsappPhoneNumber(number, fields(req)))),
      );
  }
}

/** The OAuth platforms whose fake needs nothing but the FakePlatform itself. */
export const OAUTH_FAKES = {
  twitter: twitterFake,
  linkedin: linkedinFake,
  instagram: instagramFake,
  facebook: facebookFake,
  threads: threadsFake,
  youtube: youtubeFake,
  tiktok: tiktokFake,
  pinterest: pinterestFake,
  snapchat: snapchatFake,
  reddit: redditFake,
  googlebusiness: googlebusinessFake,
  mastodon: mastodonFake,
} satisfies Partial<Record<Platform, (fake: FakePlatform) => void>>;

/** A fresh fake for `platform` (replacing any earlier one in this file) whose tokens are tracked. */
export function fakeFor(platform: Platform): FakePlatform {
  return track(fakePlatform(platform));
}

/** A fresh fake configured as the OAuth platform it stands for. */
export function oauthFake(platform: keyof typeof OAUTH_FAKES): FakePlatform {
  const fake = fakeFor(platform);
  OAUTH_FAKES[platform](fake);
  return fake;
}
