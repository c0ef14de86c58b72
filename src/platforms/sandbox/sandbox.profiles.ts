import { sha256Hex } from "../../lib/crypto";
import type { Platform } from "../../lib/domain";
import { DAY, HOUR, SECOND } from "../../lib/time";
import { LONG_LIVED_TTL_MS } from "../meta";
import { MODULES } from "../modules";

/** The client platformContext uses while the sandbox is on (and Mastodon's app registration answers). */
export const SANDBOX_CLIENT_ID = "sandbox-client";
export const SANDBOX_CLIENT_SECRET = "sandbox-secret";

const s = (ms: number) => Math.round(ms / SECOND);

interface SandboxSpec {
  /** Who the consent page signs in as unless another username is typed. */
  username: string;
  displayName: string;
  /** Access token lifetime the token endpoint announces, in seconds; null: it does not expire. */
  accessTtl: number | null;
  /** Refresh token lifetime announced with it, in seconds; absent: not announced. */
  refreshTtl?: number;
  /** Whether the authorization request earns a refresh token; absent: always (when the model has one). */
  offline?: (params: URLSearchParams, scopes: readonly string[]) => boolean;
  /** Token endpoint errors in Meta's Graph envelope rather than OAuth's. */
  graphErrors?: boolean;
}

const googleOffline = (params: URLSearchParams) => params.get("access_type") === "offline";

/** Lifetimes and quirks as each platform documents them. */
export const SANDBOX_SPECS: Record<Platform, SandboxSpec> = {
  twitter: {
    username: "sandbox_x",
    displayName: "Sandbox X User",
    accessTtl: s(2 * HOUR),
    offline: (_params, scopes) => scopes.includes("offline.access"),
  },
  linkedin: {
    username: "sandbox_linkedin",
    displayName: "Sandbox LinkedIn Member",
    accessTtl: s(60 * DAY),
    refreshTtl: s(365 * DAY),
  },
  youtube: {
    username: "sandbox_youtube",
    displayName: "Sandbox YouTube Channel",
    accessTtl: 3599,
    offline: googleOffline,
  },
  googlebusiness: {
    username: "sandbox_business",
    displayName: "Sandbox Bakery",
    accessTtl: 3599,
    offline: googleOffline,
  },
  reddit: {
    username: "sandbox_reddit",
    displayName: "Sandbox Redditor",
    accessTtl: s(HOUR),
    offline: (params) => params.get("duration") === "permanent",
  },
  pinterest: {
    username: "sandbox_pins",
    displayName: "Sandbox Pins",
    accessTtl: s(30 * DAY),
    refreshTtl: s(60 * DAY),
  },
  facebook: {
    username: "sandbox.facebook",
    displayName: "Sandbox Facebook User",
    accessTtl: s(HOUR),
    graphErrors: true,
  },
  instagram: {
    username: "sandbox_insta",
    displayName: "Sandbox Instagram",
    accessTtl: s(HOUR),
    graphErrors: true,
  },
  threads: {
    username: "sandbox_threads",
    displayName: "Sandbox Threads",
    accessTtl: s(HOUR),
    graphErrors: true,
  },
  whatsapp: { username: "sandbox_whatsapp", displayName: "Sandbox Business", accessTtl: null },
  tiktok: {
    username: "sandbox_tiktok",
    displayName: "Sandbox TikTok",
    accessTtl: s(DAY),
    refreshTtl: s(365 * DAY),
  },
  snapchat: { username: "sandbox_snap", displayName: "Sandbox Snap Business", accessTtl: 1800 },
  mastodon: { username: "sandbox", displayName: "Sandbox Mastodon", accessTtl: null },
  bluesky: {
    username: "sandbox.bsky.social",
    displayName: "Sandbox Bluesky",
    accessTtl: s(2 * HOUR),
    refreshTtl: s(90 * DAY),
  },
  telegram: { username: "sandbox_bot", displayName: "Sandbox Bot", accessTtl: null },
};

/** Meta long-lived tokens (Facebook, Instagram, Threads), in seconds. */
export const LONG_LIVED_TTL = s(LONG_LIVED_TTL_MS);

/** How the sandbox treats refresh tokens, from the module's own refresh model. */
export function refreshBehaviour(platform: Platform): "rotating" | "non-rotating" | "none" {
  const kind = MODULES[platform].refresh.kind;
  return kind === "rotating" || kind === "non-rotating" ? kind : "none";
}

