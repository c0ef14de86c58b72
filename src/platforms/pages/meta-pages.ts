import { ProviderError } from "../http";
import { facebookLoginContext } from "../instagram";
import { GRAPH_VERSION, graphJson } from "../meta";
import type { PlatformContext } from "../types";

/** A Page from `GET /me/accounts`; access_token is the Page token (a secret: never answered). */
interface ManagedPage {
  id: string;
  name?: string;
  access_token?: string;
  picture?: { data?: { url?: string; is_silhouette?: boolean } };
  instagram_business_account?: {
    id: string;
    username?: string;
    name?: string;
    profile_picture_url?: string;
  };
}

interface PageList {
  data?: ManagedPage[];
  paging?: { cursors?: { before?: string; after?: string }; next?: string };
}

const PAGE_SIZE = "100";
/** 5 pages of 100 bound one listing at 500 Pages. */
const MAX_PAGES = 5;

/** Every entry of a Graph edge, following its `after` cursor while `paging.next` is present. */
async function listManagedPages(
  ctx: PlatformContext,
  path: string,
  token: string,
  fields: string,
  what = "Graph me/accounts",
): Promise<ManagedPage[]> {
  const pages: ManagedPage[] = [];
  let after: string | undefined;
  for (let i = 0; i < MAX_PAGES; i++) {
    const body = await graphJson<PageList>(
      ctx,
      path,
      { token, query: { fields, limit: PAGE_SIZE, after } },
      what,
    );
    for (const page of body.data ?? []) if (page?.id) pages.push(page);
    after = body.paging?.next ? body.paging.cursors?.after : undefined;
    if (!after) break;
  }
  return pages;
}

export interface FacebookPage {
  id: string;
  name: string;
  avatarUrl: string | null;
  accessToken: string | null;
}

/** The permission that opens the user's businesses and the Pages they own or manage for clients. */
// Checked 2026-12-06: https://developers.facebook.com/docs/facebook-login/facebook-login-for-business/ (business_management for user access tokens)
export const BUSINESS_SCOPE = "business_management";

/** Whether a grant's scopes reach business-owned and client Pages. */
export const reachesBusinessPages = (scopes: readonly string[] | null | undefined) =>
  Boolean(scopes?.includes(BUSINESS_SCOPE));

/** Businesses whose Pages one listing reads (two edges each), bounding its Graph calls. */
const MAX_BUSINESSES = 10;
const PAGE_FIELDS = "id,name,access_token,picture";

/** Graph's permission errors (10: permission denied; 200: permissions error): that edge is skipped, the token stays good. */
// Checked 2026-12-06: https://developers.facebook.com/documentation/ads-commerce/marketing-api/reference/business/client_pages (error 200, Permissions error)
// Unverified 2026-12-06: needs a live app (code 10 on a business edge the user may not read)
const isPermissionError = (err: unknown) =>
  err instanceof ProviderError && (Number(err.details.code) === 10 || Number(err.details.code) === 200);

async function unlessForbidden(list: () => Promise<ManagedPage[]>): Promise<ManagedPage[]> {
  try {
    return await list();
  } catch (err) {
    if (isPermissionError(err)) return [];
    throw err;
  }
}

/**
 * The Pages the user reaches through their businesses: each business's owned and client Pages, with
 * `fields` asked of each; `prefix` is the versioned path a context whose API base lacks one needs.
 * Graph sends a Page token only where the user has a task on the Page.
 */
// Checked 2026-12-06: https://developers.facebook.com/docs/graph-api/reference/user/businesses/ (GET /{user-id}/businesses)
// Checked 2026-12-06: https://developers.facebook.com/docs/graph-api/reference/business/owned_pages/ (GET /{business-id}/owned_pages)
// Checked 2026-12-06: https://developers.facebook.com/documentation/ads-commerce/marketing-api/reference/business/client_pages (GET /{business-id}/client_pages: Page nodes)
// Unverified 2026-12-06: needs a live app (access_token asked of a business edge's Page nodes with the user token)
async function listBusinessPages(
  ctx: PlatformContext,
  token: string,
  fields: string,
  prefix = "",
): Promise<ManagedPage[]> {
  const businesses = await unlessForbidden(() =>
    listManagedPages(ctx, `${prefix}/me/businesses`, token, "id,name", "Graph me/businesses"),
  );
  const edges = businesses
    .slice(0, MAX_BUSINESSES)
    .flatMap((business) =>
      ["owned_pages", "client_pages"].map((edge) =>
        unlessForbidden(() =>
          listManagedPages(
            ctx,
            `${prefix}/${encodeURIComponent(business.id)}/${edge}`,
            token,
            fields,
            `Graph business ${edge}`,
          ),
        ),
      ),
    );
  return (await Promise.all(edges)).flat();
}

