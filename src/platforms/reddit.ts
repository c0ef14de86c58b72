import { MINUTE } from "../lib/time";
import { apiJson, failure, ProviderError } from "./http";
import { refreshGrant as standardRefresh } from "./oauth";
import type { Grant, OAuthSettings, PlatformContext, PlatformModule } from "./types";

/** `GET https://oauth.reddit.com/api/v1/me` (scope identity). */
interface Me {
  id: string;
  name: string;
  icon_img?: string;
  snoovatar_img?: string;
  is_suspended?: boolean;
  subreddit?: { title?: string; display_name_prefixed?: string; icon_img?: string } | null;
}

/** A Reddit user name as Reddit allows it (3 to 20 letters, digits, `_` or `-`). */
const REDDIT_NAME = /^[A-Za-z0-9_-]{3,20}$/;

/** The Reddit user name a grant was made by, kept in its extras at connect; undefined before. */
export function redditUsername(extras: Record<string, unknown> | null | undefined): string | undefined {
  const name = extras?.redditUsername;
  return typeof name === "string" && REDDIT_NAME.test(name) ? name : undefined;
}

/**
 * Reddit's API rules ask for a unique, descriptive User-Agent ending in the Reddit user as contact,
 * and throttle generic ones, so every call this module makes sends this one; the user is the
 * grant's own once known (`(by /u/name)`), the service's name before.
 */
// Checked 2026-12-06: https://github.com/reddit/reddit/wiki/API (`<platform>:<app ID>:<version string> (by /u/<reddit username>)`)
export function redditUserAgent(ctx: Pick<PlatformContext, "clientId">, username?: string): string {
  return `web:${ctx.clientId}:1.0 (by ${username ? `/u/${username}` : "Switchboard accounts API"})`;
}

function userAgentOf(ctx: Pick<PlatformContext, "clientId">, grant: Pick<Grant, "extras">): string {
  return redditUserAgent(ctx, redditUsername(grant.extras));
}

async function me(ctx: PlatformContext, accessToken: string, userAgent: string): Promise<Me> {
  const body = await apiJson<Me>(
    ctx,
    "/api/v1/me",
    { token: accessToken, headers: { "user-agent": userAgent } },
    "Reddit me",
  );
  if (!body.id || !body.name) throw new ProviderError("invalid", "Reddit me answered no id or name");
  return body;
}

/** Reddit HTML-escapes its image URLs (`&amp;` in the query); the escaped form breaks the signed URL. */
function imageUrl(value: string | undefined | null): string | null {
  return value ? value.replace(/&amp;/g, "&") : null;
}

const OAUTH: OAuthSettings = {
  scopes: ["identity", "submit", "read"],
  // Unverified 2026-12-06: needs a live app (PKCE is not in the pages read: left off)
  pkce: false,
  clientAuth: "basic",
  // Without duration=permanent Reddit issues no refresh token.
  authorizeParams: { duration: "permanent" },
  // The code exchange comes before the user is known; refreshGrant sends the grant's own.
  headers: (clientId) => ({ "user-agent": redditUserAgent({ clientId }) }),
};

/** Reddit: `duration=permanent` for a refresh token, HTTP Basic client auth, hour-long access tokens. */
export const reddit: PlatformModule = {
  id: "reddit",
  name: "Reddit",
  // Unverified 2026-12-06: needs a live app (Reddit's OAuth2 wiki page was not stored; the URLs are from working integrations)
  endpoints: {
    authorizationUrl: "https://www.reddit.com/api/v1/authorize",
    tokenUrl: "https://www.reddit.com/api/v1/access_token",
    revocationUrl: "https://www.reddit.com/api/v1/revoke_token",
    // Checked 2026-12-06: https://github.com/reddit/reddit/wiki/API (clients must authenticate with OAuth2)
    apiBaseUrl: "https://oauth.reddit.com",
  },
  oauth: OAUTH,
  needsClientCredentials: true,
  // Unverified 2026-12-06: needs a live app (hour-long access tokens; the permanent refresh token is not rotated)
  refresh: { kind: "non-rotating", leadMs: 10 * MINUTE },

  async finishGrant(ctx, tokens) {
    // The user name the User-Agent names from now on (Reddit user names never change).
    const user = await me(ctx, tokens.accessToken, redditUserAgent(ctx));
    const name = REDDIT_NAME.test(user.name) ? { redditUsername: user.name } : {};
    return { ...tokens, extras: { ...tokens.extras, ...name } };
  },

  refreshGrant(ctx, grant) {
    // The standard refresh grant, with the User-Agent naming the grant's user.
    const userAgent = userAgentOf(ctx, grant);
    const settings = { ...OAUTH, headers: () => ({ "user-agent": userAgent }) };
    return standardRefresh(ctx, { ...reddit, oauth: settings, refreshGrant: undefined }, grant);
  },

  async profile(ctx, grant) {
    const user = await me(ctx, grant.accessToken, userAgentOf(ctx, grant));
    return {
      platformUserId: user.id,
      username: `u/${user.name}`,
      displayName: user.subreddit?.title || user.name,
      avatarUrl: imageUrl(user.icon_img) ?? imageUrl(user.subreddit?.icon_img),
      accountType: "personal",
    };
  },

  async revoke(ctx, grant) {
    // Reddit answers 204, which oauth4webapi's revocation (200 only) would reject: Reddit's own call.
    const url = ctx.endpoints.revocationUrl;
    if (!url) return;
    const tokens: [string, string][] = [];
    if (grant.refreshToken) tokens.push([grant.refreshToken, "refresh_token"]);
    tokens.push([grant.accessToken, "access_token"]);
    for (const [token, hint] of tokens) {
      const res = await ctx.fetch(url, {
        method: "POST",
        headers: {
          authorization: `Basic ${btoa(`${ctx.clientId}:${ctx.clientSecret}`)}`,
          "content-type": "application/x-www-form-urlencoded",
          "user-agent": userAgentOf(ctx, grant),
        },
        body: new URLSearchParams({ token, token_type_hint: hint }).toString(),
      });
      if (!res.ok) throw await failure(res, ctx.now, "Reddit revoke");
    }
  },
};
