import * as oauth from "oauth4webapi";
import { ProviderError, retryAfterMs } from "./http";
import type { Grant, OAuthSettings, PlatformContext, PlatformModule, TokenSet } from "./types";

function authorizationServer(ctx: PlatformContext): oauth.AuthorizationServer {
  const { authorizationUrl, tokenUrl, revocationUrl } = ctx.endpoints;
  if (!tokenUrl) throw new ProviderError("invalid", `${ctx.platform} has no token endpoint`);
  return {
    issuer: new URL(tokenUrl).origin,
    authorization_endpoint: authorizationUrl,
    token_endpoint: tokenUrl,
    revocation_endpoint: revocationUrl,
  };
}

/**
 * HTTP Basic over the raw `id:secret`, as X, Reddit and Pinterest document it. (oauth4webapi's
 * ClientSecretBasic form-encodes both first, per RFC 6749, and those platforms do not decode.)
 */
function rawBasic(clientSecret: string): oauth.ClientAuth {
  return (_as, client, _body, headers) => {
    headers.set("authorization", `Basic ${btoa(`${client.client_id}:${clientSecret}`)}`);
  };
}

function clientAuth(ctx: PlatformContext, settings: OAuthSettings): oauth.ClientAuth {
  return settings.clientAuth === "basic"
    ? rawBasic(ctx.clientSecret)
    : oauth.ClientSecretPost(ctx.clientSecret);
}

/**
 * Puts oauth4webapi in front of platforms that bend the standard, without touching the protocol:
 * 5xx/429 become transient errors (with Retry-After), an error sent with HTTP 200 (TikTok) becomes
 * a 400, a missing token_type (Instagram, LinkedIn) is read as bearer, and an ID token we do not
 * use is dropped (identity comes from the profile call).
 */
function protocolFetch(ctx: PlatformContext): (url: string, init: RequestInit) => Promise<Response> {
  return async (url, init) => {
    const res = await ctx.fetch(url, init);
    if (res.status === 429 || res.status >= 500) {
      throw new ProviderError("transient", `Token endpoint answered HTTP ${res.status}`, {
        status: res.status,
        retryAfterMs: retryAfterMs(res.headers.get("retry-after"), ctx.now),
      });
    }
    if (!res.headers.get("content-type")?.includes("json")) return res;
    let body: Record<string, unknown>;
    try {
      body = (await res.clone().json()) as Record<string, unknown>;
    } catch {
      return res;
    }
    if (!body || typeof body !== "object" || Array.isArray(body)) return res;
    let status = res.status;
    // Instagram wraps the token in {data: [...]}, TikTok in {data: {...}}.
    const wrapped = Array.isArray(body.data) ? body.data[0] : body.data;
    const data = (wrapped && typeof wrapped === "object" ? wrapped : null) as Record<string, unknown> | null;
    if (status === 200 && typeof body.error === "string" && !body.access_token) status = 400;
    if (status === 200 && !body.access_token && typeof data?.access_token === "string")
      Object.assign(body, data);
    // Meta's Graph error envelope on a token endpoint: a refused code or token, in OAuth's words.
    const graph =
      body.error && typeof body.error === "object" ? (body.error as Record<string, unknown>) : null;
    // Meta's Graph envelope and bodies like Pinterest's {code, message}: a refusal, in OAuth's words.
    if ((graph || typeof body.error !== "string") && status >= 400 && status < 500) {
      const message = graph?.message ?? body.message ?? body.error_description;
      body.error = "invalid_grant";
      body.error_description = typeof message === "string" ? message : "Refused";
    }
    // Instagram reports granted scopes as `permissions` (an array or a comma-separated string).
    if (body.scope === undefined && body.permissions !== undefined) {
      body.scope = Array.isArray(body.permissions) ? body.permissions.join(",") : body.permissions;
    }
    if (status === 200 && typeof body.access_token === "string" && typeof body.token_type !== "string") {
      body.token_type = "bearer";
    }
    delete body.id_token;
    return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
  };
}

function requestOptions(ctx: PlatformContext, settings: OAuthSettings) {
  return {
    [oauth.allowInsecureRequests]: ctx.allowHttp,
    [oauth.customFetch]: protocolFetch(ctx),
    additionalParameters: settings.tokenParams?.(ctx.clientId),
    headers: settings.headers?.(ctx.clientId),
  };
}

