import { GOOGLE_OAUTH_ENDPOINTS, GOOGLE_REFRESH, googleJson, googleOAuth, revokeGoogle } from "./google";
import { ProviderError } from "./http";
import type { PlatformModule } from "./types";

/** `GET /v1/accounts` of the My Business Account Management API. */
interface AccountList {
  accounts?: {
    /** "accounts/{accountId}" */
    name: string;
    accountName?: string;
    /** PERSONAL, LOCATION_GROUP, USER_GROUP or ORGANIZATION. */
    type?: string;
    role?: string;
    verificationState?: string;
    accountNumber?: string;
  }[];
  nextPageToken?: string;
}

/** Google Business Profile: Google OAuth with business.manage; the grant's first account is connected. */
export const googlebusiness: PlatformModule = {
  id: "googlebusiness",
  name: "Google Business Profile",
  endpoints: { ...GOOGLE_OAUTH_ENDPOINTS, apiBaseUrl: "https://mybusinessaccountmanagement.googleapis.com" },
  oauth: googleOAuth(["business.manage"]),
  needsClientCredentials: true,
  refresh: GOOGLE_REFRESH,

  // Unverified 2026-12-06: needs a live app (Account Management API accounts.list and business.manage; their pages were not stored)
  async profile(ctx, grant) {
    const list = await googleJson<AccountList>(
      ctx,
      "/v1/accounts",
      grant.accessToken,
      undefined,
      "Google Business accounts",
    );
    const account = list.accounts?.[0];
    const id = account?.name.replace(/^accounts\//, "");
    if (!account || !id) {
      throw new ProviderError(
        "invalid",
        "This Google account manages no Business Profile: create or claim one, then connect again",
        { code: "no_account" },
      );
    }
    const type = account.type && account.type !== "ACCOUNT_TYPE_UNSPECIFIED" ? account.type : null;
    return {
      platformUserId: id,
      username: null,
      displayName: account.accountName ?? null,
      avatarUrl: null,
      accountType: type?.toLowerCase() ?? null,
    };
  },

  async revoke(ctx, grant) {
    await revokeGoogle(ctx, grant);
  },
};
