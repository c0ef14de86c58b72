import { MINUTE } from "../lib/time";
import { apiJson } from "./http";
import { revokeToken } from "./oauth";
import type { PlatformModule } from "./types";

interface UsersMe {
  data: { id: string; username: string; name: string; profile_image_url?: string; verified_type?: string };
}

/** X: OAuth 2.0 with PKCE; 2-hour access tokens; single-use refresh tokens that rotate on every use. */
export const twitter: PlatformModule = {
  id: "twitter",
  name: "X",
  endpoints: {
    // Unverified 2026-12-06: needs a live app (the authorize and revoke URLs: the stored flow pages were cut before them)
    authorizationUrl: "https://x.com/i/oauth2/authorize",
    // Checked 2026-12-06: https://docs.x.com/ko/fundamentals/authentication/oauth-2-0/authorization-code.md (POST https://api.x.com/2/oauth2/token)
    tokenUrl: "https://api.x.com/2/oauth2/token",
    revocationUrl: "https://api.x.com/2/oauth2/revoke",
    apiBaseUrl: "https://api.x.com",
  },
  oauth: {
    // Checked 2026-12-06: https://docs.x.com/ko/fundamentals/authentication/oauth-2-0/authorization-code.md (a refresh token only with offline.access)
    scopes: ["tweet.read", "tweet.write", "users.read", "offline.access", "media.write"],
    // Checked 2026-12-06: https://docs.x.com/fundamentals/authentication/oauth-2-0/user-access-token (PKCE; confidential clients use Basic at the token endpoints)
    pkce: true,
    clientAuth: "basic",
  },
  needsClientCredentials: true,
  // Checked 2026-12-06: https://docs.x.com/ko/fundamentals/authentication/oauth-2-0/authorization-code.md (access tokens live two hours)
  // The reference contract refreshes within 5 minutes of expiry: a 2-hour token about 12 times a day.
  refresh: { kind: "rotating", leadMs: 5 * MINUTE },

  // Unverified 2026-12-06: needs a live app (GET /2/users/me; its reference page was not stored)
  async profile(ctx, grant) {
    const me = await apiJson<UsersMe>(
      ctx,
      "/2/users/me",
      { token: grant.accessToken, query: { "user.fields": "profile_image_url,verified_type" } },
      "X users/me",
    );
    return {
      platformUserId: me.data.id,
      username: `@${me.data.username}`,
      displayName: me.data.name,
      avatarUrl: me.data.profile_image_url ?? null,
      accountType: me.data.verified_type === "business" ? "business" : "personal",
    };
  },

  async revoke(ctx, grant) {
    // Revoking the refresh token ends the whole grant; the access token goes with it.
    if (grant.refreshToken) await revokeToken(ctx, this, grant.refreshToken, "refresh_token");
    await revokeToken(ctx, this, grant.accessToken, "access_token");
  },
};
