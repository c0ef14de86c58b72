import { MINUTE } from "../lib/time";
import { apiJson, ProviderError } from "./http";
import type { PlatformModule } from "./types";

interface Me {
  request_status?: string;
  me?: {
    id: string;
    email?: string;
    organization_id?: string;
    display_name?: string;
    snapchat_username?: string;
    member_status?: string;
  };
}

/** Snapchat through the Marketing API (Snap Business accounts); the Public Profile API is allowlist-only. */
export const snapchat: PlatformModule = {
  id: "snapchat",
  name: "Snapchat",
  endpoints: {
    // Unverified 2026-12-06: needs a live app (both URLs are from working integrations; Snap's authentication page was stored only in part)
    authorizationUrl: "https://accounts.snapchat.com/login/oauth2/authorize",
    tokenUrl: "https://accounts.snapchat.com/login/oauth2/access_token",
    // Checked 2026-12-06: https://developers.snap.com/api/marketing-api/Ads-API/authentication (Marketing API bearer tokens)
    apiBaseUrl: "https://adsapi.snapchat.com",
  },
  oauth: {
    // The Marketing API's scope for /v1/me; the Public Profile API's for posting to a Public Profile.
    // Unverified 2026-12-06: needs a live app (snapchat-profile-api is named by working integrations, not by https://developers.snap.com/api/marketing-api/Public-Profile-API/GetStarted, which says allowlist only)
    scopes: ["snapchat-marketing-api", "snapchat-profile-api"],
    pkce: false,
    // Snap's examples send client_id and client_secret in the form body.
    clientAuth: "post",
  },
  needsClientCredentials: true,
  // Unverified 2026-12-06: needs a live app (access tokens about an hour, refresh token not rotated; a new one is stored if sent)
  refresh: { kind: "non-rotating", leadMs: 10 * MINUTE },
  // Unverified 2026-12-06: needs a live app (no revocation endpoint on the pages read, so none is called)

  async profile(ctx, grant) {
    const body = await apiJson<Me>(ctx, "/v1/me", { token: grant.accessToken }, "Snapchat /v1/me");
    const me = body.me;
    if (!me?.id) throw new ProviderError("invalid", "Snapchat /v1/me answered no user id");
    return {
      platformUserId: me.id,
      username: me.snapchat_username ?? me.email ?? null,
      displayName: me.display_name ?? null,
      // The Marketing API exposes Bitmoji ids, not an avatar URL.
      avatarUrl: null,
      accountType: "business",
    };
  },
};
