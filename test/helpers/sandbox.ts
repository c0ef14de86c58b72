import { env } from "cloudflare:workers";
import { sandboxFetch } from "../../src/platforms/sandbox/sandbox.routes";

export const SANDBOX_PUBLIC_URL = "https://switchboard.test";

/** The test bindings as a development deployment with the sandbox on and no provider overrides. */
export const sandboxEnv = {
  ...env,
  PROVIDER_OVERRIDES: "",
  SANDBOX_PROVIDERS: "true",
  ENVIRONMENT: "development",
} as Env;

/** fetch served by the sandbox in-process, as the Worker reaches it. */
export const sandboxFetcher = sandboxFetch(sandboxEnv);
