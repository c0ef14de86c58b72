import type { Platform } from "../lib/domain";
import type { AtprotoClient } from "./atproto/client";

/** The endpoints a deployment may override per platform through PROVIDER_OVERRIDES. */
export interface Endpoints {
  authorizationUrl?: string;
  tokenUrl?: string;
  revocationUrl?: string;
  /** Origin (and base path) of the platform API used for profile, test and data calls. */
  apiBaseUrl: string;
}

/** AT Protocol (Bluesky) only: a server resolving handles and DIDs (com.atproto.identity.*) instead of DNS and the PLC directory. */
export interface ResolverEndpoint {
  resolverUrl?: string;
}

/**
 * How a platform's tokens stay alive, read by the shared refresh code:
 * - rotating: each refresh returns a new single-use refresh token; using one twice kills the grant.
 * - non-rotating: the refresh token stays valid and may be reused.
 * - extend-in-place: the access token itself is exchanged for a fresh one while still valid and at
 *   least `minAgeMs` old (Instagram, Threads); once expired it cannot be revived.
 * - none: nothing to refresh; the token lives until revoked (or expires and needs a reconnect).
 */
export type RefreshModel =
  | { kind: "rotating"; leadMs: number }
  | { kind: "non-rotating"; leadMs: number }
  | { kind: "extend-in-place"; leadMs: number; minAgeMs: number }
  | { kind: "none" };

export interface OAuthSettings {
  scopes: readonly string[];
  /** LinkedIn page mode asks for these instead. */
  pageScopes?: readonly string[];
  scopeSeparator?: " " | ",";
  /** PKCE S256 is sent when the platform supports it. */
  pkce: boolean;
  clientAuth: "basic" | "post";
  /** Name of the client id parameter on the authorization URL (TikTok: client_key). */
  clientIdParam?: string;
  /** Sent on every authorization URL (e.g. Google's access_type=offline). */
  authorizeParams?: Record<string, string>;
  /** Sent when the caller asks for forcePrompt (the consent screen shown again). */
  forcePromptParams?: Record<string, string>;
  /** Sent with every token request, for platforms that want more than the standard. */
  tokenParams?: (clientId: string) => Record<string, string>;
  /** Sent with every token request (Reddit wants its own User-Agent). */
  headers?: (clientId: string) => Record<string, string>;
}

/** What Switchboard holds of a grant; secrets are encrypted before they touch D1. */
export interface TokenSet {
  accessToken: string;
  refreshToken?: string | null;
  /** Absolute expiry in epoch ms; null when the platform says the token does not expire. */
  expiresAt: number | null;
  refreshTokenExpiresAt?: number | null;
  scopes?: string[];
  /** Provider extras kept encrypted with the tokens (page tokens, instance, DPoP keys…). */
  extras?: Record<string, unknown>;
}

export interface Profile {
  platformUserId: string;
  username: string | null;
  displayName: string | null;
  avatarUrl: string | null;
  accountType: string | null;
  /** The page the grant itself names (an Embedded Signup WABA with one number): selected at connect. */
  page?: { id: string; name: string | null };
}

/** A stored grant as the platform code sees it: tokens decrypted, extras parsed. */
export interface Grant {
  accessToken: string;
  refreshToken: string | null;
  extras: Record<string, unknown>;
  /** When the access token expires and when it was issued (epoch ms), where known. */
  expiresAt?: number | null;
  issuedAt?: number | null;
}

/** Everything a platform module may use at run time. */
export interface PlatformContext {
  platform: Platform;
  endpoints: Required<Pick<Endpoints, "apiBaseUrl">> & Endpoints & ResolverEndpoint;
  clientId: string;
  clientSecret: string;
  /** Whether plain http:// is allowed (local fakes and sandboxes outside production). */
  allowHttp: boolean;
  /** fetch with the per-call timeout applied. */
  fetch: typeof fetch;
  now: number;
  /** Bluesky: the deployment's AT Protocol OAuth client (client_id URL, signing keys). */
  atproto?: AtprotoClient;
  /** Facebook: the deployment's Login for Business configuration, sent as config_id instead of scope. */
  loginConfigId?: string;
}

/** Input for a connection without OAuth (POST /v1/accounts). */
export interface CredentialsInput {
  platformAccountId?: string;
  accessToken?: string;
  refreshToken?: string;
  expiresAt?: number | null;
  extras?: Record<string, unknown>;
  /** Bluesky handle + app password. */
  identifier?: string;
  password?: string;
  /** Telegram: the bot token when the caller sent it as botToken (not accessToken), so errors name that field. */
  botToken?: string;
}

