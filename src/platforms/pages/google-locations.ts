import { googleJson } from "../google";
import {
  accountIdOf,
  type BusinessLocationNode,
  businessInformationContext,
  listBusinessAccounts,
  locationIdOf,
} from "../googlebusiness";
import type { PlatformContext } from "../types";

/** A Business Profile location the user can post for, with the account it was listed under. */
export interface BusinessLocation {
  id: string;
  title: string;
  accountId: string;
  accountName: string | null;
  /** The storefront address on one line, when the location has one (service-area businesses do not). */
  address: string | null;
}

interface LocationList {
  locations?: BusinessLocationNode[];
  nextPageToken?: string;
}

// Checked 2026-12-06: https://developers.google.com/my-business/reference/businessinformation/rest/v1/accounts.locations/list (readMask required; pageSize default 10, maximum 100; nextPageToken; a PERSONAL parent lists only the locations it owns directly, any other all it can reach)
const READ_MASK = "name,title,storefrontAddress";
const PAGE_SIZE = "100";
/** 5 pages of 100 per account bound one account's listing at 500 locations. */
const MAX_PAGES = 5;

function oneLine(address: BusinessLocationNode["storefrontAddress"]): string | null {
  if (!address) return null;
  const parts = [
    ...(address.addressLines ?? []),
    [address.postalCode, address.locality].filter(Boolean).join(" "),
    address.administrativeArea,
    address.regionCode,
  ].filter((part): part is string => Boolean(part?.trim()));
  return parts.length ? parts.join(", ") : null;
}

/**
 * Every location of every account the user owns or manages (accounts.list, then locations.list per
 * account, each paged), each once: a location reachable through two accounts keeps the first.
 */
export async function listBusinessLocations(
  ctx: PlatformContext,
  token: string,
): Promise<BusinessLocation[]> {
  const info = businessInformationContext(ctx);
  const found = new Map<string, BusinessLocation>();
  for (const account of await listBusinessAccounts(ctx, token)) {
    const accountId = accountIdOf(account);
    if (!accountId) continue;
    let pageToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page++) {
      const list = await googleJson<LocationList>(
        info,
        `/v1/accounts/${encodeURIComponent(accountId)}/locations`,
        token,
        { readMask: READ_MASK, pageSize: PAGE_SIZE, pageToken },
        "Google Business locations",
      );
      for (const location of list.locations ?? []) {
        const id = locationIdOf(location);
        if (!id || found.has(id)) continue;
        found.set(id, {
          id,
          title: location.title || `Location ${id}`,
          accountId,
          accountName: account.accountName ?? null,
          address: oneLine(location.storefrontAddress),
        });
      }
      pageToken = list.nextPageToken || undefined;
      if (!pageToken) break;
    }
  }
  return [...found.values()];
}
