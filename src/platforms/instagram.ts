import { facebook } from "./facebook";
import { ProviderError } from "./http";
import {
  EXTEND_IN_PLACE,
  extendInPlace,
  FACEBOOK_LOGIN,
  facebookUserToken,
  fetchLongLivedToken,
  GRAPH_VERSION,
  graphJson,
} from "./meta";
import type { Grant, PlatformContext, PlatformModule, Profile } from "./types";

interface Me {
  id?: string;
  user_id?: string;
  username?: string;
  name?: string;
  profile_picture_url?: string;
  account_type?: string;
}

/** An Instagram user node read through Facebook Login (`GET /{ig-user-id}`). */
interface IgUser {
  id: string;
  username?: string;
  name?: string;
  profile_picture_url?: string;
}

/** The Facebook user behind a Facebook-Login grant (`GET /me`). */
interface FacebookMe {
  id: string;
  name?: string;
  picture?: { data?: { url?: string; is_silhouette?: boolean } };
}

/** Instagram API with Facebook Login: publishing, plus the Page listing that finds the business account. */
// Checked 2026-12-06: https://developers.facebook.com/documentation/instagram-platform/api-reference/instagram-user/insights/ (Facebook Login insights: instagram_basic, instagram_manage_insights, pages_read_engagement)
export const FACEBOOK_LOGIN_SCOPES = [
  "instagram_basic",
  "instagram_content_publish",
  "pages_show_list",
  "pages_read_engagement",
  "business_management",
  "instagram_manage_insights",
] as const;

/** graph.instagram.com accepts only Instagram-Login tokens; Facebook-Login calls go to graph.facebook.com. */
const INSTAGRAM_LOGIN_HOST = "graph.instagram.com";
const FACEBOOK_GRAPH_ORIGIN = "https://graph.facebook.com";

/** Whether a grant holds a Facebook user token (Instagram through Facebook Login). */
export function isFacebookLogin(extras: Record<string, unknown> | null | undefined): boolean {
  return extras?.oauthVersion === FACEBOOK_LOGIN;
}

/**
 * The context for Graph calls made with a Facebook-Login token: Instagram's default API host becomes
 * graph.facebook.com; a deployment that overrides Instagram's apiBaseUrl (a sandbox, the tests' fake)
 * serves both kinds of call there. Paths carry the Graph version.
 */
export function facebookLoginContext(ctx: PlatformContext): PlatformContext {
  if (new URL(ctx.endpoints.apiBaseUrl).hostname !== INSTAGRAM_LOGIN_HOST) return ctx;
  return { ...ctx, endpoints: { ...ctx.endpoints, apiBaseUrl: FACEBOOK_GRAPH_ORIGIN } };
}

/** The Instagram business account a Facebook-Login grant acts as: chosen with select-page, or given as igUserId. */
export function selectedIgUserId(extras: Record<string, unknown> | null | undefined): string | undefined {
  const id = extras?.igUserId;
  return typeof id === "string" && id ? id : undefined;
}

/**
 * Before a business account is chosen the grant is the Facebook user; after, the Instagram account,
 * read with the account's credential (its Page's token once selected).
 */
