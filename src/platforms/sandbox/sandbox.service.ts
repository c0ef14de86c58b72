import { getConfig } from "../../lib/config";
import { randomToken, secretsEqual } from "../../lib/crypto";
import type { Platform } from "../../lib/domain";
import { toBase64Url, utf8 } from "../../lib/encoding";
import { MINUTE } from "../../lib/time";
import { MODULES } from "../modules";
import { tokenError } from "../wire/tokens";
import { consentPage, errorPage, PAGE_HEADERS } from "./sandbox.page";
import {
  type Issued,
  LONG_LIVED_TTL,
  refreshBehaviour,
  SANDBOX_CLIENT_ID,
  SANDBOX_CLIENT_SECRET,
  SANDBOX_SPECS,
  type SandboxUser,
  sandboxUser,
  tokenResponse,
} from "./sandbox.profiles";
import {
  GRANT_LIFETIME_MS,
  type GrantClaims,
  isRevoked,
  newTokenId,
  revokeGrant,
  seconds,
  signToken,
  spend,
  verifyToken,
} from "./sandbox.tokens";

/** Codes live five minutes; the consent page's signed request ten, like the connect state. */
export const CODE_TTL_MS = 5 * MINUTE;
export const REQUEST_TTL_MS = 10 * MINUTE;
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;
const MAX_STATE_LENGTH = 1024;

const NO_STORE = { "cache-control": "no-store" };

export const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  Response.json(body, { status, headers: { ...NO_STORE, ...headers } });

async function page(view: ReturnType<typeof consentPage>, status: number): Promise<Response> {
  return new Response(await view, {
    status,
    headers: { "content-type": "text/html; charset=UTF-8", ...PAGE_HEADERS },
  });
}

/** The one redirect URI the sandbox accepts per platform, as Switchboard registers with real providers. */
export function expectedRedirectUri(env: Env, platform: Platform): string {
  return `${getConfig(env).publicUrl}/v1/oauth/redirect/${platform}`;
}

/**
 * The platforms whose login variant signs in at `platform` (Instagram through Facebook Login at
 * Facebook), and `platform`'s own variants with an app of their own (TikTok Business), which the
 * sandbox serves on the platform's consent page.
 */
function variantsVia(platform: Platform) {
  return Object.values(MODULES).flatMap((module) =>
    Object.values(module.variants ?? {})
      .filter((variant) => variant.via === platform || (module.id === platform && variant.app))
      .map((variant) => ({ platform: module.id, scopes: variant.oauth.scopes })),
  );
}

/** The redirect URIs registered for `platform`'s app: its own, and those of the variants signing in through it. */
function registeredRedirects(env: Env, platform: Platform): string[] {
  return [platform, ...variantsVia(platform).map((v) => v.platform)].map((p) => expectedRedirectUri(env, p));
}

function redirectWith(target: string, params: Record<string, string | undefined>): Response {
  const url = new URL(target);
  for (const [name, value] of Object.entries(params))
    if (value !== undefined) url.searchParams.set(name, value);
  return new Response(null, { status: 302, headers: { location: url.toString(), ...NO_STORE } });
}

async function s256(verifier: string): Promise<string> {
  return toBase64Url(new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(verifier))));
}

/** An OAuth error from the token or revocation endpoint, in the platform's own envelope. */
export function oauthError(platform: Platform, status: number, error: string, description: string): Response {
  const answer = tokenError(platform, { status, error, description }, randomToken);
  return json(answer.body, answer.status);
}

const invalidGrant = (platform: Platform, description: string) =>
  oauthError(platform, 400, "invalid_grant", description);

