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
    authorizationUrl: "https://accounts.snapchat.com/login/oauth2/authorize",
    tokenUrl: "https://accounts.snapchat.com/login/oauth2/access_token",
    apiBaseUrl: "https://adsapi.snapchat.com",
  },
  oauth: {
    // The Marketing API's one scope, which /v1/me and publishing need.
    scopes: ["snapchat-marketing-api"],
    pkce: false,
    // Snap's examples send client_id and client_secret in the form body.
    clientAuth: "post",
  },
  needsClientCredentials: true,
  // Unconfirmed: access tokens live about an hour and the refresh token is not rotated; a new one is stored if sent.
  refresh: { kind: "non-rotating", leadMs: 10 * MINUTE },
  // No revoke: Snap documents no revocation endpoint for these tokens (unconfirmed).

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
