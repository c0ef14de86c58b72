import { sha256Hex } from "../../lib/crypto";
import type { Platform } from "../../lib/domain";
import { DAY, HOUR, SECOND } from "../../lib/time";
import { LONG_LIVED_TTL_MS } from "../meta";
import { MODULES } from "../modules";
import { tokenAnswer, type WireTokens } from "../wire/tokens";

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
  /** Scopes the platform grants an app that asks, beyond those the module asks (a customer's own app may). */
  otherScopes?: readonly string[];
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
    // Checked 2026-12-06: https://learn.microsoft.com/en-us/linkedin/consumer/integrations/self-serve/sign-in-with-linkedin-v2 (openid, profile and email come with Sign In with LinkedIn using OpenID Connect)
    otherScopes: ["email"],
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
  },
  instagram: {
    username: "sandbox_insta",
    displayName: "Sandbox Instagram",
    accessTtl: s(HOUR),
  },
  threads: {
    username: "sandbox_threads",
    displayName: "Sandbox Threads",
    accessTtl: s(HOUR),
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

/** The tokens the sandbox issued, as its token endpoint announces them. */
export type Issued = WireTokens;

/** The token endpoint's answer in the platform's own shape, as oauth.ts and the module read it. */
export function tokenResponse(platform: Platform, t: Issued): Record<string, unknown> {
  return tokenAnswer(platform, t, MODULES[platform].oauth?.scopeSeparator ?? " ");
}