/** GET authorize: validates the request, then the consent page. Client or redirect_uri problems never redirect. */
export async function authorizePage(
  env: Env,
  platform: Platform,
  params: URLSearchParams,
  now: number,
): Promise<Response> {
  const module = MODULES[platform];
  const settings = module.oauth;
  if (!settings) {
    return page(
      errorPage(
        "No sign-in page here",
        `${module.name} connects without OAuth: use POST /v1/accounts with its credentials.`,
      ),
      400,
    );
  }
  const clientParam = settings.clientIdParam ?? "client_id";
  if (params.get(clientParam) !== SANDBOX_CLIENT_ID) {
    return page(
      errorPage("Unknown client", `The sandbox only knows the client ${clientParam}=${SANDBOX_CLIENT_ID}.`),
      400,
    );
  }
  const redirectUri = params.get("redirect_uri") ?? "";
  if (!registeredRedirects(env, platform).includes(redirectUri)) {
    return page(
      errorPage(
        "Redirect URI not registered",
        `The sandbox sends ${module.name} users back only to ${expectedRedirectUri(env, platform)}.`,
      ),
      400,
    );
  }
  const state = params.get("state") ?? undefined;
  const fail = (error: string, description: string) =>
    redirectWith(redirectUri, { error, error_description: description, state });
  if (state !== undefined && state.length > MAX_STATE_LENGTH)
    return fail("invalid_request", "state is too long");
  if (params.get("response_type") !== "code")
    return fail("unsupported_response_type", "Only response_type=code is supported");
  const challenge = params.get("code_challenge");
  const method = params.get("code_challenge_method");
  if (challenge !== null || method !== null) {
    if (method !== "S256") return fail("invalid_request", "code_challenge_method must be S256");
    if (!challenge || !S256_CHALLENGE.test(challenge))
      return fail("invalid_request", "code_challenge must be a base64url SHA-256 digest");
  }
  const scopes = (params.get("scope") ?? "").split(/[\s,]+/).filter(Boolean);
  const spec = SANDBOX_SPECS[platform];
  const known = new Set([
    ...settings.scopes,
    ...(settings.pageScopes ?? []),
    ...variantsVia(platform).flatMap((v) => v.scopes),
    ...(spec.otherScopes ?? []),
  ]);
  const unknown = scopes.find((scope) => !known.has(scope));
  if (unknown !== undefined) return fail("invalid_scope", `Unknown scope: ${unknown.slice(0, 100)}`);

  const offline = spec.offline ? spec.offline(params, scopes) : true;
  const request = await signToken(env, {
    k: "req",
    p: platform,
    j: newTokenId(),
    s: [...new Set(scopes)],
    ...(state !== undefined ? { st: state } : {}),
    ...(challenge ? { c: challenge } : {}),
    ...(offline ? { o: 1 as const } : {}),
    ...(redirectUri !== expectedRedirectUri(env, platform) ? { ru: redirectUri } : {}),
    iat: seconds(now),
    exp: seconds(now + REQUEST_TTL_MS),
  });
  return page(consentView(platform, request, [...new Set(scopes)], spec.username), 200);
}

function consentView(
  platform: Platform,
  request: string,
  scopes: string[],
  username: string,
  error?: string,
) {
  return consentPage({
    platformName: MODULES[platform].name,
    clientId: SANDBOX_CLIENT_ID,
    scopes,
    request,
    username,
    usernameHint: "Type another username to sign in as a different sandbox account.",
    error,
  });
}

/** POST authorize: the person's decision. Approve → code and state; Deny → access_denied and state. */
export async function decide(
  env: Env,
  platform: Platform,
  form: { request?: string; decision?: string; username?: string },
  now: number,
): Promise<Response> {
  const request = await verifyToken(env, form.request, "req", platform, now);
  if (!request) {
    return page(
      errorPage("This sign-in request has expired", "Go back to the app and start connecting again."),
      400,
    );
  }
  const redirectUri = request.ru ?? expectedRedirectUri(env, platform);
  if (form.decision === "deny") {
    return redirectWith(redirectUri, {
      error: "access_denied",
      error_description: "The user denied the request",
      state: request.st,
    });
  }
  if (form.decision !== "approve") return page(errorPage("Nothing decided", "Choose Approve or Deny."), 400);
  const user = await sandboxUser(platform, form.username ?? "");
  if (!user) {
    return page(
      consentView(
        platform,
        form.request as string,
        request.s,
        (form.username ?? "").slice(0, 253),
        platform === "bluesky"
          ? "A handle looks like alice.bsky.social."
          : "A username has 1–30 letters, digits, _ . or - (and starts with a letter, digit or _).",
      ),
      400,
    );
  }
  const code = await signToken(env, {
    ...grantBase(platform, user, request.s, now),
    k: "code",
    j: newTokenId(),
    iat: seconds(now),
    exp: seconds(now + CODE_TTL_MS),
    ...(request.c ? { c: request.c } : {}),
    ...(request.o ? { o: 1 as const } : {}),
    ...(request.ru ? { ru: request.ru } : {}),
  });
  return redirectWith(redirectUri, { code, state: request.st });
}

