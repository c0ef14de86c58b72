import { getConfig } from "../../lib/config";
import { randomToken, sha256Hex } from "../../lib/crypto";
import type { Platform } from "../../lib/domain";
import { SECOND } from "../../lib/time";
import { isBotToken } from "../telegram";
import {
  blueskyGetSession,
  blueskyInvalidToken,
  blueskyProfile,
  blueskySession,
  xrpcError as xrpcEnvelope,
} from "../wire/bluesky";
import {
  type BusinessLocation,
  businessAccounts,
  businessLocation,
  businessLocationPage,
  googleInvalidToken,
  googleMissingReadMask,
  googleNotFound,
  youtubeChannelList,
} from "../wire/google";
import {
  linkedinBatchIds,
  linkedinImagesBatch,
  linkedinNoOrganizationAccess,
  linkedinOrganizationAcls,
  linkedinOrganizationsBatch,
  linkedinUnauthorized,
  linkedinUserinfo,
} from "../wire/linkedin";
import { mastodonAccount, mastodonApp, mastodonUnauthorized } from "../wire/mastodon";
import {
  facebookBusinessList,
  facebookMe,
  facebookPageList,
  facebookPermissions,
  graphAlreadyLongLived,
  graphBadClient,
  graphError as graphEnvelope,
  graphFields,
  graphInvalidToken,
  graphNotLongLived,
  graphWrongGrantType,
  instagramMe,
  longLivedToken,
  threadsMe,
  type WireWhatsAppBusiness,
  whatsappBusinessNode,
  whatsappDebugToken,
  whatsappPhoneNumber,
  whatsappPhoneNumberList,
} from "../wire/meta";
import { pinterestUnauthorized, pinterestUserAccount } from "../wire/pinterest";
import { redditMe, redditUnauthorized } from "../wire/reddit";
import { snapchatMe, snapchatUnauthorized } from "../wire/snapchat";
import { telegramGetMe, telegramNotFound, telegramUnauthorized } from "../wire/telegram";
import {
  TIKTOK_BUSINESS_CODES,
  tiktokBusinessError,
  tiktokBusinessOk,
  tiktokBusinessProfile,
  tiktokBusinessTokenData,
  tiktokBusinessVideoList,
  tiktokInvalidToken,
  tiktokUserInfo,
} from "../wire/tiktok";
import { twitterMe, twitterUnauthorized } from "../wire/twitter";
import { listParam, type WireError } from "../wire/wire";
import { handleAtproto, xrpcCaller } from "./sandbox.atproto";
import { handleContent } from "./sandbox.content";
import {
  avatarUrl,
  displayName,
  LONG_LIVED_TTL,
  SANDBOX_CLIENT_ID,
  SANDBOX_CLIENT_SECRET,
  SANDBOX_SPECS,
  sandboxUser,
} from "./sandbox.profiles";
import {
  expectedRedirectUri,
  grantBase,
  issueTokens,
  json,
  notServed,
  sandboxClient,
  useRefreshToken,
} from "./sandbox.service";
import {
  type GrantClaims,
  liveToken,
  newTokenId,
  revokeGrant,
  signToken,
  spend,
  verifyToken,
} from "./sandbox.tokens";

/** One call to a platform API under /sandbox/<platform>/api. */
interface Call {
  env: Env;
  platform: Platform;
  request: Request;
  method: string;
  /** The path below the API base, e.g. /2/users/me. */
  path: string;
  query: URLSearchParams;
  now: number;
  publicUrl: string;
}

type Handler = (call: Call) => Promise<Response | undefined>;

function bearer(call: Call): string | null {
  const authorization = call.request.headers.get("authorization");
  if (authorization && /^bearer /i.test(authorization)) return authorization.slice(7).trim();
  return call.query.get("access_token");
}

/** The live access token's grant, or undefined (unknown, expired or revoked). */
const who = (call: Call) => liveToken(call.env, bearer(call), "at", call.platform, call.now);

const nameOf = (call: Call, user: GrantClaims) => displayName(call.platform, user.u);
const avatarOf = (call: Call, user: GrantClaims) => avatarUrl(call.publicUrl, call.platform, user.sub);
const profileOf = (call: Call, user: GrantClaims) => ({
  id: user.sub,
  username: user.u,
  name: nameOf(call, user),
  avatarUrl: avatarOf(call, user),
});
const isoAt = (epochSeconds: number) => new Date(epochSeconds * SECOND).toISOString();
const send = (e: WireError) => json(e.body, e.status, e.headers);

/** Each platform's answer to a missing, unknown, expired or revoked token; `randomId` mints its trace ids. */
function invalidToken(platform: Platform, randomId: (length: number) => string): WireError {
  switch (platform) {
    case "twitter":
      return twitterUnauthorized();
    case "linkedin":
      return linkedinUnauthorized();
    case "youtube":
    case "googlebusiness":
      return googleInvalidToken();
    case "reddit":
      return redditUnauthorized();
    case "pinterest":
      return pinterestUnauthorized();
    case "facebook":
    case "instagram":
    case "threads":
    case "whatsapp":
      return graphInvalidToken(randomId(9));
    case "tiktok":
      return tiktokInvalidToken(randomId(12));
    case "snapchat":
      return snapchatUnauthorized(randomId(12));
    case "mastodon":
      return mastodonUnauthorized();
    case "bluesky":
      return blueskyInvalidToken();
    case "telegram":
      return telegramUnauthorized();
  }
}

