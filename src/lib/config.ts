import { SecretBox } from "./crypto";

export type Environment = "production" | "staging" | "development" | "test";

export interface Config {
  environment: Environment;
  isProduction: boolean;
  publicUrl: string;
  adminToken: string | undefined;
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
  const config: Config = {
    environment,
    isProduction: environment === "production",
    publicUrl: publicUrl.origin,
    adminToken: env.ADMIN_TOKEN || undefined,
  };
  configs.set(env, config);
  return config;
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
