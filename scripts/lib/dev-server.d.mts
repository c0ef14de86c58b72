/** A TCP port free on loopback now (the OS picks it). */
export function freePort(): Promise<number>;

export interface DevServerOptions {
  /** wrangler's --persist-to directory; the seeded dev key is read from its dev-api-key.json. */
  state: string;
  /** Replaces .dev.vars (wrangler's --env-file). */
  envFile: string;
  /** How long the start (wrangler, the local migrations, the seeding) may take. */
  timeoutMs: number;
  /** More arguments for `wrangler dev`. */
  args?: string[];
  /** More environment for scripts/dev.mjs (NO_COLOR is always set). */
  env?: Record<string, string>;
}

export interface DevServer {
  /** The base URL and dev key once the server is running; rejects, having stopped it, if it exits or times out first. */
  ready: Promise<{ baseUrl: string; key: string }>;
  /** Everything it has printed so far, stdout and stderr. */
  output(): string;
  /** SIGTERM, then SIGKILL if it has not exited within 10 s; resolves once it has exited. */
  stop(): Promise<void>;
}

/** Starts scripts/dev.mjs on two free ports (HTTP and inspector) with its own state and env file. */
export function spawnDevServer(options: DevServerOptions): Promise<DevServer>;