const unauthorized = (platform: Platform) => send(invalidToken(platform, randomToken));

function graphError(status: number, code: number, message: string): Response {
  return send(graphEnvelope({ status, code, message, traceId: randomToken(9) }));
}

/** Meta's short → long-lived exchange and long-lived extension (Facebook, Instagram, Threads). */
async function longLived(
  call: Call,
  token: string | null,
  from: "short" | "long",
  permissions: boolean,
): Promise<Response> {
  const claims = await liveToken(call.env, token, "at", call.platform, call.now);
  if (!claims) return send(graphInvalidToken(randomToken(9), 400));
  if (from === "short" && claims.l) return send(graphAlreadyLongLived(randomToken(9)));
  if (from === "long" && !claims.l) return send(graphNotLongLived(randomToken(9)));
  const issued = await issueTokens(call.env, claims, "refresh_token", call.now, {
    refresh: false,
    long: true,
  });
  return json(
    longLivedToken({
      accessToken: issued.accessToken,
      expiresIn: issued.accessTtl ?? LONG_LIVED_TTL,
      ...(permissions ? { permissions: claims.s } : {}),
    }),
  );
}

const twitter: Handler = async (call) => {
  if (call.method !== "GET" || call.path !== "/2/users/me") return undefined;
  const user = await who(call);
  if (!user) return unauthorized(call.platform);
  const me = { ...profileOf(call, user), verifiedType: "none", createdAt: isoAt(user.iat) };
  return json(twitterMe(me, listParam(call.query.get("user.fields"))));
};

/** The organisation scopes a pageMode grant holds (LinkedIn's Community Management API). */
const ORGANIZATION_SCOPES = ["rw_organization_admin", "r_organization_admin"];

/** Every sandbox LinkedIn member administers two Company Pages, with numeric ids stable per member. */
async function sandboxOrganizations(call: Call, user: GrantClaims) {
  return Promise.all(
    ["1", "2"].map(async (n) => {
      const id = String(
        10_000_000 +
          (Number.parseInt((await sha256Hex(`${user.sub}:org:${n}`)).slice(0, 8), 16) % 80_000_000),
      );
      const name = `${nameOf(call, user)} ${n === "1" ? "Studio" : "Labs"}`;
      return {
        id,
        name,
        vanityName: name.toLowerCase().replace(/[^a-z0-9]+/g, "-"),
        logoUrl: avatarUrl(call.publicUrl, "linkedin", `org-${id}`),
      };
    }),
  );
}

const linkedin: Handler = async (call) => {
  if (call.method === "GET" && call.path === "/rest/organizationAcls") {
    const user = await who(call);
    if (!user) return unauthorized(call.platform);
    if (!user.s.some((scope) => ORGANIZATION_SCOPES.includes(scope)))
      return send(linkedinNoOrganizationAccess());
    if (call.query.get("q") !== "roleAssignee")
      return notServed(call.platform, "This organizationAcls finder");
    const start = Math.max(Number(call.query.get("start")) || 0, 0);
    const count = Math.min(Math.max(Number(call.query.get("count")) || 10, 1), 100);
    return json(linkedinOrganizationAcls(await sandboxOrganizations(call, user), start, count));
  }
  if (call.method === "GET" && (call.path === "/rest/organizations" || call.path === "/rest/images")) {
    const user = await who(call);
    if (!user) return unauthorized(call.platform);
    if (!user.s.some((scope) => ORGANIZATION_SCOPES.includes(scope)))
      return send(linkedinNoOrganizationAccess());
    const ids = linkedinBatchIds(call.query);
    if (!ids) return notServed(call.platform, `This ${call.path} call without ids=List(…)`);
    const orgs = await sandboxOrganizations(call, user);
    return json(
      call.path === "/rest/organizations"
        ? linkedinOrganizationsBatch(orgs, ids)
        : linkedinImagesBatch(orgs, ids),
    );
  }
  if (call.method !== "GET" || call.path !== "/v2/userinfo") return undefined;
  const user = await who(call);
  if (!user) return unauthorized(call.platform);
  const profile = profileOf(call, user);
  const answer = linkedinUserinfo(
    { ...profile, email: `${user.u}@sandbox.invalid`, picture: profile.avatarUrl },
    user.s,
  );
  return "refused" in answer ? send(answer.refused) : json(answer.body);
};

const youtube: Handler = async (call) => {
  if (call.method !== "GET" || call.path !== "/youtube/v3/channels") return undefined;
  const user = await who(call);
  if (!user) return unauthorized(call.platform);
  const channel = (id: string, title: string, handle: string) => {
    const avatar = avatarUrl(call.publicUrl, call.platform, id);
    return {
      id,
      etag: randomToken(12),
      title,
      description: "A channel of Switchboard's sandbox.",
      customUrl: `@${handle.toLowerCase()}`,
      publishedAt: isoAt(user.iat),
      thumbnail: () => avatar,
    };
  };
  // The user's own channel first (the profile reads the first), then a brand account's, as a picker needs.
  const channels = [
    channel(user.sub, nameOf(call, user), user.u),
    channel(`${user.sub}-brand`, `${nameOf(call, user)} Brand`, `${user.u}_brand`),
  ];
  const paging = { maxResults: call.query.get("maxResults"), pageToken: call.query.get("pageToken") };
  const mine = call.query.get("mine") === "true";
  return json(youtubeChannelList(mine ? channels : [], randomToken(12), paging));
};