/** What every token of a new grant shares. */
export function grantBase(
  platform: Platform,
  user: SandboxUser,
  scopes: string[],
  now: number,
): Pick<GrantClaims, "p" | "g" | "u" | "sub" | "s" | "ge"> {
  return {
    p: platform,
    g: newTokenId(),
    u: user.username,
    sub: user.id,
    s: scopes,
    ge: seconds(now + GRANT_LIFETIME_MS),
  };
}

/**
 * Mints an access token (and a refresh token when asked) for the grant `base` belongs to. `long`:
 * a Meta long-lived token. Lifetimes are the platform's, capped at the grant's end.
 */
export async function issueTokens(
  env: Env,
  base: Pick<GrantClaims, "p" | "g" | "u" | "sub" | "s" | "ge" | "cnf">,
  grantType: Issued["grantType"],
  now: number,
  options: { refresh: boolean; long?: boolean },
): Promise<Issued> {
  const spec = SANDBOX_SPECS[base.p];
  const iat = seconds(now);
  const ttl = options.long ? LONG_LIVED_TTL : spec.accessTtl;
  const accessExp = ttl === null ? base.ge : Math.min(iat + ttl, base.ge);
  const common = {
    p: base.p,
    g: base.g,
    u: base.u,
    sub: base.sub,
    s: base.s,
    iat,
    ge: base.ge,
    // A DPoP-bound grant stays bound to its key through every refresh.
    ...(base.cnf ? { cnf: base.cnf } : {}),
  };
  const accessToken = await signToken(env, {
    ...common,
    k: "at",
    j: newTokenId(),
    exp: accessExp,
    ...(options.long ? { l: 1 as const } : {}),
  });
  const refreshToken = options.refresh
    ? await signToken(env, {
        ...common,
        k: "rt",
        j: newTokenId(),
        exp: spec.refreshTtl ? Math.min(iat + spec.refreshTtl, base.ge) : base.ge,
      })
    : undefined;
  return {
    grantType,
    accessToken,
    accessTtl: ttl === null ? null : accessExp - iat,
    refreshToken,
    refreshTtl: refreshToken ? spec.refreshTtl : undefined,
    scopes: base.s,
    userId: base.sub,
    now,
  };
}

/**
 * Spends a refresh token the platform's way: a rotating one once (a replay revokes the whole grant),
 * a non-rotating one as often as wanted. Answers the new tokens, or why not.
 */
export async function useRefreshToken(
  env: Env,
  platform: Platform,
  token: string | null | undefined,
  now: number,
): Promise<{ issued: Issued } | { refused: "invalid" | "revoked" | "reused" }> {
  const behaviour = refreshBehaviour(platform);
  const claims = await verifyToken(env, token, "rt", platform, now);
  if (!claims || behaviour === "none") return { refused: "invalid" };
  if (await isRevoked(env, claims)) return { refused: "revoked" };
  if (behaviour === "rotating" && !(await spend(env, claims, now))) {
    await revokeGrant(env, claims, now);
    return { refused: "reused" };
  }
  const issued = await issueTokens(env, claims, "refresh_token", now, { refresh: behaviour === "rotating" });
  return { issued };
}

const REFUSALS = {
  invalid: "The refresh token is invalid or has expired",
  revoked: "The grant has been revoked",
  reused: "The refresh token was already used; the whole grant is now revoked",
} as const;

/** The client credentials presented: HTTP Basic, else the form (TikTok names the id client_key). */
function presentedClient(
  platform: Platform,
  headers: Headers,
  form: URLSearchParams,
): { id: string; secret: string } | undefined {
  const authorization = headers.get("authorization");
  if (authorization && /^basic /i.test(authorization)) {
    try {
      const decoded = atob(authorization.slice(6).trim());
      const colon = decoded.indexOf(":");
      return colon < 0
        ? { id: decoded, secret: "" }
        : { id: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
    } catch {
      return { id: "", secret: "" };
    }
  }
  const id = form.get(platform === "tiktok" ? "client_key" : "client_id");
  const secret = form.get("client_secret");
  if (id === null && secret === null) return undefined;
  return { id: id ?? "", secret: secret ?? "" };
}

function decoded(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, " "));
  } catch {
    return value;
  }
}

