import { facebookUserToken, fetchLongLivedToken, GRAPH_VERSION, graphJson, holdsPageToken } from "./meta";
import type { PlatformModule } from "./types";

interface Me {
  id: string;
  name?: string;
  picture?: { data?: { url?: string; is_silhouette?: boolean } };
}

interface Permissions {
  data: { permission: string; status: "granted" | "declined" | "expired" }[];
}

/**
 * Facebook Login for Pages: the code gives a short-lived user token, exchanged at once for a ~60-day
 * one. Nothing refreshes it (reconnect instead); selecting a Page makes that Page's token, which does
 * not expire, the account's credential (see facebookUserToken).
 */
export const facebook: PlatformModule = {
  id: "facebook",
  name: "Facebook",
  // Unverified 2026-12-06: needs a live app (the versioned dialog and token paths come from the long-lived token guide's example only)
  endpoints: {
    authorizationUrl: `https://www.facebook.com/${GRAPH_VERSION}/dialog/oauth`,
    tokenUrl: `https://graph.facebook.com/${GRAPH_VERSION}/oauth/access_token`,
    apiBaseUrl: `https://graph.facebook.com/${GRAPH_VERSION}`,
  },
  oauth: {
    // Checked 2026-12-06: https://developers.facebook.com/docs/insights/get-started (Page insights need read_insights beside pages_show_list, pages_read_engagement)
    scopes: ["pages_show_list", "pages_manage_posts", "pages_read_engagement", "read_insights"],
    scopeSeparator: ",",
    // FACEBOOK_LOGIN_CONFIG_ID sends a Login for Business configuration as config_id instead of these scopes.
    // Checked 2026-12-06: https://developers.facebook.com/docs/facebook-login/facebook-login-for-business/ (a configuration sets the token type, assets and permissions; the user must grant all of them)
    // Unverified 2026-12-06: needs a live app (config_id in place of scope on a manually built dialog URL; no such example on the pages read)
    // Unverified 2026-12-06: needs a live app (PKCE on the Login dialog is not on the pages read)
    pkce: true,
    clientAuth: "post",
    // Shows the dialog again for permissions the user declined last time.
    forcePromptParams: { auth_type: "rerequest" },
  },
  needsClientCredentials: true,
  // Checked 2026-12-06: https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived (about 60 days; an expired token cannot be exchanged)
  refresh: { kind: "none" },

  async finishGrant(ctx, tokens) {
    const long = await fetchLongLivedToken(
      ctx,
      "/oauth/access_token",
      {
        grant_type: "fb_exchange_token",
        client_id: ctx.clientId,
        client_secret: ctx.clientSecret,
        fb_exchange_token: tokens.accessToken,
      },
      "Facebook long-lived token exchange",
    );
    // The token response carries no scope, and users may decline single permissions in the dialog.
    const permissions = await graphJson<Permissions>(
      ctx,
      "/me/permissions",
      { token: long.accessToken },
      "Facebook me/permissions",
    );
    return {
      accessToken: long.accessToken,
      refreshToken: null,
      expiresAt: long.expiresAt,
      scopes: permissions.data.filter((p) => p.status === "granted").map((p) => p.permission),
    };
  },

  // Unverified 2026-12-06: needs a live app (GET /me?fields=id,name,picture; no User reference page was stored)
  // With a Page token, /me is the Page: the check then proves the credential posts use.
  async profile(ctx, grant) {
    const me = await graphJson<Me>(
      ctx,
      "/me",
      {
        token: grant.accessToken,
        query: { fields: "id,name,picture" },
      },
      "Facebook me",
    );
    const picture = me.picture?.data;
    return {
      platformUserId: me.id,
      username: null,
      displayName: me.name ?? null,
      avatarUrl: picture?.url && !picture.is_silhouette ? picture.url : null,
      accountType: holdsPageToken(grant) ? "page" : "personal",
    };
  },

  async revoke(ctx, grant) {
    // Checked 2026-12-06: https://developers.facebook.com/docs/graph-api/reference/user/permissions/ (DELETE with the user token)
    // Removing every permission deauthorizes the app for this user; page tokens die with it.
    await graphJson<{ success: boolean }>(
      ctx,
      "/me/permissions",
      { method: "DELETE", token: facebookUserToken(grant) },
      "Facebook permissions revoke",
    );
  },
};