/** A sandbox user's Business Profile locations, ids derived from theirs: two storefronts and a service area. */
function sandboxLocations(call: Call, user: GrantClaims): BusinessLocation[] {
  const name = nameOf(call, user);
  const digits = [...user.sub].map((c) => c.charCodeAt(0) % 10).join("");
  const address = (line: string) => ({
    lines: [line],
    locality: "Sandbox City",
    postalCode: "00000",
    regionCode: "US",
  });
  return [
    { id: `${digits}01`, title: `${name} Downtown`, address: address("1 Sandbox Way") },
    { id: `${digits}02`, title: `${name} Riverside`, address: address("2 Sandbox Quay") },
    { id: `${digits}03`, title: `${name} Catering` },
  ];
}

const googlebusiness: Handler = async (call) => {
  if (call.method !== "GET") return undefined;
  const listing = /^\/v1\/accounts\/([^/]+)\/locations$/.exec(call.path);
  const single = /^\/v1\/locations\/([^/]+)$/.exec(call.path);
  if (listing || single) {
    const user = await who(call);
    if (!user) return unauthorized(call.platform);
    const readMask = listParam(call.query.get("readMask"));
    if (!readMask.length) return send(googleMissingReadMask());
    const locations = sandboxLocations(call, user);
    if (single) {
      const location = locations.find((l) => l.id === single[1]);
      return location ? json(businessLocation(location, readMask)) : send(googleNotFound());
    }
    if (listing?.[1] !== user.sub) return send(googleNotFound());
    const size = Math.min(Math.max(Number(call.query.get("pageSize")) || 10, 1), 100);
    const start = Number(call.query.get("pageToken")) || 0;
    const next = start + size < locations.length ? String(start + size) : undefined;
    return json(businessLocationPage(locations.slice(start, start + size), readMask, next));
  }
  if (call.path !== "/v1/accounts") return undefined;
  const user = await who(call);
  if (!user) return unauthorized(call.platform);
  return json(
    businessAccounts([
      {
        id: user.sub,
        name: nameOf(call, user),
        type: "LOCATION_GROUP",
        role: "PRIMARY_OWNER",
        verificationState: "VERIFIED",
        vettedState: "NOT_VETTED",
        permissionLevel: "OWNER_LEVEL",
      },
    ]),
  );
};

const reddit: Handler = async (call) => {
  if (call.method !== "GET" || call.path !== "/api/v1/me") return undefined;
  const user = await who(call);
  if (!user) return unauthorized(call.platform);
  const me = { ...profileOf(call, user), icon: avatarOf(call, user), createdUtc: user.iat, karma: 1 };
  const answer = redditMe(me, user.s);
  return "refused" in answer ? send(answer.refused) : json(answer.body);
};

const pinterest: Handler = async (call) => {
  if (call.method !== "GET" || call.path !== "/v5/user_account") return undefined;
  const user = await who(call);
  if (!user) return unauthorized(call.platform);
  return json(
    pinterestUserAccount({
      ...profileOf(call, user),
      websiteUrl: "",
      about: "",
      counts: { boards: 0, pins: 0, followers: 0, following: 0, monthlyViews: 0 },
    }),
  );
};

const snapchat: Handler = async (call) => {
  if (call.method !== "GET" || call.path !== "/v1/me") return undefined;
  const user = await who(call);
  if (!user) return unauthorized(call.platform);
  return json(
    snapchatMe({
      ...profileOf(call, user),
      requestId: randomToken(12),
      createdAt: isoAt(user.iat),
      updatedAt: isoAt(user.iat),
      organizationId: `${user.sub}-org`,
    }),
  );
};