/** Raw Basic (X, Reddit, Pinterest) and RFC 6749's form-encoded Basic are both accepted. */
async function clientValid(client: { id: string; secret: string }): Promise<boolean> {
  const idOk = client.id === SANDBOX_CLIENT_ID || decoded(client.id) === SANDBOX_CLIENT_ID;
  const secretOk =
    (await secretsEqual(client.secret, SANDBOX_CLIENT_SECRET)) ||
    (await secretsEqual(decoded(client.secret), SANDBOX_CLIENT_SECRET));
  return idOk && secretOk;
}

/** Whether the request carries the sandbox client's credentials (Meta's GET exchanges pass them as query). */
export async function sandboxClient(id: string | null, secret: string | null): Promise<boolean> {
  return clientValid({ id: id ?? "", secret: secret ?? "" });
}

/** POST token: authorization_code and refresh_token grants. */
export async function token(
  env: Env,
  platform: Platform,
  headers: Headers,
  form: URLSearchParams,
  now: number,
): Promise<Response> {
  if (!MODULES[platform].oauth) return notServed(platform);
  const client = presentedClient(platform, headers, form);
  if (!client || !(await clientValid(client)))
    return oauthError(platform, 401, "invalid_client", "Client authentication failed");

  const grantType = form.get("grant_type");
  if (grantType === "authorization_code") {
    const code = await verifyToken(env, form.get("code"), "code", platform, now);
    if (!code) return invalidGrant(platform, "The authorization code is invalid or has expired");
    // Spent before any other check: a code gets one attempt, and a replay revokes what it issued.
    if (!(await spend(env, code, now))) {
      await revokeGrant(env, code, now);
      return invalidGrant(platform, "The authorization code was already used");
    }
    if (form.get("redirect_uri") !== (code.ru ?? expectedRedirectUri(env, platform)))
      return invalidGrant(platform, "redirect_uri does not match the authorization request");
    const verifier = form.get("code_verifier");
    if (code.c) {
      if (!verifier || !VERIFIER.test(verifier) || (await s256(verifier)) !== code.c)
        return invalidGrant(
          platform,
          "PKCE verification failed: code_verifier does not match code_challenge",
        );
    } else if (verifier !== null) {
      return invalidGrant(
        platform,
        "code_verifier sent, but the authorization request had no code_challenge",
      );
    }
    const refresh = code.o === 1 && refreshBehaviour(platform) !== "none";
    const issued = await issueTokens(env, code, "authorization_code", now, { refresh });
    return json(tokenResponse(platform, issued));
  }
  if (grantType === "refresh_token") {
    const result = await useRefreshToken(env, platform, form.get("refresh_token"), now);
    if ("refused" in result) return invalidGrant(platform, REFUSALS[result.refused]);
    return json(tokenResponse(platform, result.issued));
  }
  return oauthError(
    platform,
    400,
    "unsupported_grant_type",
    "grant_type must be authorization_code or refresh_token",
  );
}

const GOOGLE: readonly Platform[] = ["youtube", "googlebusiness"];

/** POST revoke: revoking any token of a grant revokes the grant. Google wants no client authentication. */
export async function revoke(
  env: Env,
  platform: Platform,
  headers: Headers,
  form: URLSearchParams,
  now: number,
): Promise<Response> {
  if (!MODULES[platform].oauth) return notServed(platform);
  const google = GOOGLE.includes(platform);
  const client = presentedClient(platform, headers, form);
  if (client ? !(await clientValid(client)) : !google)
    return oauthError(platform, 401, "invalid_client", "Client authentication failed");
  const value = form.get("token");
  const claims =
    (await verifyToken(env, value, "at", platform, now, { allowExpired: true })) ??
    (await verifyToken(env, value, "rt", platform, now, { allowExpired: true }));
  if (claims) await revokeGrant(env, claims, now);
  else if (google)
    return json({ error: "invalid_token", error_description: "Token expired or revoked" }, 400);
  // RFC 7009: an unknown token is answered like a revoked one.
  switch (platform) {
    case "twitter":
      return json({ revoked: true });
    case "reddit":
      return new Response(null, { status: 204 });
    case "mastodon":
    case "youtube":
    case "googlebusiness":
      return json({});
    default:
      return new Response(null, { status: 200, headers: NO_STORE });
  }
}

export function notServed(platform: Platform, what = "This endpoint"): Response {
  return json({ error: "not_found", message: `${what} is not part of the ${platform} sandbox` }, 404);
}
