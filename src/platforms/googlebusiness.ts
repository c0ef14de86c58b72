import { GOOGLE_OAUTH_ENDPOINTS, GOOGLE_REFRESH, googleJson, googleOAuth, revokeGoogle } from "./google";
import { ProviderError } from "./http";
import type { Grant, PlatformContext, PlatformModule } from "./types";

/** One Business Profile account of `GET /v1/accounts` (Account Management API). */
export interface BusinessAccount {
  /** "accounts/{accountId}" */
  name: string;
  accountName?: string;
  /** PERSONAL, LOCATION_GROUP, USER_GROUP or ORGANIZATION. */
  type?: string;
  role?: string;
  verificationState?: string;
  accountNumber?: string;
}

interface AccountList {
  accounts?: BusinessAccount[];
  nextPageToken?: string;
}

/** A Location of the Business Information API, as the readMask asks it. */
export interface BusinessLocationNode {
  /** "locations/{locationId}" */
  name?: string;
  title?: string;
  storefrontAddress?: {
    addressLines?: string[];
    locality?: string;
    administrativeArea?: string;
    postalCode?: string;
    regionCode?: string;
  };
}

/** The Account Management API's default host, which is also the module's apiBaseUrl. */
const ACCOUNT_MANAGEMENT_HOST = "mybusinessaccountmanagement.googleapis.com";
// Checked 2026-12-06: https://developers.google.com/my-business/reference/businessinformation/rest/v1/accounts.locations/list (locations live on mybusinessbusinessinformation.googleapis.com)
const BUSINESS_INFORMATION_ORIGIN = "https://mybusinessbusinessinformation.googleapis.com";

/**
 * The context for Business Information calls (locations): Google's default API host becomes the
 * Business Information one; a deployment that overrides apiBaseUrl (a sandbox, the tests' fake)
 * serves both APIs there, their paths being distinct.
 */
export function businessInformationContext(ctx: PlatformContext): PlatformContext {
  if (new URL(ctx.endpoints.apiBaseUrl).hostname !== ACCOUNT_MANAGEMENT_HOST) return ctx;
  return { ...ctx, endpoints: { ...ctx.endpoints, apiBaseUrl: BUSINESS_INFORMATION_ORIGIN } };
}

/** accounts.list answers at most 20 a page; 5 pages bound one listing at 100 accounts. */
// Checked 2026-12-06: https://developers.google.com/my-business/reference/accountmanagement/rest/v1/accounts/list (pageSize default and maximum 20, pageToken, nextPageToken; the personal account comes first unless filtered out)
const ACCOUNT_PAGE_SIZE = "20";
const MAX_ACCOUNT_PAGES = 5;

/** Every account the user owns or manages, following nextPageToken, in Google's order. */
export async function listBusinessAccounts(ctx: PlatformContext, token: string): Promise<BusinessAccount[]> {
  const found: BusinessAccount[] = [];
  let pageToken: string | undefined;
  for (let page = 0; page < MAX_ACCOUNT_PAGES; page++) {
    const list = await googleJson<AccountList>(
      ctx,
      "/v1/accounts",
      token,
      { pageSize: ACCOUNT_PAGE_SIZE, pageToken },
      "Google Business accounts",
    );
    for (const account of list.accounts ?? []) if (accountIdOf(account)) found.push(account);
    pageToken = list.nextPageToken || undefined;
    if (!pageToken) break;
  }
  return found;
}

/** "accounts/123" → "123"; undefined for anything else. */
export function accountIdOf(account: Pick<BusinessAccount, "name">): string | undefined {
  return /^accounts\/([^/]+)$/.exec(account.name ?? "")?.[1];
}

/** "locations/456" → "456"; undefined for anything else. */
export function locationIdOf(location: Pick<BusinessLocationNode, "name">): string | undefined {
  return /^locations\/([^/]+)$/.exec(location.name ?? "")?.[1];
}

/** The selected location of a grant (select-page stores it), if any. */
export function selectedLocationId(extras: Record<string, unknown> | null | undefined): string | undefined {
  const id = extras?.locationId;
  return typeof id === "string" && id ? id : undefined;
}

/** The location a grant acts for, read with locations.get. */
// Checked 2026-12-06: https://developers.google.com/my-business/reference/businessinformation/rest/v1/locations/get (GET /v1/{name=locations/*}, readMask required, business.manage)
async function locationProfile(ctx: PlatformContext, grant: Grant, locationId: string) {
  const location = await googleJson<BusinessLocationNode>(
    businessInformationContext(ctx),
    `/v1/locations/${encodeURIComponent(locationId)}`,
    grant.accessToken,
    { readMask: "name,title" },
    "Google Business location",
  );
  const id = locationIdOf(location);
  if (!id) throw new ProviderError("invalid", "Google Business location answered no name");
  return {
    platformUserId: id,
    username: null,
    displayName: location.title ?? null,
    avatarUrl: null,
    accountType: "location",
  };
}

/**
 * Google Business Profile: Google OAuth with business.manage. The grant is the Google user (their
 * personal Business Profile account); the location posts go to is chosen with select-page.
 */
export const googlebusiness: PlatformModule = {
  id: "googlebusiness",
  name: "Google Business Profile",
  endpoints: { ...GOOGLE_OAUTH_ENDPOINTS, apiBaseUrl: `https://${ACCOUNT_MANAGEMENT_HOST}` },
  oauth: googleOAuth(["business.manage"]),
  needsClientCredentials: true,
  refresh: GOOGLE_REFRESH,

  // Unverified 2026-12-06: needs a live app (business.manage grants accounts.list to a user without a Business Profile: the pages read do not say)
  async profile(ctx, grant) {
    const locationId = selectedLocationId(grant.extras);
    if (locationId) return locationProfile(ctx, grant, locationId);
    const accounts = await listBusinessAccounts(ctx, grant.accessToken);
    // The personal account is the user; groups and organisations are businesses they manage.
    const account = accounts.find((a) => a.type === "PERSONAL") ?? accounts[0];
    const id = account && accountIdOf(account);
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
