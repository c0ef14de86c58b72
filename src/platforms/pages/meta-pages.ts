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

/** Every Page the user can act for, following Graph's `after` cursor while `paging.next` is present. */
async function listManagedPages(
  ctx: PlatformContext,
  path: string,
  token: string,
  fields: string,
): Promise<ManagedPage[]> {
  const pages: ManagedPage[] = [];
  let after: string | undefined;
  for (let i = 0; i < MAX_PAGES; i++) {
    const body = await graphJson<PageList>(
      ctx,
      path,
      { token, query: { fields, limit: PAGE_SIZE, after } },
      "Graph me/accounts",
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

/** The Pages a Facebook user token manages (`ctx` is Facebook's: its API base carries the version). */
export async function listFacebookPages(ctx: PlatformContext, userToken: string): Promise<FacebookPage[]> {
  const pages = await listManagedPages(ctx, "/me/accounts", userToken, "id,name,access_token,picture");
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

/**
 * The Instagram business accounts linked to the Pages a Facebook-Login grant manages (`ctx` is
 * Instagram's; Pages without one are left out).
 */
export async function listInstagramBusinessAccounts(
  ctx: PlatformContext,
  userToken: string,
): Promise<InstagramBusinessAccount[]> {
  const pages = await listManagedPages(
    facebookLoginContext(ctx),
    `/${GRAPH_VERSION}/me/accounts`,
    userToken,
    "id,name,access_token,instagram_business_account{id,username,name,profile_picture_url}",
  );
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
