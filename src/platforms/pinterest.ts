import { DAY } from "../lib/time";
import { apiJson, ProviderError } from "./http";
import type { PlatformModule } from "./types";

/** `GET /v5/user_account` (an Account). */
interface Account {
  id?: string;
  username?: string;
  business_name?: string | null;
  profile_image?: string;
  /** PINNER or BUSINESS. */
  account_type?: string;
  website_url?: string;
}

/**
 * Pinterest API v5: HTTP Basic on the token endpoint, comma-separated scopes, 30-day access tokens.
 * Continuous refresh tokens last 60 days and every refresh answers a new one with a fresh 60 days
 * (the default for apps activated since 25 Sep 2025; the 365-day legacy token is no longer supported).
 */
export const pinterest: PlatformModule = {
  id: "pinterest",
  name: "Pinterest",
  endpoints: {
    // Checked 2026-12-06: https://developers.pinterest.com/docs/getting-started/set-up-authentication-and-authorization/ (redirect to https://www.pinterest.com/oauth/)
    authorizationUrl: "https://www.pinterest.com/oauth/",
    // Checked 2026-12-06: https://github.com/pinterest/pinterest-python-generated-api-client/blob/main/docs/OauthApi.md (POST /v5/oauth/token, Basic auth)
    tokenUrl: "https://api.pinterest.com/v5/oauth/token",
    // POST /v5/oauth/token/revoke exists but, per Pinterest, only for system-user tokens: no revocationUrl.
    apiBaseUrl: "https://api.pinterest.com",
  },
  oauth: {
    scopes: ["boards:read", "boards:write", "pins:read", "pins:write", "user_accounts:read"],
    scopeSeparator: ",",
    // Unverified 2026-12-06: needs a live app (PKCE is not on Pinterest's pages read)
    pkce: false,
    clientAuth: "basic",
    // Apps created before 25 Sep 2025 get a continuous refresh token only when they ask for it.
    tokenParams: () => ({ continuous_refresh: "true" }),
  },
  needsClientCredentials: true,
  // Checked 2026-12-06: https://developers.pinterest.com/docs/getting-started/scopes/ (the 365-day legacy refresh token is no longer supported)
  // Unverified 2026-12-06: needs a live app (30-day access and 60-day continuous refresh tokens)
  // Each refresh answers a new refresh token; whether the old one stays valid is unconfirmed, so the
  // stricter rotating model: one refresh at a time, the new token always stored.
  refresh: { kind: "rotating", leadMs: 7 * DAY },

  // Checked 2026-12-06: https://logto.io/oauth-providers-explorer/pinterest (GET /v5/user_account as the user endpoint; third party)
  async profile(ctx, grant) {
    const account = await apiJson<Account>(
      ctx,
      "/v5/user_account",
      { token: grant.accessToken },
      "Pinterest user_account",
    );
    const platformUserId = account.id ?? account.username;
    if (!platformUserId) throw new ProviderError("invalid", "Pinterest user_account answered no id");
    const type = account.account_type?.toLowerCase();
    return {
      platformUserId,
      username: account.username ?? null,
      displayName: account.business_name || account.username || null,
      avatarUrl: account.profile_image || null,
      accountType: type === "pinner" ? "personal" : (type ?? null),
    };
  },
};
