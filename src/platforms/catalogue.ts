import {
  appCredentials,
  ConfigError,
  facebookLoginConfigId,
  getConfig,
  platformCredentials,
  platformSecretNames,
  whatsappConfigId,
} from "../lib/config";
import { PLATFORMS, type Platform } from "../lib/domain";
import { ApiError } from "../lib/errors";
import { atprotoClient } from "./atproto/client";
import { timedFetch } from "./http";
import { MODULES } from "./modules";
import { sandboxFetch } from "./sandbox/sandbox.routes";
import type {
  Endpoints,
  OAuthVariant,
  PlatformContext,
  PlatformModule,
  ResolverEndpoint,
  VariantApp,
} from "./types";
import { EMBEDDED_SIGNUP } from "./whatsapp";

export function getModule(platform: Platform): PlatformModule {
  return MODULES[platform];
}

type Overrides = Partial<Record<string, Partial<Endpoints & ResolverEndpoint>>>;

/** PROVIDER_OVERRIDES keys: every platform, and every variant app (tiktok_business). */
const OVERRIDE_KEYS: readonly string[] = [
  ...PLATFORMS,
  ...Object.values(MODULES).flatMap((module) =>
    Object.values(module.variants ?? {}).flatMap((variant) => (variant.app ? [variant.app.key] : [])),
  ),
];
const ENDPOINT_KEYS = ["authorizationUrl", "tokenUrl", "revocationUrl", "apiBaseUrl", "resolverUrl"] as const;
const LOCAL_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** Plain http is for local fakes and sandboxes: never in production, never to a public host. */
export function isAllowedEndpoint(value: string, production: boolean): boolean {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (url.username || url.password) return false;
  if (url.protocol === "https:") return true;
  return !production && url.protocol === "http:" && LOCAL_HOSTS.has(url.hostname);
}

const parsedOverrides = new Map<string, Overrides>();

/** PROVIDER_OVERRIDES, validated once per isolate; a bad value fails loudly, naming the entry. */
export function providerOverrides(raw: string | undefined, production: boolean): Overrides {
  const text = raw?.trim() ?? "";
  const key = `${production}:${text}`;
  const cached = parsedOverrides.get(key);
  if (cached) return cached;
  let value: unknown = {};
  if (text) {
    try {
      value = JSON.parse(text);
    } catch {
      throw new ConfigError("PROVIDER_OVERRIDES is not valid JSON");
    }
  }
  if (!value || typeof value !== "object" || Array.isArray(value))
    throw new ConfigError("PROVIDER_OVERRIDES must be a JSON object");
  const overrides: Overrides = {};
  for (const [platform, endpoints] of Object.entries(value)) {
    if (!OVERRIDE_KEYS.includes(platform))
      throw new ConfigError(`PROVIDER_OVERRIDES names unknown platform ${platform}`);
    if (!endpoints || typeof endpoints !== "object")
      throw new ConfigError(`PROVIDER_OVERRIDES.${platform} must be an object`);
    const entry: Partial<Endpoints & ResolverEndpoint> = {};
    for (const [name, url] of Object.entries(endpoints)) {
      if (!(ENDPOINT_KEYS as readonly string[]).includes(name))
        throw new ConfigError(`PROVIDER_OVERRIDES.${platform}.${name} is not an endpoint`);
      if (typeof url !== "string" || !isAllowedEndpoint(url, production)) {
        throw new ConfigError(
          `PROVIDER_OVERRIDES.${platform}.${name} must be an https URL${production ? "" : " (or http on localhost)"}`,
        );
      }
      entry[name as (typeof ENDPOINT_KEYS)[number]] = url;
    }
    overrides[platform] = entry;
  }
  parsedOverrides.set(key, overrides);
  return overrides;
}

/** Whether the built-in sandbox providers serve every platform (refused in production). */
export function sandboxEnabled(env: Env): boolean {
  const config = getConfig(env);
  if (config.sandboxRefused) throw new ConfigError("SANDBOX_PROVIDERS must not be true in production");
  return config.sandbox;
}

