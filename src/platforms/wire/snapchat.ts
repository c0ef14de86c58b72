import type { WireError, WireProfile } from "./wire";

/** Snapchat's answer to a missing, unknown, expired or revoked token. */
export const snapchatUnauthorized = (requestId: string): WireError => ({
  status: 401,
  body: {
    request_status: "ERROR",
    request_id: requestId,
    debug_message: "Unauthorized",
    display_message: "We're sorry, but the requested resource is not available at this time",
    error_code: "E3003",
  },
});

/** GET /v1/me of the Marketing API: the member, in a request_status envelope. */
export function snapchatMe(
  u: WireProfile & {
    requestId: string;
    createdAt: string;
    updatedAt: string;
    organizationId: string;
    email?: string;
  },
) {
  return {
    request_status: "SUCCESS",
    request_id: u.requestId,
    me: {
      id: u.id,
      updated_at: u.updatedAt,
      created_at: u.createdAt,
      ...(u.email ? { email: u.email } : {}),
      display_name: u.name,
      snapchat_username: u.username,
      organization_id: u.organizationId,
      member_status: "MEMBER",
    },
  };
}
