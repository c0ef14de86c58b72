import { ApiError } from "../lib/errors";
import { ProviderError } from "./http";
import { GRAPH_VERSION, graphJson } from "./meta";
import type { PlatformContext, PlatformModule, Profile } from "./types";

interface PhoneNumber {
  id: string;
  display_phone_number?: string;
  verified_name?: string;
}

/** Reads the WhatsApp Business phone number the token may use; this is the who-am-I of the Cloud API. */
// Unverified 2026-12-06: needs a live app (GET /{phone-number-id} with display_phone_number and verified_name; its reference page was not stored)
async function phoneNumberProfile(
  ctx: PlatformContext,
  token: string,
  phoneNumberId: string,
): Promise<Profile> {
  const number = await graphJson<PhoneNumber>(
    ctx,
    `/${encodeURIComponent(phoneNumberId)}`,
    { token, query: { fields: "id,display_phone_number,verified_name" } },
    "WhatsApp phone number",
  );
  return {
    platformUserId: number.id,
    username: number.display_phone_number ?? null,
    displayName: number.verified_name ?? null,
    avatarUrl: null,
    accountType: "business",
  };
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value.trim() ? value.trim() : undefined;
}

/**
 * WhatsApp Cloud API, connected with a system-user token and the phone number id it sends from (no
 * OAuth, no app credentials). The token lives until revoked in Business Manager; nothing refreshes it.
 */
export const whatsapp: PlatformModule = {
  id: "whatsapp",
  name: "WhatsApp",
  endpoints: {
    // Checked 2026-12-06: https://developers.facebook.com/documentation/business-messaging/whatsapp/get-started.md (Cloud API on graph.facebook.com)
    apiBaseUrl: `https://graph.facebook.com/${GRAPH_VERSION}`,
  },
  needsClientCredentials: false,
  // Unverified 2026-12-06: needs a live app (a system-user token lives until revoked in Business Manager; no vendor page read says so)
  refresh: { kind: "none" },
  // Unverified 2026-12-06: needs a live app (no revocation for system-user tokens outside Business Manager, so none is called)

  async profile(ctx, grant) {
    const phoneNumberId = text(grant.extras.phoneNumberId);
    if (!phoneNumberId)
      throw new ProviderError("invalid", "No WhatsApp phone number id is stored for this account");
    return phoneNumberProfile(ctx, grant.accessToken, phoneNumberId);
  },

  async connectWithCredentials(ctx, input) {
    const given = text(input.extras?.phoneNumberId);
    const phoneNumberId = text(input.platformAccountId) ?? given;
    const accessToken = text(input.accessToken);
    if (given && phoneNumberId !== given) {
      throw new ApiError(
        "INVALID_PARAM",
        "platformAccountId and credentials.phoneNumberId name different numbers",
        [
          { field: "credentials.phoneNumberId", message: "Must match platformAccountId" },
          { field: "platformAccountId", message: "Must match credentials.phoneNumberId" },
        ],
      );
    }
    if (!phoneNumberId || !accessToken) {
      throw new ApiError(
        "INVALID_PARAM",
        "WhatsApp needs the phone number id and a system-user access token",
        [
          ...(phoneNumberId
            ? []
            : [{ field: "credentials.phoneNumberId", message: "The WhatsApp phone number id" }]),
          ...(accessToken
            ? []
            : [{ field: "credentials.accessToken", message: "A system-user access token" }]),
        ],
      );
    }
    const profile = await phoneNumberProfile(ctx, accessToken, phoneNumberId);
    const wabaId = text(input.extras?.wabaId);
    return {
      tokens: {
        accessToken,
        refreshToken: null,
        expiresAt: input.expiresAt ?? null,
        extras: { phoneNumberId: profile.platformUserId, ...(wabaId ? { wabaId } : {}) },
      },
      profile,
    };
  },
};