export function sandboxEndpoints(
  publicUrl: string,
  platform: Platform,
  app?: VariantApp,
): Endpoints & ResolverEndpoint {
  const base = `${publicUrl}/sandbox/${platform}`;
  // A variant app signs in on its platform's consent page; its API paths are kept under the sandbox's api.
  if (app) {
    const rebased = (url: string | undefined) => {
      if (!url) return undefined;
      const { origin } = new URL(url);
      return `${base}/api${url.slice(origin.length).replace(/^\/$/, "")}`;
    };
    return {
      authorizationUrl: `${base}/authorize`,
      ...(app.endpoints.tokenUrl ? { tokenUrl: rebased(app.endpoints.tokenUrl) } : {}),
      ...(app.endpoints.revocationUrl ? { revocationUrl: rebased(app.endpoints.revocationUrl) } : {}),
      apiBaseUrl: rebased(app.endpoints.apiBaseUrl) ?? `${base}/api`,
    };
  }
  return {
    authorizationUrl: `${base}/authorize`,
    tokenUrl: `${base}/token`,
    revocationUrl: `${base}/revoke`,
    apiBaseUrl: `${base}/api`,
    // The sandbox stands in for DNS and the PLC directory too.
    ...(platform === "bluesky" ? { resolverUrl: `${base}/api` } : {}),
  };
}

export interface ContextOptions {
  /** Per-instance endpoints and app credentials (Mastodon). */
  endpoints?: Partial<Endpoints>;
  clientId?: string;
  clientSecret?: string;
  /** False for calls made with a customer's own token (profile, test, revoke of BYOK accounts). */
  requireClientCredentials?: boolean;
  /** Per-call timeout of the platform requests (default PROVIDER_TIMEOUT_MS). */
  timeoutMs?: number;
  /** The grant's login variant: one with its own app gets that app's endpoints and credentials. */
  variant?: OAuthVariant;
  /** The name of the login variant run at this platform (WhatsApp's Embedded Signup at Facebook), for its dialog configuration. */
  loginVariant?: string | null;
}

/** Resolves a platform's endpoints, client credentials and fetch for one operation at time `now`. */
export function platformContext(
  env: Env,
  platform: Platform,
  now: number,
  options: ContextOptions = {},
): PlatformContext {
  const module = getModule(platform);
  const config = getConfig(env);
  const sandbox = sandboxEnabled(env);
  const variantApp = options.variant?.app;
  const overrides = providerOverrides(env.PROVIDER_OVERRIDES, config.isProduction)[
    variantApp?.key ?? platform
  ];
  // Per-instance endpoints give way to the sandbox and to explicit overrides.
  const endpoints = {
    ...(variantApp?.endpoints ?? module.endpoints),
    ...options.endpoints,
    ...(sandbox ? sandboxEndpoints(config.publicUrl, platform, variantApp) : {}),
    ...overrides,
  };
  const app = sandbox
    ? { clientId: "sandbox-client", clientSecret: "sandbox-secret" }
    : variantApp
      ? appCredentials(env, variantApp.secrets)
      : platformCredentials(env, platform);
  const clientId = options.clientId ?? app.clientId;
  const clientSecret = options.clientSecret ?? app.clientSecret;
  if (
    module.needsClientCredentials &&
    options.requireClientCredentials !== false &&
    (!clientId || !clientSecret)
  ) {
    const names = variantApp?.secrets ?? platformSecretNames(platform);
    throw new ApiError(
      "PLATFORM_NOT_CONFIGURED",
      `${variantApp?.name ?? module.name} is not configured: set ${names.id} and ${names.secret}`,
    );
  }
  return {
    platform,
    endpoints,
    clientId: clientId ?? "",
    clientSecret: clientSecret ?? "",
    allowHttp: !config.isProduction,
    // The sandbox is served in-process: a Worker cannot fetch its own public URL.
    fetch: sandbox ? sandboxFetch(env, timedFetch(options.timeoutMs)) : timedFetch(options.timeoutMs),
    now,
    ...(platform === "bluesky" ? { atproto: atprotoClient(env) } : {}),
    // The sandbox's dialog grants the scopes asked, so it is never sent a configuration instead.
    ...(platform === "facebook" && !sandbox ? loginConfig(env, options.loginVariant) : {}),
  };
}

/** Facebook's dialog configuration: Embedded Signup's own, which it cannot run without, else Login for Business's. */
function loginConfig(env: Env, variant: string | null | undefined) {
  if (variant === EMBEDDED_SIGNUP) {
    const id = whatsappConfigId(env);
    if (!id) {
      throw new ApiError(
        "PLATFORM_NOT_CONFIGURED",
        "WhatsApp Embedded Signup is not configured: set WHATSAPP_CONFIG_ID to the Facebook Login for Business configuration made from the WhatsApp Embedded Signup template",
      );
    }
    return { loginConfigId: id };
  }
  const id = facebookLoginConfigId(env);
  return id ? { loginConfigId: id } : {};
}
