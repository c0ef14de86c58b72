import { getConfig } from "../../lib/config";
import { randomToken } from "../../lib/crypto";
import type { Platform } from "../../lib/domain";
import { SECOND } from "../../lib/time";
import { isBotToken } from "../telegram";
import { businessAccounts, googleInvalidToken, youtubeChannelList } from "../wire/google";
import {
  facebookMe,
  facebookPermissions,
  graphBadClient,
  graphError as graphEnvelope,
  graphInvalidToken,
  graphWrongGrantType,
  instagramMe,
  longLivedToken,
  threadsMe,
  whatsappPhoneNumber,
} from "../wire/meta";
import type { WireError } from "../wire/wire";
import {
  avatarUrl,
  displayName,
  LONG_LIVED_TTL,
  SANDBOX_CLIENT_ID,
  SANDBOX_CLIENT_SECRET,
  SANDBOX_SPECS,
  sandboxUser,
} from "./sandbox.profiles";
import { grantBase, issueTokens, json, notServed, sandboxClient, useRefreshToken } from "./sandbox.service";
import { type GrantClaims, liveToken, revokeGrant, verifyToken } from "./sandbox.tokens";

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

const list = (value: string | null) =>
  (value ?? "")
    .split(",")
    .map((v) => v.trim())
    .filter(Boolean);

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

/** Each platform's answer to a missing, unknown, expired or revoked token. */
function unauthorized(platform: Platform): Response {
  switch (platform) {
    case "twitter":
      return json({ title: "Unauthorized", type: "about:blank", status: 401, detail: "Unauthorized" }, 401);
    case "linkedin":
      return json(
        {
          status: 401,
          serviceErrorCode: 65600,
          code: "INVALID_ACCESS_TOKEN",
          message: "Invalid access token",
        },
        401,
      );
    case "youtube":
    case "googlebusiness":
      return send(googleInvalidToken());
    case "reddit":
      return json({ message: "Unauthorized", error: 401 }, 401);
    case "pinterest":
      return json({ code: 2, message: "Authentication failed." }, 401);
    case "facebook":
    case "instagram":
    case "threads":
    case "whatsapp":
      return send(graphInvalidToken(randomToken(9)));
    case "tiktok":
      return json(
        {
          data: {},
          error: {
            code: "access_token_invalid",
            message: "The access token is invalid or not found in the request.",
            log_id: randomToken(12),
          },
        },
        401,
      );
    case "snapchat":
      return json(
        {
          request_status: "ERROR",
          request_id: randomToken(12),
          debug_message: "Unauthorized",
          display_message: "We're sorry, but the requested resource is not available at this time",
          error_code: "E3003",
        },
        401,
      );
    case "mastodon":
      return json({ error: "The access token is invalid" }, 401);
    case "bluesky":
      return json({ error: "InvalidToken", message: "Token could not be verified" }, 401);
    case "telegram":
      return json({ ok: false, error_code: 401, description: "Unauthorized" }, 401);
  }
}

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
  if (from === "short" && claims.l)
    return graphError(400, 100, "The token is already long-lived: extend it with the refresh endpoint");
  if (from === "long" && !claims.l)
    return graphError(
      400,
      100,
      "Only a long-lived token can be refreshed; exchange the short-lived one first",
    );
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
  const fields = list(call.query.get("user.fields"));
  const data: Record<string, unknown> = { id: user.sub, name: nameOf(call, user), username: user.u };
  if (fields.includes("profile_image_url")) data.profile_image_url = avatarOf(call, user);
  if (fields.includes("verified_type")) data.verified_type = "none";
  if (fields.includes("created_at")) data.created_at = isoAt(user.iat);
  return json({ data });
};

const linkedin: Handler = async (call) => {
  if (call.method !== "GET" || call.path !== "/v2/userinfo") return undefined;
  const user = await who(call);
  if (!user) return unauthorized(call.platform);
  if (!user.s.includes("openid")) {
    return json(
      {
        status: 403,
        serviceErrorCode: 100,
        code: "ACCESS_DENIED",
        message: "Not enough permissions to access: userinfo.GET.NO_VERSION",
      },
      403,
    );
  }
  const name = nameOf(call, user);
  const [given, ...family] = name.split(" ");
  return json({
    sub: user.sub,
    ...(user.s.includes("profile")
      ? {
          name,
          given_name: given,
          ...(family.length ? { family_name: family.join(" ") } : {}),
          picture: avatarOf(call, user),
          locale: { country: "US", language: "en" },
        }
      : {}),
    ...(user.s.includes("email") ? { email: `${user.u}@sandbox.invalid`, email_verified: true } : {}),
  });
};

