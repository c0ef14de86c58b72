import type { WireError, WireProfile } from "./wire";

/** LinkedIn's answer to a missing, unknown, expired or revoked token. */
export const linkedinUnauthorized = (): WireError => ({
  status: 401,
  body: {
    status: 401,
    serviceErrorCode: 65600,
    code: "INVALID_ACCESS_TOKEN",
    message: "Invalid access token",
  },
});

/** LinkedIn's answer to a token without openid on GET /v2/userinfo. */
export const linkedinNoOpenid = (): WireError => ({
  status: 403,
  body: {
    status: 403,
    serviceErrorCode: 100,
    code: "ACCESS_DENIED",
    message: "Not enough permissions to access: userinfo.GET.NO_VERSION",
  },
});

/**
 * GET /v2/userinfo (OpenID Connect): the sub always, the profile claims with `profile`, the email
 * with `email`; a token without `openid` is refused.
 */
export function linkedinUserinfo(
  u: WireProfile & { email: string; picture: string },
  scopes: readonly string[],
): { refused: WireError } | { body: Record<string, unknown> } {
  if (!scopes.includes("openid")) return { refused: linkedinNoOpenid() };
  const [given, ...family] = u.name.split(" ");
  return {
    body: {
      sub: u.id,
      ...(scopes.includes("profile")
        ? {
            name: u.name,
            given_name: given,
            ...(family.length ? { family_name: family.join(" ") } : {}),
            picture: u.picture,
            locale: { country: "US", language: "en" },
          }
        : {}),
      ...(scopes.includes("email") ? { email: u.email, email_verified: true } : {}),
    },
  };
}

/** An organisation a member administers, as the sandbox and the tests describe it. */
export interface WireOrganization {
  id: string;
  name: string;
  vanityName: string;
  logoUrl: string;
}

/** LinkedIn's refusal of the organisation finder to a token without the organisation scopes. */
export const linkedinNoOrganizationAccess = (): WireError => ({
  status: 403,
  body: {
    status: 403,
    serviceErrorCode: 100,
    code: "ACCESS_DENIED",
    message: "Not enough permissions to access: organizationAcls.FINDER-roleAssignee.20240501",
  },
});

/** GET /rest/organizationAcls?q=roleAssignee: the member's approved ADMINISTRATOR roles, no decoration. */
export function linkedinOrganizationAcls(orgs: WireOrganization[], start: number, count: number) {
  const page = orgs.slice(start, start + count);
  return {
    paging: { count, start, total: orgs.length, links: [] },
    elements: page.map((org) => ({
      organization: `urn:li:organization:${org.id}`,
      role: "ADMINISTRATOR",
      state: "APPROVED",
      roleAssignee: "urn:li:person:member",
    })),
  };
}

/** The image URN an organisation's logoV2 names. */
export const linkedinLogoUrn = (org: WireOrganization) => `urn:li:image:C4D0BAQ${org.id}`;

/** The members of a Rest.li 2.0 `ids=List(…)` query, decoded. */
export function linkedinBatchIds(query: URLSearchParams): string[] | null {
  const list = query.get("ids")?.match(/^List\((.*)\)$/)?.[1];
  return list === undefined ? null : list.split(",").filter(Boolean).map(decodeURIComponent);
}

/** GET /rest/organizations?ids=List(…): a batch get keyed by id; ids not administered answer 403 in statuses. */
export function linkedinOrganizationsBatch(orgs: WireOrganization[], ids: string[]) {
  const results: Record<string, unknown> = {};
  const statuses: Record<string, number> = {};
  for (const id of ids) {
    const org = orgs.find((o) => o.id === id);
    statuses[id] = org ? 200 : 403;
    if (org)
      results[id] = {
        id: Number(org.id),
        localizedName: org.name,
        vanityName: org.vanityName,
        logoV2: { original: linkedinLogoUrn(org), cropped: linkedinLogoUrn(org) },
      };
  }
  return { results, statuses, errors: {} };
}

/** GET /rest/images?ids=List(…): a batch get keyed by image URN, each with its downloadUrl. */
export function linkedinImagesBatch(orgs: WireOrganization[], urns: string[]) {
  const results: Record<string, unknown> = {};
  for (const urn of urns) {
    const org = orgs.find((o) => linkedinLogoUrn(o) === urn);
    if (org) results[urn] = { id: urn, status: "AVAILABLE", downloadUrl: org.logoUrl };
  }
  return { results, statuses: {}, errors: {} };
}
