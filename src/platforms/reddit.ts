import { MINUTE } from "../lib/time";
import { apiJson, failure, ProviderError } from "./http";
import type { PlatformContext, PlatformModule } from "./types";

/** `GET https://oauth.reddit.com/api/v1/me` (scope identity). */
interface Me {
  id: string;
  name: string;
  icon_img?: string;
  snoovatar_img?: string;
  is_suspended?: boolean;
  subreddit?: { title?: string; display_name_prefixed?: string; icon_img?: string } | null;
}

/**
 * Reddit's API rules ask for a unique, descriptive User-Agent (`<platform>:<app id>:<version> (by …)`)
 * and throttle generic ones, so every call this module makes sends this one.
 */
export function redditUserAgent(ctx: Pick<PlatformContext, "clientId">): string {
  return `web:${ctx.clientId}:1.0 (by Switchboard accounts API)`;
}

/** Reddit HTML-escapes its image URLs (`&amp;` in the query); the escaped form breaks the signed URL. */
function imageUrl(value: string | undefined | null): string | null {
  return value ? value.replace(/&amp;/g, "&") : null;
}

/** Reddit: `duration=permanent` for a refresh token, HTTP Basic client auth, hour-long access tokens. */
export const reddit: PlatformModule = {
  id: "reddit",
  name: "Reddit",
  endpoints: {
    authorizationUrl: "https://www.reddit.com/api/v1/authorize",
    tokenUrl: "https://www.reddit.com/api/v1/access_token",
    revocationUrl: "https://www.reddit.com/api/v1/revoke_token",
    apiBaseUrl: "https://oauth.reddit.com",
  },
  oauth: {
    scopes: ["identity", "submit", "read"],
    // Not in Reddit's OAuth documentation: left off.
    pkce: false,
    clientAuth: "basic",
    // Without duration=permanent Reddit issues no refresh token.
    authorizeParams: { duration: "permanent" },
    headers: (clientId) => ({ "user-agent": redditUserAgent({ clientId }) }),
  },
  needsClientCredentials: true,
  // The refresh token is permanent and not rotated (a refresh answers no new one).
  refresh: { kind: "non-rotating", leadMs: 10 * MINUTE },

  async profile(ctx, grant) {
    const me = await apiJson<Me>(
      ctx,
      "/api/v1/me",
      { token: grant.accessToken, headers: { "user-agent": redditUserAgent(ctx) } },
      "Reddit me",
    );
    if (!me.id || !me.name) throw new ProviderError("invalid", "Reddit me answered no id or name");
    return {
      platformUserId: me.id,
      username: `u/${me.name}`,
      displayName: me.subreddit?.title || me.name,
      avatarUrl: imageUrl(me.icon_img) ?? imageUrl(me.subreddit?.icon_img),
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
          "user-agent": redditUserAgent(ctx),
        },
        body: new URLSearchParams({ token, token_type_hint: hint }).toString(),
      });
      if (!res.ok) throw await failure(res, ctx.now, "Reddit revoke");
    }
  },
};