export interface SandboxUser {
  id: string;
  username: string;
}

const USERNAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,29}$/;
const HANDLE =
  /^(?=.{3,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/**
 * The sandbox user signed in as: the platform's fixed user, or a distinct one per typed username
 * (the same username always gives the same id, so reconnecting finds the same account).
 * Undefined when the username is not acceptable.
 */
export async function sandboxUser(
  platform: Platform,
  typed?: string | null,
): Promise<SandboxUser | undefined> {
  const spec = SANDBOX_SPECS[platform];
  let username = (typed ?? spec.username).trim().replace(/^@/, "");
  if (platform === "bluesky") {
    username = username.toLowerCase();
    if (!username.includes(".")) username = `${username}.bsky.social`;
    if (!HANDLE.test(username)) return undefined;
  } else if (!USERNAME.test(username)) {
    return undefined;
  }
  const suffix =
    username.toLowerCase() === spec.username.toLowerCase()
      ? "1001"
      : (await sha256Hex(`${platform}:${username.toLowerCase()}`)).slice(0, 12);
  const id = `sbx-${platform}-${suffix}`;
  return { id: platform === "bluesky" ? `did:plc:${id}` : id, username };
}

export function displayName(platform: Platform, username: string): string {
  const spec = SANDBOX_SPECS[platform];
  return username.toLowerCase() === spec.username.toLowerCase() ? spec.displayName : username;
}

/** A generated avatar the sandbox serves itself. */
export function avatarUrl(publicUrl: string, platform: Platform, userId: string): string {
  return `${publicUrl}/sandbox/${platform}/avatar/${encodeURIComponent(userId)}.svg`;
}

export interface Issued {
  grantType: "authorization_code" | "refresh_token";
  accessToken: string;
  /** Announced lifetime in seconds; null: none announced. */
  accessTtl: number | null;
  refreshToken?: string;
  refreshTtl?: number;
  scopes: string[];
  userId: string;
  now: number;
}

/** The token endpoint's answer in the platform's own shape, as oauth.ts and the module read it. */
export function tokenResponse(platform: Platform, t: Issued): Record<string, unknown> {
  const expires = t.accessTtl === null ? {} : { expires_in: t.accessTtl };
  const refresh = t.refreshToken
    ? { refresh_token: t.refreshToken, ...(t.refreshTtl ? { refresh_token_expires_in: t.refreshTtl } : {}) }
    : {};
  const separator = MODULES[platform].oauth?.scopeSeparator ?? " ";
  switch (platform) {
    case "instagram":
      // Instagram Login: a short-lived token wrapped in data[], permissions instead of scope.
      return { data: [{ access_token: t.accessToken, user_id: t.userId, permissions: t.scopes.join(",") }] };
    case "threads":
      return { access_token: t.accessToken, user_id: t.userId };
    case "facebook":
      return { access_token: t.accessToken, token_type: "bearer", ...expires };
    case "linkedin":
      // No token_type; scopes comma-separated.
      return { access_token: t.accessToken, ...expires, ...refresh, scope: t.scopes.join(",") };
    case "tiktok":
      return {
        access_token: t.accessToken,
        ...expires,
        open_id: t.userId,
        ...(t.refreshToken ? { refresh_token: t.refreshToken, refresh_expires_in: t.refreshTtl } : {}),
        scope: t.scopes.join(","),
        token_type: "Bearer",
      };
    case "pinterest":
      return {
        access_token: t.accessToken,
        ...refresh,
        response_type: t.grantType === "refresh_token" ? "refresh_token" : "authorization_code",
        token_type: "bearer",
        ...expires,
        scope: t.scopes.join(","),
      };
    case "mastodon":
      return {
        access_token: t.accessToken,
        token_type: "Bearer",
        scope: t.scopes.join(" "),
        created_at: Math.floor(t.now / SECOND),
      };
    case "youtube":
    case "googlebusiness":
      return {
        access_token: t.accessToken,
        ...expires,
        ...refresh,
        scope: t.scopes.join(" "),
        token_type: "Bearer",
      };
    default:
      return {
        token_type: "bearer",
        access_token: t.accessToken,
        ...expires,
        scope: t.scopes.join(separator),
        ...refresh,
      };
  }
}
