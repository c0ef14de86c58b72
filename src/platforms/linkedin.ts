import { DAY } from "../lib/time";
import { apiJson, ProviderError } from "./http";
import { revokeToken } from "./oauth";
import type { PlatformModule } from "./types";

/** OpenID Connect userinfo (`GET /v2/userinfo`); `email` only comes with the email scope. */
interface UserInfo {
  sub: string;
  name?: string;
  given_name?: string;
  family_name?: string;
  picture?: string;
  email?: string;
  email_verified?: boolean;
}

const MEMBER_SCOPES = ["openid", "profile", "w_member_social"];

/**
 * LinkedIn: 60-day access tokens. Refresh tokens (365 days from the first grant, not rotated) go only
 * to approved partner apps; without one the account cannot refresh and must reconnect.
 */
export const linkedin: PlatformModule = {
  id: "linkedin",
  name: "LinkedIn",
  endpoints: {
    // Checked 2026-12-06: https://learn.microsoft.com/en-us/linkedin/shared/authentication/authorization-code-flow (authorization on www.linkedin.com/oauth/v2)
    authorizationUrl: "https://www.linkedin.com/oauth/v2/authorization",
    // Unverified 2026-12-06: needs a live app (accessToken and revoke paths: the stored flow page was cut short)
    tokenUrl: "https://www.linkedin.com/oauth/v2/accessToken",
    revocationUrl: "https://www.linkedin.com/oauth/v2/revoke",
    apiBaseUrl: "https://api.linkedin.com",
  },
  oauth: {
    scopes: MEMBER_SCOPES,
    // Page mode posts as the organisations the member administers, and still as the member.
    // Checked 2026-12-06: https://learn.microsoft.com/en-us/linkedin/marketing/usecases/page-management/organic-posts-usecase (w_/r_organization_social, w_member_social)
    // Checked 2026-12-06: https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/organization-access-control-by-role (rw_organization_admin for organizationAcls)
    pageScopes: [...MEMBER_SCOPES, "r_organization_social", "w_organization_social", "rw_organization_admin"],
    // Unverified 2026-12-06: needs a live app (PKCE for native apps only; web apps authenticate with the client secret)
    pkce: false,
    clientAuth: "post",
  },
  needsClientCredentials: true,
  // Checked 2026-12-06: https://learn.microsoft.com/en-us/linkedin/shared/authentication/programmatic-refresh-tokens (60-day access, 365-day refresh from the first grant, approved partners only)
  // A week of lead: the refresh does not extend the refresh token, so refreshing early costs nothing.
  refresh: { kind: "non-rotating", leadMs: 7 * DAY },

  // Unverified 2026-12-06: needs a live app (OpenID userinfo at /v2/userinfo; its page was not stored)
  async profile(ctx, grant) {
    const me = await apiJson<UserInfo>(
      ctx,
      "/v2/userinfo",
      { token: grant.accessToken },
      "LinkedIn userinfo",
    );
    if (!me.sub) throw new ProviderError("invalid", "LinkedIn userinfo answered no sub");
    const displayName = me.name ?? ([me.given_name, me.family_name].filter(Boolean).join(" ") || null);
    return {
      platformUserId: me.sub,
      // LinkedIn exposes no handle to API clients; the email stands in when the email scope was granted.
      username: me.email ?? null,
      displayName,
      avatarUrl: me.picture ?? null,
      accountType: "personal",
    };
  },

  async revoke(ctx, grant) {
    // LinkedIn wants client_id, client_secret and token in the form body: RFC 7009 with client_secret_post.
    await revokeToken(ctx, this, grant.accessToken);
  },
};
