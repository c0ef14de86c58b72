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
    // Checked 2026-12-06: https://developers.facebook.com/documentation/threads/get-started/get-access-tokens-and-permissions (authorize on threads.com)
    authorizationUrl: "https://threads.com/oauth/authorize",
    // Unverified 2026-12-06: needs a live app (the token path is read from third-party collections, not a Meta page)
    tokenUrl: "https://graph.threads.net/oauth/access_token",
    apiBaseUrl: "https://graph.threads.net",
  },
  oauth: {
    // Checked 2026-12-06: https://developers.facebook.com/documentation/threads/get-started (threads_basic, _content_publish, _manage_insights)
    scopes: ["threads_basic", "threads_content_publish", "threads_manage_insights"],
    scopeSeparator: ",",
    // Checked 2026-12-06: https://developers.facebook.com/documentation/threads/get-started/get-access-tokens-and-permissions (no PKCE parameters)
    pkce: false,
    clientAuth: "post",
  },
  needsClientCredentials: true,
  // Checked 2026-12-06: https://developers.facebook.com/docs/threads/get-started/long-lived-tokens/ (1 h, then 60 d, refreshable once 24 h old)
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

  // Unverified 2026-12-06: needs a live app (/v1.0/me and its fields; no Threads reference page was stored)
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
  // Unverified 2026-12-06: needs a live app (no revocation endpoint is documented on the pages read)
};
