import type { WireError, WireProfile } from "./wire";

/** Reddit's answer to a missing, unknown, expired or revoked token. */
export const redditUnauthorized = (): WireError => ({
  status: 401,
  body: { message: "Unauthorized", error: 401 },
});

/** Reddit's answer to a token without the scope a call needs. */
export const redditForbidden = (): WireError => ({ status: 403, body: { message: "Forbidden", error: 403 } });

/** GET /api/v1/me: the user and their profile subreddit; needs the `identity` scope. */
export function redditMe(
  u: WireProfile & { icon: string; createdUtc: number; karma: number },
  scopes: readonly string[],
): { refused: WireError } | { body: Record<string, unknown> } {
  if (!scopes.includes("identity")) return { refused: redditForbidden() };
  return {
    body: {
      id: u.id,
      name: u.username,
      icon_img: u.icon,
      snoovatar_img: "",
      is_suspended: false,
      verified: true,
      has_verified_email: true,
      created_utc: u.createdUtc,
      link_karma: u.karma,
      comment_karma: u.karma,
      subreddit: {
        title: u.name,
        display_name_prefixed: `u/${u.username}`,
        icon_img: u.icon,
        public_description: "",
        subscribers: 0,
        over_18: false,
      },
    },
  };
}