/** Maps what oauth4webapi throws to a ProviderError; OAuth error responses are definite refusals. */
function classify(err: unknown, what: string): ProviderError {
  if (err instanceof ProviderError) return err;
  if (err instanceof oauth.ResponseBodyError) {
    const description = err.error_description ? `: ${err.error_description.slice(0, 200)}` : "";
    return new ProviderError("refused", `${what} refused (${err.error})${description}`, {
      status: err.status,
      code: err.error,
    });
  }
  if (err instanceof oauth.AuthorizationResponseError) {
    return new ProviderError("refused", `${what} refused (${err.error})`, { code: err.error });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ProviderError("invalid", `${what} failed: ${message.slice(0, 200)}`);
}

function toTokenSet(response: oauth.TokenEndpointResponse, now: number, settings: OAuthSettings): TokenSet {
  const raw = response as Record<string, unknown>;
  const refreshIn = Number(raw.refresh_token_expires_in ?? raw.refresh_expires_in);
  const scope = typeof response.scope === "string" ? response.scope : undefined;
  const separator = scope?.includes(",") ? "," : (settings.scopeSeparator ?? " ");
  return {
    accessToken: response.access_token,
    refreshToken: response.refresh_token ?? null,
    expiresAt: typeof response.expires_in === "number" ? now + response.expires_in * 1000 : null,
    refreshTokenExpiresAt: Number.isFinite(refreshIn) && refreshIn > 0 ? now + refreshIn * 1000 : null,
    scopes: scope
      ?.split(separator)
      .map((s) => s.trim())
      .filter(Boolean),
  };
}

export interface AuthorizeRequest {
  state: string;
  codeVerifier: string;
  redirectUri: string;
  forcePrompt?: boolean;
  pageMode?: boolean;
}

/** The URL to send the user to: client id, redirect URI, scopes, state, and PKCE S256 where supported. */
export async function buildAuthorizationUrl(
  ctx: PlatformContext,
  module: PlatformModule,
  req: AuthorizeRequest,
): Promise<string> {
  const settings = module.oauth;
  if (!settings || !ctx.endpoints.authorizationUrl)
    throw new ProviderError("invalid", `${module.name} has no OAuth flow`);
  const url = new URL(ctx.endpoints.authorizationUrl);
  const scopes = req.pageMode && settings.pageScopes ? settings.pageScopes : settings.scopes;
  const params: Record<string, string> = {
    response_type: "code",
    [settings.clientIdParam ?? "client_id"]: ctx.clientId,
    redirect_uri: req.redirectUri,
    ...(ctx.loginConfigId
      ? { config_id: ctx.loginConfigId }
      : { scope: scopes.join(settings.scopeSeparator ?? " ") }),
    state: req.state,
    ...settings.authorizeParams,
    ...(req.forcePrompt ? settings.forcePromptParams : {}),
  };
  if (settings.pkce) {
    params.code_challenge = await oauth.calculatePKCECodeChallenge(req.codeVerifier);
    params.code_challenge_method = "S256";
  }
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  return url.toString();
}

/** Exchanges an authorization code (with the PKCE verifier where used), then lets the module finish the grant. */
export async function exchangeCode(
  ctx: PlatformContext,
  module: PlatformModule,
  input: { code: string; codeVerifier: string; redirectUri: string },
): Promise<TokenSet> {
  const settings = module.oauth;
  if (!settings) throw new ProviderError("invalid", `${module.name} has no OAuth flow`);
  const as = authorizationServer(ctx);
  const client: oauth.Client = { client_id: ctx.clientId };
  let tokens: TokenSet;
  try {
    const params = oauth.validateAuthResponse(
      as,
      client,
      new URLSearchParams({ code: input.code }),
      oauth.skipStateCheck,
    );
    const response = await oauth.authorizationCodeGrantRequest(
      as,
      client,
      clientAuth(ctx, settings),
      params,
      input.redirectUri,
      settings.pkce ? input.codeVerifier : oauth.nopkce,
      requestOptions(ctx, settings),
    );
    tokens = toTokenSet(
      await oauth.processAuthorizationCodeResponse(as, client, response),
      ctx.now,
      settings,
    );
  } catch (err) {
    throw classify(err, "Code exchange");
  }
  return module.finishGrant ? module.finishGrant(ctx, tokens) : tokens;
}

/** Refreshes a grant the way its platform does: the standard refresh grant unless the module has its own. */
export async function refreshGrant(
  ctx: PlatformContext,
  module: PlatformModule,
  grant: Grant,
): Promise<TokenSet> {
  if (module.refreshGrant) return module.refreshGrant(ctx, grant);
  return standardRefresh(ctx, module, grant);
}

/** OAuth's refresh_token grant at the token endpoint (for modules whose own refreshGrant falls back to it). */
export async function standardRefresh(
  ctx: PlatformContext,
  module: PlatformModule,
  grant: Grant,
): Promise<TokenSet> {
  const settings = module.oauth;
  if (!settings || !grant.refreshToken)
    throw new ProviderError("refused", "No refresh token is stored for this account");
  const as = authorizationServer(ctx);
  const client: oauth.Client = { client_id: ctx.clientId };
  try {
    const response = await oauth.refreshTokenGrantRequest(
      as,
      client,
      clientAuth(ctx, settings),
      grant.refreshToken,
      requestOptions(ctx, settings),
    );
    return toTokenSet(await oauth.processRefreshTokenResponse(as, client, response), ctx.now, settings);
  } catch (err) {
    throw classify(err, "Token refresh");
  }
}

/** RFC 7009 revocation at the platform's revocation endpoint. */
export async function revokeToken(
  ctx: PlatformContext,
  module: PlatformModule,
  token: string,
  hint?: string,
): Promise<void> {
  const settings = module.oauth;
  if (!settings) return;
  const as = authorizationServer(ctx);
  const client: oauth.Client = { client_id: ctx.clientId };
  try {
    const response = await oauth.revocationRequest(as, client, clientAuth(ctx, settings), token, {
      ...requestOptions(ctx, settings),
      additionalParameters: {
        ...settings.tokenParams?.(ctx.clientId),
        ...(hint ? { token_type_hint: hint } : {}),
      },
    });
    await oauth.processRevocationResponse(response);
  } catch (err) {
    throw classify(err, "Revocation");
  }
}
