import { apiUrl } from "../http";
import type { Grant, PlatformContext } from "../types";
import { fetchJson, text } from "./request";
import { type AnalyticsAccount, type AnalyticsFetcher, count, emptyMetrics, type PostMetrics } from "./types";

/**
 * The versioned (/rest) API wants a month in LinkedIn-Version; each is supported for at least a year
 * after release, then sunset (a sunset version is refused).
 */
// Checked 2026-12-06: https://learn.microsoft.com/it-it/linkedin/marketing/integrations/migrations (202603 sunsets 16 Mar 2027)
// Checked 2026-12-06: https://learn.microsoft.com/en-us/linkedin/marketing/community-management/community-management-overview?view=li-lms-2026-08 (202608 is documented; a year of support runs to about Aug 2027)
export const LINKEDIN_VERSION = "202608";

const HEADERS = { "LinkedIn-Version": LINKEDIN_VERSION, "X-Restli-Protocol-Version": "2.0.0" };

/** `GET /rest/posts?q=author`: epoch-ms times; ids are urn:li:share:… or urn:li:ugcPost:…. */
interface PostsByAuthor {
  elements?: { id: string; publishedAt?: number; createdAt?: number; lifecycleState?: string }[];
  paging?: { start?: number; count?: number; total?: number };
}

/** `GET /rest/organizationalEntityShareStatistics?q=organizationalEntity&shares=List(…)&ugcPosts=List(…)`. */
interface ShareStatistics {
  elements?: {
    share?: string;
    ugcPost?: string;
    totalShareStatistics?: {
      impressionCount?: number;
      uniqueImpressionsCount?: number;
      likeCount?: number;
      commentCount?: number;
      shareCount?: number;
      clickCount?: number;
      engagement?: number;
    };
  }[];
}

/** `GET /rest/socialActions/{post urn}`. */
interface SocialActions {
  likesSummary?: { totalLikes?: number };
  commentsSummary?: { aggregatedTotalComments?: number; totalFirstLevelComments?: number };
}

const PAGE_SIZE = 25;
const ORGANIZATION = "urn:li:organization:";

/** The organisation to read: the selected page, else a BYOK organisation author; null for the member. */
function organizationUrn(account: AnalyticsAccount, grant: Grant): string | null {
  const selected = account.selectedPageId;
  if (selected) return selected.startsWith(ORGANIZATION) ? selected : `${ORGANIZATION}${selected}`;
  const author = text(grant.extras, "authorUrn");
  return author?.startsWith(ORGANIZATION) ? author : null;
}

/** Statistics of one page of an organisation's posts, by post urn (the endpoint covers the last 12 months). */
async function organizationStatistics(
  ctx: PlatformContext,
  token: string,
  organization: string,
  ids: string[],
) {
  const url = apiUrl(ctx, "/rest/organizationalEntityShareStatistics", {
    q: "organizationalEntity",
    organizationalEntity: organization,
  });
  // Rest.li lists: the parentheses and commas stay literal, each urn inside is encoded.
  const list = (urns: string[]) => `List(${urns.map(encodeURIComponent).join(",")})`;
  const shares = ids.filter((id) => id.startsWith("urn:li:share:"));
  const ugcPosts = ids.filter((id) => id.startsWith("urn:li:ugcPost:"));
  url.search += `${shares.length ? `&shares=${list(shares)}` : ""}${ugcPosts.length ? `&ugcPosts=${list(ugcPosts)}` : ""}`;
  const body = await fetchJson<ShareStatistics>(
    ctx,
    url,
    { token, headers: HEADERS },
    "LinkedIn share statistics",
  );
  const byPost = new Map<string, Partial<PostMetrics>>();
  for (const element of body.elements ?? []) {
    const id = element.share ?? element.ugcPost;
    const s = element.totalShareStatistics;
    if (!id || !s) continue;
    byPost.set(id, {
      impressions: count(s.impressionCount),
      reach: count(s.uniqueImpressionsCount),
      likes: count(s.likeCount),
      comments: count(s.commentCount),
      shares: count(s.shareCount),
    });
  }
  return byPost;
}

async function memberSocialActions(
  ctx: PlatformContext,
  token: string,
  id: string,
): Promise<Partial<PostMetrics>> {
  const actions = await fetchJson<SocialActions>(
    ctx,
    `/rest/socialActions/${encodeURIComponent(id)}`,
    { token, headers: HEADERS },
    "LinkedIn socialActions",
  );
  return {
    likes: count(actions.likesSummary?.totalLikes),
    comments: count(actions.commentsSummary?.aggregatedTotalComments),
  };
}

/**
 * LinkedIn. Organisation pages (the selected page): posts by author with r_organization_social and
 * their impressions, unique impressions, likes, comments and shares from organizationalEntityShareStatistics
 * with rw_organization_admin. Personal profiles: listing a member's own posts needs r_member_social,
 * which LinkedIn grants only to approved partners, and then only likes and comments (socialActions)
 * are read; impressions for members (memberCreatorPostAnalytics, r_member_postAnalytics) are not.
 */
export const linkedinAnalytics: AnalyticsFetcher = {
  platform: "linkedin",

  unavailable(account, grant) {
    if (!account.scopes.length) return null;
    const organization = organizationUrn(account, grant) !== null;
    const needed = organization ? ["r_organization_social", "rw_organization_admin"] : ["r_member_social"];
    const missing = needed.filter((scope) => !account.scopes.includes(scope));
    if (!missing.length) return null;
    return organization
      ? {
          field: "scopes",
          message: `Reading a LinkedIn page's post analytics needs ${missing.join(" and ")}: reconnect the account in page mode`,
        }
      : {
          field: "platform",
          message:
            "LinkedIn offers personal-profile post analytics only to approved partners (r_member_social): select a LinkedIn page to backfill instead",
        };
  },

  async fetchPage(ctx, { grant, account, cursor }) {
    const organization = organizationUrn(account, grant);
    const author = organization ?? `urn:li:person:${account.platformUserId}`;
    const start = cursor !== null && /^\d+$/.test(cursor) ? Number(cursor) : 0;
    const body = await fetchJson<PostsByAuthor>(
      ctx,
      "/rest/posts",
      {
        token: grant.accessToken,
        headers: HEADERS,
        query: { q: "author", author, count: String(PAGE_SIZE), start: String(start), sortBy: "CREATED" },
      },
      "LinkedIn posts",
    );
    const elements = body.elements ?? [];
    const published = elements.filter(
      (post) =>
        (post.lifecycleState ?? "PUBLISHED") === "PUBLISHED" && count(post.publishedAt ?? post.createdAt),
    );
    const ids = published.map((post) => post.id);
    const stats = organization
      ? ids.length
        ? await organizationStatistics(ctx, grant.accessToken, organization, ids)
        : new Map<string, Partial<PostMetrics>>()
      : null;
    const posts: PostMetrics[] = [];
    for (const post of published) {
      const metrics = stats
        ? (stats.get(post.id) ?? {})
        : await memberSocialActions(ctx, grant.accessToken, post.id);
      posts.push({ ...emptyMetrics(post.id, count(post.publishedAt ?? post.createdAt) ?? 0), ...metrics });
    }
    const total = count(body.paging?.total);
    const next = start + elements.length;
    const more = elements.length >= PAGE_SIZE && (total === null || next < total);
    return { posts, nextCursor: more ? String(next) : null, total };
  },
};