async function facebookLoginProfile(ctx: PlatformContext, grant: Grant): Promise<Profile> {
  const graph = facebookLoginContext(ctx);
  const igUserId = selectedIgUserId(grant.extras);
  if (igUserId) {
    // Unverified 2026-12-06: needs a live app (the IG user node read with its Page's token instead of the user's; the IG User reference page was not stored)
    const ig = await graphJson<IgUser>(
      graph,
      `/${GRAPH_VERSION}/${encodeURIComponent(igUserId)}`,
      { token: grant.accessToken, query: { fields: "id,username,name,profile_picture_url" } },
      "Instagram business account",
    );
    if (!ig.id) throw new ProviderError("invalid", "Instagram business account answered no id");
    return {
      platformUserId: ig.id,
      username: ig.username ? `@${ig.username}` : null,
      displayName: ig.name || ig.username || null,
      avatarUrl: ig.profile_picture_url ?? null,
      // Facebook Login exposes no account_type; only business and creator accounts are reachable this way.
      accountType: "business",
    };
  }
  const me = await graphJson<FacebookMe>(
    graph,
    `/${GRAPH_VERSION}/me`,
    { token: grant.accessToken, query: { fields: "id,name,picture" } },
    "Facebook me",
  );
  if (!me.id) throw new ProviderError("invalid", "Facebook me answered no id");
  const picture = me.picture?.data;
  return {
    platformUserId: me.id,
    username: null,
    displayName: me.name ?? null,
    avatarUrl: picture?.url && !picture.is_silhouette ? picture.url : null,
    accountType: null,
  };
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
 * The fb_login variant connects through Facebook Login instead: a ~60-day Facebook user token, never
 * refreshed, from which a Page's Instagram business account is selected; that Page's token, which
 * does not expire, then becomes the credential (see facebookUserToken).
 */
export const instagram: PlatformModule = {
  id: "instagram",
  name: "Instagram",
  endpoints: {
    // Unverified 2026-12-06: needs a live app (the reference's OAuth Authorize page gives api.instagram.com/oauth/authorize; the business login embed URL uses www.instagram.com)
    authorizationUrl: "https://www.instagram.com/oauth/authorize",
    // Unverified 2026-12-06: needs a live app (the short-lived token exchange's page was not stored)
    tokenUrl: "https://api.instagram.com/oauth/access_token",
    // Checked 2026-12-06: https://developers.facebook.com/documentation/instagram-platform/reference/access_token (graph.instagram.com host)
    apiBaseUrl: "https://graph.instagram.com",
  },
  oauth: {
    // Insights feed analytics backfill and optimal times.
    // Checked 2026-12-06: https://developers.facebook.com/documentation/instagram-platform/reference/oauth-authorize.md (comma-separated instagram_business_* permissions)
    scopes: [
      "instagram_business_basic",
      "instagram_business_content_publish",
      "instagram_business_manage_insights",
    ],
    scopeSeparator: ",",
    // Checked 2026-12-06: https://developers.facebook.com/documentation/instagram-platform/reference/oauth-authorize.md (no PKCE parameters)
    pkce: false,
    clientAuth: "post",
    // The App Dashboard's embed URL uses it to make the user log in again (unconfirmed by a reference page).
    forcePromptParams: { force_authentication: "1" },
  },
  needsClientCredentials: true,
  // Checked 2026-12-06: https://developers.facebook.com/documentation/instagram-platform/reference/refresh_access_token (at least 24 h old, unexpired; 60 days from the refresh)
  refresh: EXTEND_IN_PLACE,
  variants: {
    [FACEBOOK_LOGIN]: {
      via: "facebook",
      oauth: {
        scopes: FACEBOOK_LOGIN_SCOPES,
        scopeSeparator: ",",
        pkce: true,
        clientAuth: "post",
        forcePromptParams: { auth_type: "rerequest" },
      },
      // Checked 2026-12-06: https://developers.facebook.com/docs/facebook-login/guides/access-tokens/get-long-lived (about 60 days, no refresh)
      refresh: { kind: "none" },
      async finishGrant(ctx, tokens) {
        // The same long-lived exchange and granted-permission read as a Facebook connection.
        const long = facebook.finishGrant ? await facebook.finishGrant(ctx, tokens) : tokens;
        return { ...long, extras: { ...tokens.extras, ...long.extras, oauthVersion: FACEBOOK_LOGIN } };
      },
    },
  },

  // Checked 2026-12-06: https://developers.facebook.com/documentation/instagram-platform/reference/access_token (ig_exchange_token with the app secret: 1 h to 60 d)
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
    // Facebook-Login tokens have nothing to refresh (the variant's model is none): answered unchanged.
    if (isFacebookLogin(grant.extras)) {
      return Promise.resolve({
        accessToken: grant.accessToken,
        refreshToken: null,
        expiresAt: grant.expiresAt ?? null,
        extras: { ...grant.extras },
      });
    }
    return extendInPlace(ctx, grant, {
      path: "/refresh_access_token",
      grantType: "ig_refresh_token",
      what: "Instagram token refresh",
    });
  },

  async revoke(ctx, grant) {
    // Unverified 2026-12-06: needs a live app (no revocation for Instagram Login tokens on the pages read, so none is called)
    if (!isFacebookLogin(grant.extras)) return;
    // Checked 2026-12-06: https://developers.facebook.com/docs/graph-api/reference/user/permissions/ (DELETE with the user token)
    // A Facebook-Login grant holds the Facebook user token: removing its permissions deauthorizes the app, page tokens included.
    await graphJson<{ success: boolean }>(
      facebookLoginContext(ctx),
      `/${GRAPH_VERSION}/me/permissions`,
      { method: "DELETE", token: facebookUserToken(grant) },
      "Facebook permissions revoke",
    );
  },

  async profile(ctx, grant) {
    if (isFacebookLogin(grant.extras)) return facebookLoginProfile(ctx, grant);
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