/** Platforms where every server is its own provider (Mastodon): one OAuth app registered per instance. */
export interface InstanceSupport {
  /** Canonical instance origin from user input; throws on anything that is not a plain public host. */
  normalise(input: string): string;
  endpoints(origin: string): Endpoints;
  register(
    ctx: PlatformContext,
    input: { redirectUri: string; scopes: readonly string[] },
  ): Promise<{ clientId: string; clientSecret: string }>;
}

/** A variant's own provider app: its default endpoints, PROVIDER_OVERRIDES key and secret names. */
export interface VariantApp {
  /** PROVIDER_OVERRIDES key, e.g. tiktok_business. */
  key: string;
  name: string;
  endpoints: Endpoints;
  secrets: { id: string; secret: string };
}

/**
 * Another way to connect the same platform, chosen by a connect option and remembered in the grant's
 * `extras.oauthVersion`. Its OAuth steps (authorize, code exchange, finishGrant) use either the `via`
 * platform's endpoints and client credentials (Instagram through Facebook Login), or its own `app`
 * (TikTok Business), whose context then serves every call of the grant; the module reads
 * `extras.oauthVersion` to pick the variant's API.
 */
export interface OAuthVariant {
  via?: Platform;
  app?: VariantApp;
  oauth: OAuthSettings;
  refresh: RefreshModel;
  finishGrant?(ctx: PlatformContext, tokens: TokenSet): Promise<TokenSet>;
  /** A code exchange that is not OAuth's token request (a JSON envelope); answers the tokens to store. */
  exchangeCode?(ctx: PlatformContext, input: { code: string; redirectUri: string }): Promise<TokenSet>;
}

export interface PlatformModule {
  id: Platform;
  name: string;
  /** Default endpoints; every one can be overridden per deployment. */
  endpoints: Endpoints;
  /** OAuth settings; absent for platforms connected only with credentials (Telegram). */
  oauth?: OAuthSettings;
  /** Whether the platform needs client credentials at all (Telegram and BYOK-only do not). */
  needsClientCredentials: boolean;
  refresh: RefreshModel;
  /** Turns a token response (already parsed by oauth4webapi) into what is stored, e.g. a long-lived exchange. */
  finishGrant?(ctx: PlatformContext, tokens: TokenSet): Promise<TokenSet>;
  /** Extend-in-place or otherwise non-standard refresh; absent means the standard refresh grant. */
  refreshGrant?(ctx: PlatformContext, grant: Grant): Promise<TokenSet>;
  /** The who-am-I call: used at connect, by POST …/test and to verify credentials. */
  profile(ctx: PlatformContext, grant: Grant): Promise<Profile>;
  /** Revokes the grant at the provider; absent when the platform offers no revocation. */
  revoke?(ctx: PlatformContext, grant: Grant): Promise<void>;
  /** Alternative OAuth flows, by the `extras.oauthVersion` value they store; absent means one flow. */
  variants?: Readonly<Record<string, OAuthVariant>>;
  /** The variant an OAuth connect runs when no option names one (WhatsApp, whose only OAuth is Embedded Signup). */
  defaultVariant?: string;
  /** Present for per-instance platforms; their endpoints and client come from the instance. */
  instances?: InstanceSupport;
  /** Verifies credentials given without OAuth and answers the grant to store. */
  connectWithCredentials?(
    ctx: PlatformContext,
    input: CredentialsInput,
  ): Promise<{ tokens: TokenSet; profile: Profile }>;
}

/** The variant a grant was made with (its extras.oauthVersion), or undefined for the module's own flow. */
export function grantVariant(
  module: Pick<PlatformModule, "variants">,
  extras: Record<string, unknown> | null | undefined,
): OAuthVariant | undefined {
  const version = extras?.oauthVersion;
  if (typeof version !== "string" || !module.variants || !Object.hasOwn(module.variants, version))
    return undefined;
  return module.variants[version];
}

/** A fresh token set as the platform code sees a stored grant, issued at `issuedAt`. */
export function grantOf(tokens: TokenSet, issuedAt: number): Grant {
  return {
    accessToken: tokens.accessToken,
    refreshToken: tokens.refreshToken ?? null,
    extras: tokens.extras ?? {},
    expiresAt: tokens.expiresAt,
    issuedAt,
  };
}

/** The refresh model that applies to a grant: its variant's, else the module's. */
export function refreshModelOf(
  module: Pick<PlatformModule, "variants" | "refresh">,
  extras: Record<string, unknown> | null | undefined,
): RefreshModel {
  return grantVariant(module, extras)?.refresh ?? module.refresh;
}