const youtube: Handler = async (call) => {
  if (call.method !== "GET" || call.path !== "/youtube/v3/channels") return undefined;
  const user = await who(call);
  if (!user) return unauthorized(call.platform);
  const avatar = avatarOf(call, user);
  const channel = {
    id: user.sub,
    etag: randomToken(12),
    title: nameOf(call, user),
    description: "A channel of Switchboard's sandbox.",
    customUrl: `@${user.u.toLowerCase()}`,
    publishedAt: isoAt(user.iat),
    thumbnail: () => avatar,
  };
  return json(youtubeChannelList(call.query.get("mine") === "true" ? [channel] : [], randomToken(12)));
};

const googlebusiness: Handler = async (call) => {
  if (call.method !== "GET" || call.path !== "/v1/accounts") return undefined;
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
  if (!user.s.includes("identity")) return json({ message: "Forbidden", error: 403 }, 403);
  const avatar = avatarOf(call, user);
  return json({
    id: user.sub,
    name: user.u,
    icon_img: avatar,
    snoovatar_img: "",
    is_suspended: false,
    verified: true,
    has_verified_email: true,
    created_utc: user.iat,
    link_karma: 1,
    comment_karma: 1,
    subreddit: {
      title: nameOf(call, user),
      display_name_prefixed: `u/${user.u}`,
      icon_img: avatar,
      public_description: "",
      subscribers: 0,
      over_18: false,
    },
  });
};

const pinterest: Handler = async (call) => {
  if (call.method !== "GET" || call.path !== "/v5/user_account") return undefined;
  const user = await who(call);
  if (!user) return unauthorized(call.platform);
  return json({
    account_type: "BUSINESS",
    id: user.sub,
    username: user.u,
    business_name: nameOf(call, user),
    profile_image: avatarOf(call, user),
    website_url: "",
    about: "",
    board_count: 0,
    pin_count: 0,
    follower_count: 0,
    following_count: 0,
    monthly_views: 0,
  });
};

const snapchat: Handler = async (call) => {
  if (call.method !== "GET" || call.path !== "/v1/me") return undefined;
  const user = await who(call);
  if (!user) return unauthorized(call.platform);
  return json({
    request_status: "SUCCESS",
    request_id: randomToken(12),
    me: {
      id: user.sub,
      updated_at: isoAt(user.iat),
      created_at: isoAt(user.iat),
      display_name: nameOf(call, user),
      snapchat_username: user.u,
      organization_id: `${user.sub}-org`,
      member_status: "MEMBER",
    },
  });
};

const USER_INFO_FIELDS: Record<string, "user.info.basic" | "user.info.profile"> = {
  open_id: "user.info.basic",
  union_id: "user.info.basic",
  avatar_url: "user.info.basic",
  display_name: "user.info.basic",
  username: "user.info.profile",
  bio_description: "user.info.profile",
  profile_deep_link: "user.info.profile",
  is_verified: "user.info.profile",
};

const tiktok: Handler = async (call) => {
  if (call.method !== "GET" || call.path !== "/v2/user/info/") return undefined;
  const user = await who(call);
  if (!user) return unauthorized(call.platform);
  const logId = randomToken(12);
  const fields = list(call.query.get("fields"));
  const unknown = fields.find((field) => !(field in USER_INFO_FIELDS));
  if (!fields.length || unknown !== undefined) {
    return json(
      {
        data: {},
        error: { code: "invalid_params", message: "The fields parameter is invalid", log_id: logId },
      },
      400,
    );
  }
  const missing = fields
    .map((field) => USER_INFO_FIELDS[field])
    .find((scope) => !user.s.includes(scope ?? ""));
  if (missing) {
    return json(
      {
        data: {},
        error: {
          code: "scope_permission_missed",
          message: `The user did not authorize the scope required for completing this request: ${missing}`,
          log_id: logId,
        },
      },
      401,
    );
  }
  const all: Record<string, unknown> = {
    open_id: user.sub,
    union_id: `${user.sub}-union`,
    avatar_url: avatarOf(call, user),
    display_name: nameOf(call, user),
    username: user.u,
    bio_description: "",
    profile_deep_link: `${call.publicUrl}/sandbox/tiktok/@${encodeURIComponent(user.u)}`,
    is_verified: false,
  };
  return json({
    data: { user: Object.fromEntries(fields.map((field) => [field, all[field]])) },
    error: { code: "ok", message: "", log_id: logId },
  });
};

