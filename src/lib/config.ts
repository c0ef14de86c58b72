import { SecretBox } from "./crypto";
import type { Platform } from "./domain";

/**
 * A platform app's credentials: optional secrets (`wrangler secret put TWITTER_CLIENT_ID`, or a line in
 * .dev.vars). Wrangler can declare required secrets only, so `wrangler types` cannot type these: they
 * join `Env` here, as optional, and a platform without them answers PLATFORM_NOT_CONFIGURED.
 */
export type PlatformSecrets = {
  readonly [K in `${Uppercase<Platform | "tiktok_business">}_CLIENT_${"ID" | "SECRET"}`]?: string;
};

declare global {
  namespace Cloudflare {
    interface Env extends PlatformSecrets {}
  }
  interface Env extends PlatformSecrets {}
}

export type Environment = "production" | "staging" | "development" | "test";

export interface Config {
  environment: Environment;
  isProduction: boolean;
  publicUrl: string;
  adminToken: string | undefined;
  /** SANDBOX_PROVIDERS: the built-in sandbox serves every platform; never in production. */
  sandbox: boolean;
  /** SANDBOX_PROVIDERS was set in production: platform calls refuse to run (see sandboxEnabled). */
  sandboxRefused: boolean;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

const ENVIRONMENTS: readonly Environment[] = ["production", "staging", "development", "test"];
const configs = new WeakMap<Env, Config>();

/** Validates vars and secrets once per isolate; a bad value fails with the name of the setting. */
export function getConfig(env: Env): Config {
  const cached = configs.get(env);
  if (cached) return cached;
  const environment = env.ENVIRONMENT as Environment;
  if (!ENVIRONMENTS.includes(environment)) {
    throw new ConfigError(`ENVIRONMENT must be one of ${ENVIRONMENTS.join(", ")}`);
  }
  let publicUrl: URL;
  try {
    publicUrl = new URL(env.PUBLIC_URL);
  } catch {
    throw new ConfigError("PUBLIC_URL must be an absolute URL");
  }
  const isProduction = environment === "production";
  const sandboxRequested = env.SANDBOX_PROVIDERS === "true";
  const config: Config = {
    environment,
    isProduction,
    publicUrl: publicUrl.origin,
    adminToken: env.ADMIN_TOKEN || undefined,
    sandbox: sandboxRequested && !isProduction,
    sandboxRefused: sandboxRequested && isProduction,
  };
  configs.set(env, config);
  return config;
}

/** The secret names holding a platform's app credentials, e.g. TWITTER_CLIENT_ID. */
export function platformSecretNames(platform: Platform) {
  const prefix = platform.toUpperCase() as Uppercase<Platform>;
  return { id: `${prefix}_CLIENT_ID`, secret: `${prefix}_CLIENT_SECRET` } as const;
}

/** A platform app's client id and secret; an empty value counts as unset. */
export function platformCredentials(
  env: Env,
  platform: Platform,
): { clientId: string | undefined; clientSecret: string | undefined } {
  const names = platformSecretNames(platform);
  return { clientId: env[names.id] || undefined, clientSecret: env[names.secret] || undefined };
}

/** A variant app's client id and secret (e.g. TIKTOK_BUSINESS_CLIENT_ID); an empty value counts as unset. */
export function appCredentials(
  env: Env,
  names: { id: string; secret: string },
): { clientId: string | undefined; clientSecret: string | undefined } {
  const read = (name: string) => (env as unknown as Record<string, unknown>)[name];
  const value = (name: string) => (typeof read(name) === "string" && (read(name) as string)) || undefined;
  return { clientId: value(names.id), clientSecret: value(names.secret) };
}

/** INSTAGRAM_AUDIO_ENABLED: "true" (any case, any spacing) turns the feature on. */
export function instagramAudioEnabled(env: Env): boolean {
  return (env.INSTAGRAM_AUDIO_ENABLED ?? "").trim().toLowerCase() === "true";
}

/**
 * FACEBOOK_LOGIN_CONFIG_ID: the deployment's Facebook Login for Business configuration, sent as
 * config_id instead of scope on Facebook's dialog (Facebook, and Instagram through Facebook Login);
 * undefined when unset or empty.
 */
export function facebookLoginConfigId(env: Env): string | undefined {
  return env.FACEBOOK_LOGIN_CONFIG_ID?.trim() || undefined;
}

/**
 * WHATSAPP_CONFIG_ID: the Facebook Login for Business configuration made from the WhatsApp Embedded
 * Signup template, sent as config_id on WhatsApp's dialog; undefined when unset or empty.
 */
export function whatsappConfigId(env: Env): string | undefined {
  return env.WHATSAPP_CONFIG_ID?.trim() || undefined;
}

/**
 * BLUESKY_OAUTH_KEYS: the AT Protocol OAuth client's ES256 signing keys, "kid:<base64 PKCS#8>,…"
 * (the first signs new grants; every one is published); undefined when unset or empty.
 */
export function blueskyOAuthKeys(env: Env): string | undefined {
  return env.BLUESKY_OAUTH_KEYS?.trim() || undefined;
}

/** The entry of TOKEN_ENCRYPTION_KEYS that encrypts (the first), as written: the sandbox derives its signing key from it. */
export function currentKeyEntry(env: Env): string {
  const current = env.TOKEN_ENCRYPTION_KEYS?.split(",")[0]?.trim();
  if (!current) throw new ConfigError("TOKEN_ENCRYPTION_KEYS secret is not set");
  return current;
}

const boxes = new Map<string, Promise<SecretBox>>();

/** The SecretBox for TOKEN_ENCRYPTION_KEYS, imported once per isolate. */
export function getSecretBox(env: Env): Promise<SecretBox> {
  const keyring = env.TOKEN_ENCRYPTION_KEYS;
  if (!keyring) return Promise.reject(new ConfigError("TOKEN_ENCRYPTION_KEYS secret is not set"));
  let box = boxes.get(keyring);
  if (!box) {
    box = SecretBox.fromKeyring(keyring).catch((err: Error) => {
      boxes.delete(keyring);
      throw new ConfigError(err.message);
    });
    boxes.set(keyring, box);
  }
  return box;
}
