import { listParam, type WireError, type WireProfile } from "./wire";

/** The scope each field of GET /v2/user/info/ needs. */
export const TIKTOK_USER_INFO_FIELDS: Record<string, "user.info.basic" | "user.info.profile"> = {
  open_id: "user.info.basic",
  union_id: "user.info.basic",
  avatar_url: "user.info.basic",
  display_name: "user.info.basic",
  username: "user.info.profile",
  bio_description: "user.info.profile",
  profile_deep_link: "user.info.profile",
  is_verified: "user.info.profile",
};

const tiktokError = (status: number, code: string, message: string, logId: string): WireError => ({
  status,
  body: { data: {}, error: { code, message, log_id: logId } },
});

/** TikTok's answer to a missing, revoked or unknown access token. */
export const tiktokInvalidToken = (logId: string) =>
  tiktokError(401, "access_token_invalid", "The access token is invalid or not found in the request.", logId);

/**
 * GET /v2/user/info/?fields=…: unknown or no fields are refused, and so is a field whose scope the
 * token lacks; otherwise exactly the fields asked.
 */
export function tiktokUserInfo(
  u: WireProfile & { unionId: string; bio: string; deepLink: string; verified: boolean },
  fieldsParam: string | null,
  scopes: readonly string[],
  logId: string,
): { refused: WireError } | { body: Record<string, unknown> } {
  const fields = listParam(fieldsParam);
  if (!fields.length || fields.some((field) => !(field in TIKTOK_USER_INFO_FIELDS)))
    return { refused: tiktokError(400, "invalid_params", "The fields parameter is invalid", logId) };
  const missing = fields
    .map((field) => TIKTOK_USER_INFO_FIELDS[field])
    .find((scope) => !scopes.includes(scope ?? ""));
  if (missing) {
    const message = `The user did not authorize the scope required for completing this request: ${missing}`;
    return { refused: tiktokError(401, "scope_permission_missed", message, logId) };
  }
  const all: Record<string, unknown> = {
    open_id: u.id,
    union_id: u.unionId,
    avatar_url: u.avatarUrl ?? "",
    display_name: u.name,
    username: u.username,
    bio_description: u.bio,
    profile_deep_link: u.deepLink,
    is_verified: u.verified,
  };
  return {
    body: {
      data: { user: Object.fromEntries(fields.map((field) => [field, all[field]])) },
      error: { code: "ok", message: "", log_id: logId },
    },
  };
}
