import {
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
import type { Endpoints, PlatformContext, PlatformModule, ResolverEndpoint } from "./types";
import { EMBEDDED_SIGNUP } from "./whatsapp";

export function getModule(platform: Platform): PlatformModule {
  return MODULES[platform];
}

type Overrides = Partial<Record<Platform, Partial<Endpoints & ResolverEndpoint>>>;
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
    if (!(PLATFORMS as readonly string[]).includes(platform))
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
    overrides[platform as Platform] = entry;
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

export function sandboxEndpoints(publicUrl: string, platform: Platform): Endpoints & ResolverEndpoint {
  const base = `${publicUrl}/sandbox/${platform}`;
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
  /** The login variant run at this platform (WhatsApp's Embedded Signup at Facebook), for its configuration. */
  variant?: string | null;
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
  const overrides = providerOverrides(env.PROVIDER_OVERRIDES, config.isProduction)[platform];
  // Per-instance endpoints give way to the sandbox and to explicit overrides.
  const endpoints = {
    ...module.endpoints,
    ...options.endpoints,
    ...(sandbox ? sandboxEndpoints(config.publicUrl, platform) : {}),
    ...overrides,
  };
  const app = sandbox
    ? { clientId: "sandbox-client", clientSecret: "sandbox-secret" }
    : platformCredentials(env, platform);
  const clientId = options.clientId ?? app.clientId;
  const clientSecret = options.clientSecret ?? app.clientSecret;
  if (
    module.needsClientCredentials &&
    options.requireClientCredentials !== false &&
    (!clientId || !clientSecret)
  ) {
    const names = platformSecretNames(platform);
    throw new ApiError(
      "PLATFORM_NOT_CONFIGURED",
      `${module.name} is not configured: set ${names.id} and ${names.secret}`,
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
    ...(platform === "facebook" && !sandbox ? loginConfig(env, options.variant) : {}),
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
