import { LINKEDIN_VERSION } from "../analytics/linkedin";
import { apiJson, apiUrl, ProviderError } from "../http";
import type { PlatformContext } from "../types";

/** An organisation (Company Page) the member administers. */
export interface LinkedInOrganization {
  id: string;
  name: string;
  urn: string;
  logoUrl: string | null;
}

/** `GET /rest/organizationAcls?q=roleAssignee`: role elements only, the organisation as a URN. */
interface AclPage {
  elements?: { organization?: string; role?: string; state?: string }[];
  paging?: { count?: number; start?: number; total?: number };
}

/** `GET /rest/organizations?ids=List(…)`: a batch get, keyed by organisation id. */
interface OrganizationBatch {
  results?: Record<
    string,
    {
      id?: number;
      localizedName?: string;
      vanityName?: string;
      logoV2?: { original?: string; cropped?: string };
    }
  >;
}

/** `GET /rest/images?ids=List(…)`: a batch get, keyed by image URN. */
interface ImageBatch {
  results?: Record<string, { downloadUrl?: string }>;
}

// Checked 2026-12-06: https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/organization-access-control-by-role (/rest and /v2 both listed; unversioned APIs "going to be sunset soon")
// Checked 2026-12-06: https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/decoration (decoration deprecated in some LMS versions: /rest needs a second lookup for names)
// Checked 2026-12-06: https://learn.microsoft.com/en-us/linkedin/marketing/community-management/organizations/organization-lookup-api?view=li-lms-2024-06 (rw_organization_admin; full records only for organisations the member administers)
// Checked 2026-12-06: https://learn.microsoft.com/en-us/linkedin/marketing/community-management/shares/images-api?view=li-lms-2024-05 (downloadUrl; LinkedIn-Version and X-Restli-Protocol-Version 2.0.0 on every call)
// Unverified 2026-12-06: role, state, start and count on the /rest finder as on /v2; batch gets as ids=List(…) answering { results } keyed by id.
const HEADERS = { "LinkedIn-Version": LINKEDIN_VERSION, "X-Restli-Protocol-Version": "2.0.0" };

const ORGANIZATION_URN = /^urn:li:organization:(\d+)$/;
/** The finder's page size; 5 pages bound one listing at 500 organisations. */
const PAGE_SIZE = 100;
const MAX_PAGES = 5;
// Unverified 2026-12-06: the largest batch size /rest/organizations and /rest/images accept; 50 keeps URLs short.
const BATCH_SIZE = 50;

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += BATCH_SIZE) out.push(items.slice(i, i + BATCH_SIZE));
  return out;
}

/** Rest.li 2.0 wants `List(…)` literal with each member URL-encoded, so the query is written out. */
async function batchGet<T>(ctx: PlatformContext, token: string, path: string, ids: string[], what: string) {
  const list = ids.map(encodeURIComponent).join(",");
  return apiJson<T>(ctx, `${apiUrl(ctx, path)}?ids=List(${list})`, { token, headers: HEADERS }, what);
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

/** Ids of organisations where the member's ADMINISTRATOR role is APPROVED, each once, in LinkedIn's order. */
async function administeredIds(ctx: PlatformContext, token: string): Promise<string[]> {
  const found = new Set<string>();
  for (let page = 0; page < MAX_PAGES; page++) {
    const start = page * PAGE_SIZE;
    const body = await apiJson<AclPage>(
      ctx,
      "/rest/organizationAcls",
      {
        token,
        headers: HEADERS,
        query: {
          q: "roleAssignee",
          role: "ADMINISTRATOR",
          state: "APPROVED",
          start: String(start),
          count: String(PAGE_SIZE),
        },
      },
      "LinkedIn organizationAcls",
    );
    const elements = body.elements ?? [];
    for (const element of elements) {
      const id = element.organization?.match(ORGANIZATION_URN)?.[1];
      if (!id) continue;
      if (element.role && element.role !== "ADMINISTRATOR") continue;
      if (element.state && element.state !== "APPROVED") continue;
      found.add(id);
    }
    const total = body.paging?.total;
    if (elements.length < PAGE_SIZE || (total !== undefined && start + PAGE_SIZE >= total)) break;
  }
  return [...found];
}

/** The administered organisations with names from a batch organisation lookup and logos from the Images API. */
export async function listAdministeredOrganizations(
  ctx: PlatformContext,
  token: string,
): Promise<LinkedInOrganization[]> {
  const ids = await administeredIds(ctx, token);
  const orgs: NonNullable<OrganizationBatch["results"]> = {};
  for (const part of chunks(ids)) {
    const batch = await batchGet<OrganizationBatch>(
      ctx,
      token,
      "/rest/organizations",
      part,
      "LinkedIn organizations",
    );
    Object.assign(orgs, batch.results);
  }
  // Unverified 2026-12-06: logoV2.original is an urn:li:image the Images API resolves (older pages may hold a digitalmediaAsset, left without a logo).
  const images = [
    ...new Set(ids.map((id) => orgs[id]?.logoV2?.original).filter((u) => u?.startsWith("urn:li:image:"))),
  ] as string[];
  const logos: NonNullable<ImageBatch["results"]> = {};
  for (const part of chunks(images)) {
    const batch = await batchGet<ImageBatch>(ctx, token, "/rest/images", part, "LinkedIn images");
    Object.assign(logos, batch.results);
  }
  return ids.map((id) => {
    const org = orgs[id];
    const image = org?.logoV2?.original;
    return {
      id,
      name: org?.localizedName || org?.vanityName || `Organization ${id}`,
      urn: `urn:li:organization:${id}`,
      logoUrl: (image && logos[image]?.downloadUrl) || null,
    };
  });
}