/** The JSON body of a Business API call, or undefined when it is not a JSON object. */
async function jsonBody(request: Request): Promise<Record<string, unknown> | undefined> {
  if (!request.headers.get("content-type")?.includes("application/json")) return undefined;
  try {
    const body = await request.json();
    return body && typeof body === "object" && !Array.isArray(body)
      ? (body as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

const businessRefuse = (code: number, message: string) =>
  send(tiktokBusinessError(code, message, randomToken(16)));

/** The token endpoints' answer in the Business API envelope. */
const businessTokens = (issued: Awaited<ReturnType<typeof issueTokens>>) =>
  json(
    tiktokBusinessOk(
      tiktokBusinessTokenData({
        accessToken: issued.accessToken,
        accessTtl: issued.accessTtl ?? 0,
        refreshToken: issued.refreshToken ?? "",
        refreshTtl: issued.refreshTtl ?? 0,
        openId: issued.userId,
        scopes: issued.scopes,
      }),
      randomToken(16),
    ),
  );

/**
 * TikTok API for Business (Accounts API): JSON token, refresh and revoke with the sandbox client,
 * rotating single-use refresh tokens, business/get and business/video/list with the token in
 * Access-Token; every refusal is HTTP 200 with a non-zero code, as the Business API sends them.
 */
async function tiktokBusiness(call: Call): Promise<Response | undefined> {
  const { env, now } = call;
  const oauth = "/open_api/v1.3/tt_user/oauth2/";
  if (call.method === "POST" && call.path.startsWith(oauth)) {
    const body = await jsonBody(call.request);
    if (!body) return businessRefuse(TIKTOK_BUSINESS_CODES.invalidParams, "The body must be a JSON object");
    const text = (name: string) => (typeof body[name] === "string" ? (body[name] as string) : null);
    if (!(await sandboxClient(text("client_id"), text("client_secret"))))
      return businessRefuse(TIKTOK_BUSINESS_CODES.invalidParams, "client_id or client_secret is invalid");
    const step = call.path.slice(oauth.length);
    if (step === "token/") {
      if (text("grant_type") !== "authorization_code")
        return businessRefuse(TIKTOK_BUSINESS_CODES.invalidParams, "grant_type must be authorization_code");
      const code = await verifyToken(env, text("auth_code"), "code", "tiktok", now);
      if (!code)
        return businessRefuse(TIKTOK_BUSINESS_CODES.authCodeInvalid, "Authorization code is expired.");
      if (!(await spend(env, code, now))) {
        await revokeGrant(env, code, now);
        return businessRefuse(TIKTOK_BUSINESS_CODES.authCodeInvalid, "Authorization code was already used.");
      }
      if (text("redirect_uri") !== (code.ru ?? expectedRedirectUri(env, "tiktok")))
        return businessRefuse(TIKTOK_BUSINESS_CODES.invalidParams, "redirect_uri does not match");
      return businessTokens(await issueTokens(env, code, "authorization_code", now, { refresh: true }));
    }
    if (step === "refresh_token/") {
      if (text("grant_type") !== "refresh_token")
        return businessRefuse(TIKTOK_BUSINESS_CODES.invalidParams, "grant_type must be refresh_token");
      const result = await useRefreshToken(env, "tiktok", text("refresh_token"), now);
      if ("refused" in result)
        return businessRefuse(
          TIKTOK_BUSINESS_CODES.refreshTokenInvalid,
          `Refresh token is ${result.refused}.`,
        );
      return businessTokens(result.issued);
    }
    if (step === "revoke/") {
      const claims = await verifyToken(env, text("access_token"), "at", "tiktok", now, {
        allowExpired: true,
      });
      if (claims) await revokeGrant(env, claims, now);
      return json(tiktokBusinessOk({}, randomToken(16)));
    }
    return undefined;
  }
  const read = ["/open_api/v1.3/business/get/", "/open_api/v1.3/business/video/list/"];
  if (call.method !== "GET" || !read.includes(call.path)) return undefined;
  const token = call.request.headers.get("access-token");
  if (!token) return businessRefuse(TIKTOK_BUSINESS_CODES.accessTokenMissing, "Access-Token is missing.");
  const user = await liveToken(env, token, "at", "tiktok", now);
  if (!user)
    return businessRefuse(
      TIKTOK_BUSINESS_CODES.accessTokenInvalid,
      "Access token is incorrect or has been revoked.",
    );
  // A new sandbox user has published nothing yet: the backfill reads an empty list.
  const answer = call.path.endsWith("/video/list/")
    ? tiktokBusinessVideoList({ id: user.sub }, [], call.query, randomToken(16))
    : tiktokBusinessProfile(
        profileOf(call, user),
        call.query.get("business_id"),
        call.query.get("fields"),
        randomToken(16),
      );
  return "refused" in answer ? send(answer.refused) : json(answer.body);
}

const tiktok: Handler = async (call) => {
  if (call.path.startsWith("/open_api/")) return tiktokBusiness(call);
  if (call.method !== "GET" || call.path !== "/v2/user/info/") return undefined;
  const user = await who(call);
  if (!user) return unauthorized(call.platform);
  const me = {
    ...profileOf(call, user),
    unionId: `${user.sub}-union`,
    bio: "",
    deepLink: `${call.publicUrl}/sandbox/tiktok/@${encodeURIComponent(user.u)}`,
    verified: false,
  };
  const answer = tiktokUserInfo(me, call.query.get("fields"), user.s, randomToken(12));
  return "refused" in answer ? send(answer.refused) : json(answer.body);
};

/** A sandbox Facebook user's Pages: ids and names derived from theirs. */
const SANDBOX_PAGE = /-page-(\d)$/;
const pageName = (call: Call, user: GrantClaims, n: string) => `${nameOf(call, user)}'s Page ${n}`;

/** The Page a sandbox Page token stands for (its subject is the Page), or undefined for a user token. */
function sandboxPageOf(call: Call, claims: GrantClaims) {
  const n = SANDBOX_PAGE.exec(claims.sub)?.[1];
  return n ? { id: claims.sub, username: claims.u, name: pageName(call, claims, n) } : undefined;
}

/**
 * The user's Pages by number (1 and 2 through /me/accounts; 3 only through their business), each with
 * a Page token of the same grant (revoked with it) lasting the grant's life.
 */
async function sandboxPages(call: Call, user: GrantClaims, numbers = ["1", "2"]) {
  return Promise.all(
    numbers.map(async (n) => {
      const id = `${user.sub}-page-${n}`;
      const accessToken = await signToken(call.env, {
        k: "at",
        p: user.p,
        g: user.g,
        j: newTokenId(),
        u: user.u,
        sub: id,
        s: user.s,
        iat: Math.floor(call.now / SECOND),
        exp: user.ge,
        ge: user.ge,
        l: 1,
      });
      return { id, name: pageName(call, user, n), accessToken };
    }),
  );
}

/** The one business a sandbox Facebook user belongs to. */
const sandboxBusiness = (call: Call, user: GrantClaims) => ({
  id: `${user.sub}-biz-1`,
  name: `${nameOf(call, user)}'s Business`,
});

/** The Pages of the sandbox business's edges: it owns Page 3 and manages Page 2 (also the user's own) for a client. */
const BUSINESS_EDGES = new Map([
  ["owned_pages", ["3"]],
  ["client_pages", ["2"]],
]);

/**
 * GET /me/businesses and the business's owned_pages and client_pages for a user token (`call` is
 * Facebook's), or undefined for any other path; `list` answers a Page listing as the fields ask.
 */
async function businessCall(
  call: Call,
  user: GrantClaims,
  path: string,
  list: (pages: Awaited<ReturnType<typeof sandboxPages>>) => unknown,
): Promise<Response | undefined> {
  if (call.method !== "GET") return undefined;
  const business = sandboxBusiness(call, user);
  const edge = path.startsWith(`/${business.id}/`) ? path.slice(business.id.length + 2) : undefined;
  const numbers = edge ? BUSINESS_EDGES.get(edge) : undefined;
  if (path !== "/me/businesses" && !numbers) return undefined;
  if (!user.s.includes("business_management")) return graphError(403, 200, "Permissions error");
  if (!numbers) return json(facebookBusinessList([business], call.query.get("fields")));
  return json(list(await sandboxPages(call, user, numbers)));
}

const facebook: Handler = async (call) => {
  const path = call.path.replace(/^\/v\d+(?:\.\d+)?(?=\/)/, "");
  if (call.method === "GET" && path === "/debug_token") return debugToken(call);
  if (/^\/\d{1,20}(?:\/|$)/.test(path)) {
    const user = await who(call);
    const answer = user ? await whatsappBusinessCall(call, user) : undefined;
    if (answer) return answer;
  }
  if (call.method === "GET" && path === "/oauth/access_token") {
    if (call.query.get("grant_type") !== "fb_exchange_token")
      return send(graphWrongGrantType("fb_exchange_token", randomToken(9)));
    if (!(await sandboxClient(call.query.get("client_id"), call.query.get("client_secret"))))
      return send(graphBadClient(randomToken(9)));
    return longLived(call, call.query.get("fb_exchange_token"), "short", false);
  }
  const business = /^\/[^/]+-biz-\d\/[a-z_]+$/.test(path) || path === "/me/businesses";
  if (path !== "/me" && path !== "/me/permissions" && path !== "/me/accounts" && !business) return undefined;
  const user = await who(call);
  if (!user) return unauthorized(call.platform);
  const page = sandboxPageOf(call, user);
  if (call.method === "GET" && path === "/me")
    return json(facebookMe(page ?? profileOf(call, user), call.query.get("fields")));
  // A Page token is no user: it lists no Pages and holds no permissions to revoke.
  if (page) return unauthorized(call.platform);
  if (business)
    return businessCall(call, user, path, (pages) => facebookPageList(pages, call.query.get("fields")));
  if (call.method === "GET" && path === "/me/accounts")
    return json(facebookPageList(await sandboxPages(call, user), call.query.get("fields")));
  if (call.method === "GET")
    return json(
      facebookPermissions(["public_profile", ...user.s.filter((scope) => scope !== "public_profile")]),
    );
  if (call.method === "DELETE") {
    await revokeGrant(call.env, user, call.now);
    return json({ success: true });
  }
  return undefined;
};

/** Graph's `fields` with nesting (`a,b{c,d}`): each top-level field and what it asks of its object. */
function nestedFields(fields: string | null): Map<string, string | null> {
  const out = new Map<string, string | null>();
  let depth = 0;
  let start = 0;
  const text = fields ?? "";
  for (let i = 0; i <= text.length; i++) {
    const ch = text[i];
    if (ch === "{") depth++;
    else if (ch === "}") depth--;
    else if ((ch === "," && depth === 0) || i === text.length) {
      const item = text.slice(start, i).trim();
      const brace = item.indexOf("{");
      if (item)
        out.set(brace < 0 ? item : item.slice(0, brace), brace < 0 ? null : item.slice(brace + 1, -1));
      start = i + 1;
    }
  }
  return out;
}

/** The Instagram business accounts linked to a sandbox Facebook user's Pages: Page 1 and the business's Page 3. */
const LINKED_PAGES = new Map([
  ["1", { suffix: "shop", label: "Shop" }],
  ["3", { suffix: "studio", label: "Studio" }],
]);

/** The Instagram business account linked to a sandbox Facebook user's Page `n`, if any. */
function sandboxInstagramBusiness(call: Call, owner: { sub: string; u: string }, n: string) {
  const linked = LINKED_PAGES.get(n);
  if (!linked) return undefined;
  const id = `${owner.sub}-ig-${n}`;
  return {
    id,
    username: `${owner.u.replace(/[^A-Za-z0-9_.]/g, "").slice(0, 24)}.${linked.suffix}`,
    name: `${displayName("facebook", owner.u)}'s ${linked.label}`,
    profile_picture_url: avatarUrl(call.publicUrl, "instagram", id),
  };
}

/**
 * Instagram's Graph calls made with a Facebook-Login token (Instagram through Facebook Login): the
 * Facebook user, its Pages and its business's with their linked Instagram business accounts, that
 * account, and revoking.
 */
async function facebookLoginCall(call: Call, user: GrantClaims): Promise<Response | undefined> {
  const path = call.path.replace(/^\/v\d+(?:\.\d+)?(?=\/)/, "");
  const fbCall = { ...call, platform: "facebook" as const };
  const page = sandboxPageOf(fbCall, user);
  const owner = page ? { sub: user.sub.replace(/-page-\d$/, ""), u: user.u } : user;
  if (call.method === "GET" && path === "/me")
    return json(facebookMe(page ?? profileOf(fbCall, user), call.query.get("fields")));
  if (call.method === "DELETE" && path === "/me/permissions") {
    if (page) return unauthorized("facebook");
    await revokeGrant(call.env, user, call.now);
    return json({ success: true });
  }
  const asked = nestedFields(call.query.get("fields"));
  const igFields = asked.get("instagram_business_account");
  const withInstagram = (pages: Awaited<ReturnType<typeof sandboxPages>>) => {
    const listed = facebookPageList(pages, call.query.get("fields"));
    return {
      ...listed,
      data: listed.data.map((entry, i) => {
        const ig = sandboxInstagramBusiness(call, owner, SANDBOX_PAGE.exec(pages[i]?.id ?? "")?.[1] ?? "");
        return ig && asked.has("instagram_business_account")
          ? { ...entry, instagram_business_account: igFields ? graphFields(igFields, ig, []) : { id: ig.id } }
          : entry;
      }),
    };
  };
  if (call.method === "GET" && path === "/me/accounts") {
    if (page) return unauthorized("facebook");
    return json(withInstagram(await sandboxPages(fbCall, user)));
  }
  if (path === "/me/businesses" || /^\/[^/]+-biz-\d\//.test(path)) {
    if (page) return unauthorized("facebook");
    return businessCall(fbCall, user, path, withInstagram);
  }
  const igPrefix = `/${owner.sub}-ig-`;
  const ig = path.startsWith(igPrefix)
    ? sandboxInstagramBusiness(call, owner, path.slice(igPrefix.length))
    : undefined;
  if (call.method === "GET" && ig) return json(graphFields(call.query.get("fields"), ig, ["username"]));
  return undefined;
}

/** Instagram and Threads: the long-lived exchange and extension, and /me. */
function metaLogin(prefix: "ig" | "th"): Handler {
  return async (call) => {
    if (prefix === "ig") {
      const facebookUser = await liveToken(call.env, bearer(call), "at", "facebook", call.now);
      if (facebookUser) return facebookLoginCall(call, facebookUser);
    }
    if (call.method !== "GET") return undefined;
    const path = call.path.replace(/^\/v\d+(?:\.\d+)?(?=\/)/, "");
    if (path === "/access_token") {
      if (call.query.get("grant_type") !== `${prefix}_exchange_token`)
        return send(graphWrongGrantType(`${prefix}_exchange_token`, randomToken(9)));
      if (!(await sandboxClient(SANDBOX_CLIENT_ID, call.query.get("client_secret"))))
        return send(graphBadClient(randomToken(9)));
      return longLived(call, call.query.get("access_token"), "short", false);
    }
    if (path === "/refresh_access_token") {
      if (call.query.get("grant_type") !== `${prefix}_refresh_token`)
        return send(graphWrongGrantType(`${prefix}_refresh_token`, randomToken(9)));
      return longLived(call, call.query.get("access_token"), "long", prefix === "ig");
    }
    if (path !== "/me") return undefined;
    const user = await who(call);
    if (!user) return unauthorized(call.platform);
    const profile = profileOf(call, user);
    const fields = call.query.get("fields");
    return json(
      prefix === "ig"
        ? instagramMe(
            { ...profile, accountType: "Business", counts: { followers: 0, follows: 0, media: 0 } },
            fields,
          )
        : threadsMe({ ...profile, biography: "" }, fields),
    );
  };
}

/** Meta issues system-user tokens as opaque strings starting EAA; the sandbox accepts any of that shape. */
const SYSTEM_USER_TOKEN = /^EAA[A-Za-z0-9]{16,}$/;

/** The WhatsApp Business Account a sandbox Facebook user shares through Embedded Signup: one WABA, one number. */
async function sandboxWhatsAppBusiness(user: { sub: string }): Promise<WireWhatsAppBusiness> {
  const numeric = async (label: string, base: number) =>
    String(base + (Number.parseInt((await sha256Hex(`${user.sub}:${label}`)).slice(0, 8), 16) % 80_000_000));
  const phoneId = await numeric("wa-phone-1", 100_000_000_000_000);
  return {
    id: await numeric("waba-1", 200_000_000_000_000),
    name: SANDBOX_SPECS.whatsapp.displayName,
    numbers: [
      {
        id: phoneId,
        displayNumber: `+1 555-010-${phoneId.slice(-4)}`,
        verifiedName: SANDBOX_SPECS.whatsapp.displayName,
      },
    ],
  };
}

/** GET /debug_token, with the app's token (client id|secret): what a sandbox Facebook token holds. */
async function debugToken(call: Call): Promise<Response> {
  const [clientId, clientSecret] = (call.query.get("access_token") ?? "").split("|");
  if (!(await sandboxClient(clientId ?? null, clientSecret ?? null)))
    return send(graphBadClient(randomToken(9)));
  const user = await liveToken(call.env, call.query.get("input_token"), "at", "facebook", call.now);
  if (!user) return send(graphInvalidToken(randomToken(9), 400));
  const waba = await sandboxWhatsAppBusiness(user);
  return json(
    whatsappDebugToken({ appId: SANDBOX_CLIENT_ID, userId: user.sub, wabaIds: [waba.id], scopes: user.s }),
  );
}

/**
 * Graph calls on a WhatsApp Business Account with an Embedded Signup token (a Facebook one here):
 * the WABA, its numbers, one number, and subscribing the app to its webhooks or ending that.
 */
async function whatsappBusinessCall(call: Call, user: GrantClaims): Promise<Response | undefined> {
  const path = call.path.replace(/^\/v\d+(?:\.\d+)?(?=\/)/, "");
  const waba = await sandboxWhatsAppBusiness(user);
  const number = waba.numbers.find((n) => path === `/${n.id}`);
  if (!path.startsWith(`/${waba.id}`) && !number) return undefined;
  if (!user.s.includes("whatsapp_business_management")) return graphError(403, 200, "Permissions error");
  const fields = call.query.get("fields");
  if (call.method === "GET" && path === `/${waba.id}`) return json(whatsappBusinessNode(waba, fields));
  if (call.method === "GET" && path === `/${waba.id}/phone_numbers`)
    return json(whatsappPhoneNumberList(waba, fields));
  if ((call.method === "POST" || call.method === "DELETE") && path === `/${waba.id}/subscribed_apps`)
    return json({ success: true });
  if (call.method === "GET" && number) return json(whatsappPhoneNumber(number, fields));
  return undefined;
}

/** Graph's answer to a node the token cannot reach or that does not exist. */
const unsupportedRequest = (method: string) =>
  graphError(
    400,
    100,
    `Unsupported ${method.toLowerCase()} request. Object does not exist, cannot be loaded due to missing permissions, or does not support this operation.`,
  );

const whatsapp: Handler = async (call) => {
  const facebookUser = await liveToken(call.env, bearer(call), "at", "facebook", call.now);
  if (facebookUser)
    return (await whatsappBusinessCall(call, facebookUser)) ?? unsupportedRequest(call.method);
  if (call.method !== "GET") return undefined;
  const path = call.path.replace(/^\/v\d+(?:\.\d+)?(?=\/)/, "");
  const id = /^\/(\d{1,20})$/.exec(path)?.[1];
  if (!id) return graphError(400, 100, "Unsupported get request.");
  if (!SYSTEM_USER_TOKEN.test(bearer(call) ?? "")) return unauthorized(call.platform);
  const phone = {
    id,
    displayNumber: `+1 555-010-${id.slice(-4).padStart(4, "0")}`,
    verifiedName: SANDBOX_SPECS.whatsapp.displayName,
  };
  return json(whatsappPhoneNumber(phone, call.query.get("fields")));
};

const mastodon: Handler = async (call) => {
  if (call.method === "POST" && call.path === "/api/v1/apps") {
    const app = {
      id: "1",
      clientId: SANDBOX_CLIENT_ID,
      clientSecret: SANDBOX_CLIENT_SECRET,
      vapidKey: "",
    };
    const answer = mastodonApp(await readInput(call.request), app);
    return "refused" in answer ? send(answer.refused) : json(answer.body);
  }
  if (call.method !== "GET" || call.path !== "/api/v1/accounts/verify_credentials") return undefined;
  const user = await who(call);
  if (!user) return unauthorized(call.platform);
  return json(
    mastodonAccount({
      ...profileOf(call, user),
      url: `${call.publicUrl}/sandbox/mastodon/@${encodeURIComponent(user.u)}`,
      createdAt: isoAt(user.iat),
      bot: false,
      note: "",
      language: "en",
    }),
  );
};

async function readInput(request: Request): Promise<Record<string, string | undefined>> {
  const type = request.headers.get("content-type") ?? "";
  try {
    if (type.includes("json")) {
      const body = (await request.json()) as Record<string, unknown>;
      return Object.fromEntries(
        Object.entries(body ?? {}).map(([k, v]) => [k, typeof v === "string" ? v : undefined]),
      );
    }
    return Object.fromEntries(new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer())));
  } catch {
    return {};
  }
}

const xrpcError = (status: number, error: string, message: string) =>
  send(xrpcEnvelope(status, error, message));

const bluesky: Handler = async (call) => {
  const network = await handleAtproto(call.env, call.request, call.path, call.query, call.now);
  if (network) return network;
  const nsid = /^\/xrpc\/([A-Za-z0-9.]+)$/.exec(call.path)?.[1];
  if (!nsid) return undefined;
  const session = (user: { sub: string; u: string }, accessJwt: string, refreshJwt: string) =>
    json(blueskySession({ did: user.sub, handle: user.u, accessJwt, refreshJwt }));

  if (call.method === "POST" && nsid === "com.atproto.server.createSession") {
    const input = await readInput(call.request);
    if (!input.identifier || !input.password)
      return xrpcError(400, "InvalidRequest", "identifier and password are required");
    const user = await sandboxUser("bluesky", input.identifier);
    if (!user) return xrpcError(401, "AuthenticationRequired", "Invalid identifier or password");
    const base = grantBase("bluesky", user, ["com.atproto.appPass"], call.now);
    const issued = await issueTokens(call.env, base, "authorization_code", call.now, { refresh: true });
    return session(base, issued.accessToken, issued.refreshToken as string);
  }
  if (call.method === "POST" && nsid === "com.atproto.server.refreshSession") {
    const result = await useRefreshToken(call.env, "bluesky", bearer(call), call.now);
    if ("refused" in result) {
      return result.refused === "invalid"
        ? xrpcError(400, "ExpiredToken", "Token has expired")
        : xrpcError(400, "ExpiredToken", "Token has been revoked");
    }
    const claims = await verifyToken(call.env, result.issued.accessToken, "at", "bluesky", call.now);
    if (!claims) return xrpcError(500, "InternalServerError", "Internal Server Error");
    return session(claims, result.issued.accessToken, result.issued.refreshToken as string);
  }
  if (call.method === "POST" && nsid === "com.atproto.server.deleteSession") {
    const claims = await liveToken(call.env, bearer(call), "rt", "bluesky", call.now);
    if (!claims) return xrpcError(401, "InvalidToken", "Token could not be verified");
    await revokeGrant(call.env, claims, call.now);
    return new Response(null, { status: 200 });
  }
  if (call.method !== "GET") return undefined;
  // OAuth tokens are DPoP-bound: each call carries a proof, checked with the server's nonce.
  const { user, refusal } = await xrpcCaller(call.env, call.request, call.now);
  if (refusal) return refusal;
  if (nsid === "com.atproto.server.getSession") {
    if (!user) return unauthorized("bluesky");
    return json(blueskyGetSession({ did: user.sub, handle: user.u }));
  }
  if (nsid === "app.bsky.actor.getProfile") {
    if (!user) return unauthorized("bluesky");
    const actor = call.query.get("actor");
    if (!actor) return xrpcError(400, "InvalidRequest", 'Error: Params must have the property "actor"');
    if (actor !== user.sub && actor.replace(/^@/, "").toLowerCase() !== user.u)
      return xrpcError(400, "InvalidRequest", "Profile not found");
    return json(
      blueskyProfile({
        did: user.sub,
        handle: user.u,
        displayName: nameOf(call, user),
        avatar: avatarOf(call, user),
        description: "",
        counts: { followers: 0, follows: 0, posts: 0 },
        indexedAt: isoAt(user.iat),
        createdAt: isoAt(user.iat),
      }),
    );
  }
  return undefined;
};

const telegram: Handler = async (call) => {
  const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(call.path);
  if (!match) return send(telegramNotFound());
  const [, token, method] = match as unknown as [string, string, string];
  if (!isBotToken(token)) return send(telegramUnauthorized());
  if (method !== "getMe") return send(telegramNotFound());
  const id = token.slice(0, token.indexOf(":"));
  return json(telegramGetMe({ id: Number(id), firstName: "Sandbox Bot", username: `sandbox_${id}_bot` }));
};

const HANDLERS: Record<Platform, Handler> = {
  twitter,
  linkedin,
  youtube,
  googlebusiness,
  reddit,
  pinterest,
  facebook,
  instagram: metaLogin("ig"),
  threads: metaLogin("th"),
  whatsapp,
  tiktok,
  snapchat,
  mastodon,
  bluesky,
  telegram,
};

/** Answers a call to `<apiBaseUrl><path>` the way the platform's API would, for sandbox tokens. */
export async function handleApi(
  env: Env,
  platform: Platform,
  request: Request,
  path: string,
  now: number,
): Promise<Response> {
  const url = new URL(request.url);
  const call: Call = {
    env,
    platform,
    request,
    method: request.method,
    path: path || "/",
    query: url.searchParams,
    now,
    publicUrl: getConfig(env).publicUrl,
  };
  return (
    (await HANDLERS[platform](call)) ??
    (await handleContent(env, platform, request, call.path, now)) ??
    notServed(platform, `${request.method} ${call.path.slice(0, 200)}`)
  );
}
