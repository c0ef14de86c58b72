import { apiJson, ProviderError } from "./http";
import { revokeToken } from "./oauth";
import type { Endpoints, PlatformContext, PlatformModule } from "./types";

interface Account {
  id: string;
  username: string;
  acct: string;
  display_name?: string;
  avatar?: string;
  bot?: boolean;
}

interface Application {
  client_id?: string;
  client_secret?: string;
}

/** An instance's OAuth and API endpoints, from an origin as normaliseInstance answers it. */
export function instanceEndpoints(origin: string): Required<Endpoints> {
  const base = origin.replace(/\/+$/, "");
  return {
    authorizationUrl: `${base}/oauth/authorize`,
    tokenUrl: `${base}/oauth/token`,
    revocationUrl: `${base}/oauth/revoke`,
    apiBaseUrl: base,
  };
}

const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;
const EXAMPLE = "a host name such as mastodon.social";

/**
 * Turns what a user typed ("mastodon.social", "https://MASTODON.social/") into an https origin.
 * Rejects paths, queries, fragments, credentials, ports other than 443, IP literals and anything
 * that is not a DNS host name. Messages never repeat the input (it may hold credentials).
 */
export function normaliseInstance(input: string): string {
  let rest = input.trim().toLowerCase();
  if (!rest) throw new Error(`The Mastodon instance is empty: give ${EXAMPLE}`);
  if (rest.length > 300) throw new Error(`The Mastodon instance is too long: give ${EXAMPLE}`);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//.exec(rest);
  if (scheme) {
    if (scheme[1] !== "https") throw new Error("The Mastodon instance must be reached over https");
    rest = rest.slice(scheme[0].length);
  }
  if (rest.endsWith("/")) rest = rest.slice(0, -1);
  if (/[\s\\]/.test(rest)) throw new Error(`The Mastodon instance must be ${EXAMPLE}`);
  if (/[/?#]/.test(rest))
    throw new Error(`The Mastodon instance must not contain a path, query or fragment: give ${EXAMPLE}`);
  if (rest.includes("@"))
    throw new Error(`The Mastodon instance must not contain a user name: give ${EXAMPLE}`);
  if (rest.startsWith("["))
    throw new Error(`The Mastodon instance must not be an IP address: give ${EXAMPLE}`);
  const port = /:([^:]*)$/.exec(rest);
  if (port) {
    if (port[1] !== "443") throw new Error("The Mastodon instance must use the standard https port");
    rest = rest.slice(0, port.index);
  }
  let host: string;
  try {
    // The URL parser turns international names into punycode and odd IPv4 forms into dotted quads.
    host = new URL(`https://${rest}`).hostname;
  } catch {
    throw new Error(`The Mastodon instance must be ${EXAMPLE}`);
  }
  if (IPV4.test(host) || host.startsWith("["))
    throw new Error(`The Mastodon instance must not be an IP address: give ${EXAMPLE}`);
  const labels = host.split(".");
  if (
    host.length > 253 ||
    labels.length < 2 ||
    !labels.every((label) => LABEL.test(label)) ||
    /^\d+$/.test(labels.at(-1) ?? "")
  ) {
    throw new Error(`The Mastodon instance must be ${EXAMPLE}`);
  }
  return `https://${host}`;
}

/**
 * Registers Switchboard as an app on the instance (POST /api/v1/apps). The caller caches the
 * answer per instance, secret encrypted, and passes it as the context's client credentials.
 */
export async function registerApp(
  ctx: PlatformContext,
  input: { redirectUri: string; scopes: readonly string[]; website?: string },
): Promise<{ clientId: string; clientSecret: string }> {
  const form: Record<string, string> = {
    client_name: "Switchboard",
    redirect_uris: input.redirectUri,
    scopes: input.scopes.join(" "),
  };
  if (input.website) form.website = input.website;
  const app = await apiJson<Application>(
    ctx,
    "/api/v1/apps",
    { method: "POST", form },
    "Mastodon app registration",
  );
  if (typeof app.client_id !== "string" || typeof app.client_secret !== "string" || !app.client_secret)
    throw new ProviderError("invalid", "Mastodon app registration answered no client credentials");
  return { clientId: app.client_id, clientSecret: app.client_secret };
}

/** The instance host for "@user@host": the stored instance, else the API origin's host. */
function instanceHost(ctx: PlatformContext, extras: Record<string, unknown>): string {
  const stored = extras.instance;
  if (typeof stored === "string" && stored) {
    try {
      return new URL(stored.includes("://") ? stored : `https://${stored}`).host;
    } catch {
      // Fall through to the API origin.
    }
  }
  return new URL(ctx.endpoints.apiBaseUrl).host;
}

/**
 * Mastodon: one OAuth app per instance (registerApp), endpoints per instance (instanceEndpoints,
 * passed as ContextOptions.endpoints with the app's credentials); tokens do not expire.
 */
export const mastodon: PlatformModule = {
  id: "mastodon",
  name: "Mastodon",
  // A stand-in: every real call runs against the account's own instance via ContextOptions.endpoints.
  endpoints: instanceEndpoints("https://mastodon.social"),
  instances: { normalise: normaliseInstance, endpoints: instanceEndpoints, register: registerApp },
  oauth: {
    scopes: ["read:accounts", "write:statuses", "write:media"],
    // Checked 2026-12-06: https://git.fuwafuwa.moe/zelo72/documentation/raw/commit/a21d5807f5b016186947e48d51d16fbb58a28b94/content/en/methods/oauth.md (a copy of Mastodon's docs: PKCE from 4.3.0, S256 only)
    // Supported from Mastodon 4.3; older instances ignore the challenge.
    pkce: true,
    clientAuth: "post",
  },
  // Credentials come from registerApp per instance, not from deployment secrets.
  needsClientCredentials: false,
  // Checked 2026-12-06: https://arcticjs.dev/providers/mastodon (an access token with no expiration; third party)
  refresh: { kind: "none" },

  // Unverified 2026-12-06: needs a live app (verify_credentials and POST /oauth/revoke; their pages were stored only as menus)
  async profile(ctx, grant) {
    const account = await apiJson<Account>(
      ctx,
      "/api/v1/accounts/verify_credentials",
      { token: grant.accessToken },
      "Mastodon verify_credentials",
    );
    if (!account?.id || !account.acct)
      throw new ProviderError("invalid", "Mastodon verify_credentials answered no account");
    const acct = account.acct.includes("@")
      ? account.acct
      : `${account.acct}@${instanceHost(ctx, grant.extras)}`;
    return {
      platformUserId: account.id,
      username: `@${acct}`,
      displayName: account.display_name || account.username || null,
      avatarUrl: account.avatar ?? null,
      accountType: account.bot ? "bot" : "personal",
    };
  },

  async revoke(ctx, grant) {
    await revokeToken(ctx, this, grant.accessToken);
  },
};
