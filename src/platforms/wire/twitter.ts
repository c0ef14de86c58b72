import type { WireError, WireProfile } from "./wire";

/** X's answer to a missing, unknown, expired or revoked token. */
export const twitterUnauthorized = (): WireError => ({
  status: 401,
  body: { title: "Unauthorized", type: "about:blank", status: 401, detail: "Unauthorized" },
});

/** GET /2/users/me: the user, with the optional user.fields asked for. */
export function twitterMe(
  u: WireProfile & { verifiedType: string; createdAt: string },
  userFields: readonly string[],
) {
  const data: Record<string, unknown> = { id: u.id, name: u.name, username: u.username };
  if (userFields.includes("profile_image_url") && u.avatarUrl) data.profile_image_url = u.avatarUrl;
  if (userFields.includes("verified_type")) data.verified_type = u.verifiedType;
  if (userFields.includes("created_at")) data.created_at = u.createdAt;
  return { data };
}
