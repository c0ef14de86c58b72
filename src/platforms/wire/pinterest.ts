import type { WireError, WireProfile } from "./wire";

/** Pinterest's answer to a missing, unknown, expired or revoked token. */
export const pinterestUnauthorized = (): WireError => ({
  status: 401,
  body: { code: 2, message: "Authentication failed." },
});

/** GET /v5/user_account: a business account and its counts. */
export function pinterestUserAccount(
  u: WireProfile & {
    websiteUrl: string;
    about: string;
    counts: { boards: number; pins: number; followers: number; following: number; monthlyViews: number };
  },
) {
  return {
    account_type: "BUSINESS",
    id: u.id,
    username: u.username,
    business_name: u.name,
    profile_image: u.avatarUrl,
    website_url: u.websiteUrl,
    about: u.about,
    board_count: u.counts.boards,
    pin_count: u.counts.pins,
    follower_count: u.counts.followers,
    following_count: u.counts.following,
    monthly_views: u.counts.monthlyViews,
  };
}
