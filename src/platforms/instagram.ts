import { ProviderError } from "./http";
import { EXTEND_IN_PLACE, extendInPlace, fetchLongLivedToken, GRAPH_VERSION, graphJson } from "./meta";
import type { PlatformModule } from "./types";

interface Me {
  id?: string;
  user_id?: string;
  username?: string;
  name?: string;
  profile_picture_url?: string;
  account_type?: string;
}

/** account_type is "Business" or "Media_Creator" (Basic Display spelled them BUSINESS, MEDIA_CREATOR). */
function accountType(value: string | undefined): string | null {
  const type = value?.toLowerCase();
  if (!type) return null;
  if (type.includes("creator")) return "creator";
  if (type.includes("business")) return "business";
  return type;
}

/**
 * Instagram API with Instagram Login (professional accounts): the code gives a 1-hour token, exchanged
 * at once for a 60-day one that is extended in place while valid and at least 24 h old.
 */
export const instagram: PlatformModule = {
  id: "instagram",
  name: "Instagram",
  endpoints: {
    authorizationUrl: "https://www.instagram.com/oauth/authorize",
    tokenUrl: "https://api.instagram.com/oauth/access_token",
    apiBaseUrl: "https://graph.instagram.com",
  },
  oauth: {
    scopes: ["instagram_business_basic", "instagram_business_content_publish"],
    scopeSeparator: ",",
    // No vendor page documents PKCE for Instagram Login.
    pkce: false,
    clientAuth: "post",
    // The App Dashboard's embed URL uses it to make the user log in again (unconfirmed by a reference page).
    forcePromptParams: { force_authentication: "1" },
  },
  needsClientCredentials: true,
  refresh: EXTEND_IN_PLACE,

  async finishGrant(ctx, tokens) {
    const long = await fetchLongLivedToken(
      ctx,
      "/access_token",
      { grant_type: "ig_exchange_token", client_secret: ctx.clientSecret, access_token: tokens.accessToken },
      "Instagram long-lived token exchange",
    );
    return {
      accessToken: long.accessToken,
      refreshToken: null,
      expiresAt: long.expiresAt,
      ...((long.scopes ?? tokens.scopes) ? { scopes: long.scopes ?? tokens.scopes } : {}),
      extras: { ...tokens.extras, oauthVersion: "instagram_login" },
    };
  },

  refreshGrant(ctx, grant) {
    return extendInPlace(ctx, grant, {
      path: "/refresh_access_token",
      grantType: "ig_refresh_token",
      what: "Instagram token refresh",
    });
  },

  async profile(ctx, grant) {
    const me = await graphJson<Me>(
      ctx,
      `/${GRAPH_VERSION}/me`,
      {
        query: {
          fields: "user_id,username,name,profile_picture_url,account_type",
          access_token: grant.accessToken,
        },
      },
      "Instagram me",
    );
    // user_id is the professional account id that publishing and webhooks use; id is app-scoped.
    const platformUserId = me.user_id ?? me.id;
    if (!platformUserId) throw new ProviderError("invalid", "Instagram me answered no user id");
    return {
      platformUserId,
      username: me.username ? `@${me.username}` : null,
      displayName: me.name || me.username || null,
      avatarUrl: me.profile_picture_url ?? null,
      accountType: accountType(me.account_type),
    };
  },
};
