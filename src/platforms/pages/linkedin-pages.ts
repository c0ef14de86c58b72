import { apiJson, apiUrl, ProviderError } from "../http";
import type { PlatformContext } from "../types";

/** An organisation (Company Page) the member administers. */
export interface LinkedInOrganization {
  id: string;
  name: string;
  urn: string;
  logoUrl: string | null;
}

/** Decorated organisation in an ACL element (Rest.li `organization~`). */
interface DecoratedOrganization {
  id?: number | string;
  localizedName?: string;
  vanityName?: string;
  logoV2?: {
    original?: string;
    "original~"?: { elements?: { identifiers?: { identifier?: string }[] }[] };
  };
}

/** `GET /v2/organizationAcls?q=roleAssignee` with the organisation decorated in by projection. */
interface AclPage {
  elements?: {
    organization?: string;
    role?: string;
    state?: string;
    "organization~"?: DecoratedOrganization;
  }[];
  paging?: { count?: number; start?: number; total?: number };
}

const ORGANIZATION_URN = /^urn:li:organization:(\d+)$/;
/** The finder's page size; 5 pages bound one listing at 500 organisations. */
const PAGE_SIZE = 100;
const MAX_PAGES = 5;

/**
 * Names and logos come decorated into the ACLs (`organization~`, logo URLs through
 * `original~:playableStreams`), which the v2 endpoint documents; whether the versioned /rest endpoint
 * still decorates is unconfirmed, so this stays on /v2.
 */
// Checked 2026-12-06: https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/organization-access-control-by-role (/rest and /v2 both listed; unversioned APIs "going to be sunset soon")
// Checked 2026-12-06: https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/decoration (decoration deprecated in some LMS versions: /rest needs a second lookup for names)
const PROJECTION =
  "(paging,elements*(organization,role,state,organization~(id,localizedName,vanityName,logoV2(original~:playableStreams))))";

function logoOf(org: DecoratedOrganization | undefined): string | null {
  const elements = org?.logoV2?.["original~"]?.elements ?? [];
  for (let i = elements.length - 1; i >= 0; i--) {
    const url = elements[i]?.identifiers?.[0]?.identifier;
    if (url) return url;
  }
  return null;
}

export type OrganizationListing =
  | { kind: "ok"; organizations: LinkedInOrganization[] }
  | { kind: "no-organization-access" };

/**
 * The member's administered organisations; LinkedIn's 403 ACCESS_DENIED to a token without the
 * organisation scopes is answered as no-organization-access, not as a failure.
 */
export async function listOrganizations(ctx: PlatformContext, token: string): Promise<OrganizationListing> {
  try {
    return { kind: "ok", organizations: await listAdministeredOrganizations(ctx, token) };
  } catch (err) {
    if (err instanceof ProviderError && err.kind === "refused" && err.details.status === 403)
      return { kind: "no-organization-access" };
    throw err;
  }
}

/** Organisations where the member's ADMINISTRATOR role is APPROVED, each once, in LinkedIn's order. */
export async function listAdministeredOrganizations(
  ctx: PlatformContext,
  token: string,
): Promise<LinkedInOrganization[]> {
  const found = new Map<string, LinkedInOrganization>();
  for (let page = 0; page < MAX_PAGES; page++) {
    const start = page * PAGE_SIZE;
    // Rest.li wants the projection's parentheses and commas literal, so the query is written out, not encoded.
    const url = `${apiUrl(ctx, "/v2/organizationAcls")}?q=roleAssignee&role=ADMINISTRATOR&state=APPROVED&start=${start}&count=${PAGE_SIZE}&projection=${PROJECTION}`;
    const body = await apiJson<AclPage>(
      ctx,
      url,
      { token, headers: { "x-restli-protocol-version": "2.0.0" } },
      "LinkedIn organizationAcls",
    );
    const elements = body.elements ?? [];
    for (const element of elements) {
      const id = element.organization?.match(ORGANIZATION_URN)?.[1];
      if (!id || found.has(id)) continue;
      if (element.role && element.role !== "ADMINISTRATOR") continue;
      if (element.state && element.state !== "APPROVED") continue;
      const org = element["organization~"];
      found.set(id, {
        id,
        name: org?.localizedName || org?.vanityName || `Organization ${id}`,
        urn: `urn:li:organization:${id}`,
        logoUrl: logoOf(org),
      });
    }
    const total = body.paging?.total;
    if (elements.length < PAGE_SIZE || (total !== undefined && start + PAGE_SIZE >= total)) break;
  }
  return [...found.values()];
}