const facebook: Handler = async (call) => {
  const path = call.path.replace(/^\/v\d+(?:\.\d+)?(?=\/)/, "");
  if (call.method === "GET" && path === "/oauth/access_token") {
    if (call.query.get("grant_type") !== "fb_exchange_token")
      return send(graphWrongGrantType("fb_exchange_token", randomToken(9)));
    if (!(await sandboxClient(call.query.get("client_id"), call.query.get("client_secret"))))
      return send(graphBadClient(randomToken(9)));
    return longLived(call, call.query.get("fb_exchange_token"), "short", false);
  }
  if (path !== "/me" && path !== "/me/permissions") return undefined;
  const user = await who(call);
  if (!user) return unauthorized(call.platform);
  if (call.method === "GET" && path === "/me")
    return json(facebookMe(profileOf(call, user), call.query.get("fields")));
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

/** Instagram and Threads: the long-lived exchange and extension, and /me. */
function metaLogin(prefix: "ig" | "th"): Handler {
  return async (call) => {
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

const whatsapp: Handler = async (call) => {
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
    const input = await readInput(call.request);
    const redirectUris = input.redirect_uris;
    if (!input.client_name || !redirectUris) {
      return json(
        { error: "Validation failed: Application name can't be blank, Redirect URI can't be blank" },
        422,
      );
    }
    return json({
      id: "1",
      name: input.client_name,
      website: input.website ?? null,
      scopes: (input.scopes ?? "read").split(/\s+/).filter(Boolean),
      redirect_uri: redirectUris,
      redirect_uris: redirectUris.split(/\s+/).filter(Boolean),
      vapid_key: "",
      client_id: SANDBOX_CLIENT_ID,
      client_secret: SANDBOX_CLIENT_SECRET,
      client_secret_expires_at: 0,
    });
  }
  if (call.method !== "GET" || call.path !== "/api/v1/accounts/verify_credentials") return undefined;
  const user = await who(call);
  if (!user) return unauthorized(call.platform);
  const avatar = avatarOf(call, user);
  return json({
    id: user.sub,
    username: user.u,
    acct: user.u,
    display_name: nameOf(call, user),
    locked: false,
    bot: false,
    discoverable: true,
    group: false,
    created_at: isoAt(user.iat),
    note: "",
    url: `${call.publicUrl}/sandbox/mastodon/@${encodeURIComponent(user.u)}`,
    avatar,
    avatar_static: avatar,
    header: "",
    header_static: "",
    followers_count: 0,
    following_count: 0,
    statuses_count: 0,
    last_status_at: null,
    emojis: [],
    fields: [],
    source: { privacy: "public", sensitive: false, language: "en", note: "", fields: [] },
  });
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

const xrpcError = (status: number, error: string, message: string) => json({ error, message }, status);

const bluesky: Handler = async (call) => {
  const nsid = /^\/xrpc\/([A-Za-z0-9.]+)$/.exec(call.path)?.[1];
  if (!nsid) return undefined;
  const session = (user: { sub: string; u: string }, accessJwt: string, refreshJwt: string) =>
    json({ did: user.sub, handle: user.u, accessJwt, refreshJwt, active: true });

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
  const user = await who(call);
  if (nsid === "com.atproto.server.getSession") {
    if (!user) return unauthorized("bluesky");
    return json({ did: user.sub, handle: user.u, active: true });
  }
  if (nsid === "app.bsky.actor.getProfile") {
    if (!user) return unauthorized("bluesky");
    const actor = call.query.get("actor");
    if (!actor) return xrpcError(400, "InvalidRequest", 'Error: Params must have the property "actor"');
    if (actor !== user.sub && actor.replace(/^@/, "").toLowerCase() !== user.u)
      return xrpcError(400, "InvalidRequest", "Profile not found");
    return json({
      did: user.sub,
      handle: user.u,
      displayName: nameOf(call, user),
      avatar: avatarOf(call, user),
      description: "",
      followersCount: 0,
      followsCount: 0,
      postsCount: 0,
      indexedAt: isoAt(user.iat),
      createdAt: isoAt(user.iat),
    });
  }
  return undefined;
};

const telegram: Handler = async (call) => {
  const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(call.path);
  if (!match) return json({ ok: false, error_code: 404, description: "Not Found" }, 404);
  const [, token, method] = match as unknown as [string, string, string];
  if (!isBotToken(token)) return unauthorized("telegram");
  if (method !== "getMe") return json({ ok: false, error_code: 404, description: "Not Found" }, 404);
  const id = token.slice(0, token.indexOf(":"));
  return json({
    ok: true,
    result: {
      id: Number(id),
      is_bot: true,
      first_name: "Sandbox Bot",
      username: `sandbox_${id}_bot`,
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
    },
  });
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
    (await HANDLERS[platform](call)) ?? notServed(platform, `${request.method} ${call.path.slice(0, 200)}`)
  );
}
