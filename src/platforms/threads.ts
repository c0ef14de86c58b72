import { ProviderError } from "./http";
import { EXTEND_IN_PLACE, extendInPlace, fetchLongLivedToken, graphJson } from "./meta";
import type { PlatformModule } from "./types";

interface Me {
  id?: string;
  username?: string;
  name?: string;
  threads_profile_picture_url?: string;
}

/**
 * Threads (its own app id and secret): the code gives a 1-hour token, exchanged at once for a 60-day
 * one that is extended in place while valid and at least 24 h old.
 */
export const threads: PlatformModule = {
  id: "threads",
  name: "Threads",
  endpoints: {
    authorizationUrl: "https://threads.net/oauth/authorize",
    tokenUrl: "https://graph.threads.net/oauth/access_token",
    apiBaseUrl: "https://graph.threads.net",
  },
  oauth: {
    scopes: ["threads_basic", "threads_content_publish", "threads_manage_insights"],
    scopeSeparator: ",",
    // No vendor page documents PKCE for Threads.
    pkce: false,
    clientAuth: "post",
  },
  needsClientCredentials: true,
  refresh: EXTEND_IN_PLACE,

  async finishGrant(ctx, tokens) {
    const long = await fetchLongLivedToken(
      ctx,
      "/access_token",
      { grant_type: "th_exchange_token", client_secret: ctx.clientSecret, access_token: tokens.accessToken },
      "Threads long-lived token exchange",
    );
    return {
      accessToken: long.accessToken,
      refreshToken: null,
      expiresAt: long.expiresAt,
      ...((long.scopes ?? tokens.scopes) ? { scopes: long.scopes ?? tokens.scopes } : {}),
      ...(tokens.extras ? { extras: tokens.extras } : {}),
    };
  },

  refreshGrant(ctx, grant) {
    return extendInPlace(ctx, grant, {
      path: "/refresh_access_token",
      grantType: "th_refresh_token",
      what: "Threads token refresh",
    });
  },

  async profile(ctx, grant) {
    const me = await graphJson<Me>(
      ctx,
      "/v1.0/me",
      { query: { fields: "id,username,name,threads_profile_picture_url", access_token: grant.accessToken } },
      "Threads me",
    );
    if (!me.id) throw new ProviderError("invalid", "Threads me answered no user id");
    return {
      platformUserId: me.id,
      username: me.username ? `@${me.username}` : null,
      displayName: me.name || me.username || null,
      avatarUrl: me.threads_profile_picture_url ?? null,
      accountType: "personal",
    };
  },
};