/** One entry per Page, the first listing's first; a later one lends the Page token an earlier one lacked. */
function dedupePages(pages: ManagedPage[]): ManagedPage[] {
  const byId = new Map<string, ManagedPage>();
  for (const page of pages) {
    const seen = byId.get(page.id);
    if (!seen) byId.set(page.id, page);
    else if (!seen.access_token && page.access_token)
      byId.set(page.id, { ...seen, access_token: page.access_token });
  }
  return [...byId.values()];
}

/** `/me/accounts`, then, with `businesses`, the Pages reached through the user's businesses, once each. */
async function listReachablePages(
  ctx: PlatformContext,
  token: string,
  fields: string,
  options: { businesses?: boolean; prefix?: string },
): Promise<ManagedPage[]> {
  const prefix = options.prefix ?? "";
  const managed = await listManagedPages(ctx, `${prefix}/me/accounts`, token, fields);
  if (!options.businesses) return managed;
  return dedupePages([...managed, ...(await listBusinessPages(ctx, token, fields, prefix))]);
}

/**
 * The Pages a Facebook user token manages (`ctx` is Facebook's: its API base carries the version):
 * `/me/accounts`, then, with `businesses`, those reached through the user's businesses.
 */
export async function listFacebookPages(
  ctx: PlatformContext,
  userToken: string,
  options: { businesses?: boolean } = {},
): Promise<FacebookPage[]> {
  const pages = await listReachablePages(ctx, userToken, PAGE_FIELDS, options);
  return pages.map((page) => {
    const picture = page.picture?.data;
    return {
      id: page.id,
      name: page.name ?? page.id,
      avatarUrl: picture?.url && !picture.is_silhouette ? picture.url : null,
      accessToken: page.access_token || null,
    };
  });
}

export interface InstagramBusinessAccount {
  igUserId: string;
  username: string | null;
  name: string | null;
  avatarUrl: string | null;
  pageId: string;
  pageName: string;
  pageAccessToken: string | null;
}

const IG_PAGE_FIELDS =
  "id,name,access_token,instagram_business_account{id,username,name,profile_picture_url}";

/**
 * The Instagram business accounts linked to the Pages a Facebook-Login grant manages (`ctx` is
 * Instagram's; Pages without one are left out): `/me/accounts`, then, with `businesses`, the Pages
 * reached through the user's businesses.
 */
// Checked 2026-12-06: https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/page (a Page's instagram_business_account; a Page role granted through Business Manager also needs ads_management or ads_read)
// Unverified 2026-12-06: needs a live app (instagram_business_account on a business edge's Page nodes for a grant without ads_read)
export async function listInstagramBusinessAccounts(
  ctx: PlatformContext,
  userToken: string,
  options: { businesses?: boolean } = {},
): Promise<InstagramBusinessAccount[]> {
  const pages = await listReachablePages(facebookLoginContext(ctx), userToken, IG_PAGE_FIELDS, {
    ...options,
    prefix: `/${GRAPH_VERSION}`,
  });
  const accounts: InstagramBusinessAccount[] = [];
  for (const page of pages) {
    const ig = page.instagram_business_account;
    if (!ig?.id) continue;
    accounts.push({
      igUserId: ig.id,
      username: ig.username ?? null,
      name: ig.name ?? null,
      avatarUrl: ig.profile_picture_url ?? null,
      pageId: page.id,
      pageName: page.name ?? page.id,
      pageAccessToken: page.access_token || null,
    });
  }
  return accounts;
}
