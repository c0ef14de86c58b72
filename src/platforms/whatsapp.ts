import { ApiError } from "../lib/errors";
import { ProviderError } from "./http";
import { GRAPH_VERSION, graphJson, parsePermissions } from "./meta";
import type { Grant, PlatformContext, PlatformModule, Profile, TokenSet } from "./types";

/** extras.oauthVersion of a WhatsApp grant made through Embedded Signup (a business token). */
export const EMBEDDED_SIGNUP = "embedded_signup";

/** Whether the grant is Embedded Signup's business token rather than a system-user token given as credentials. */
export const isEmbeddedSignup = (extras: Record<string, unknown>) => extras.oauthVersion === EMBEDDED_SIGNUP;

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

interface DebugToken {
  data?: {
    is_valid?: boolean;
    expires_at?: number;
    scopes?: unknown;
    granular_scopes?: { scope?: string; target_ids?: unknown }[];
  };
}

/** A phone number of a WhatsApp Business Account the grant reaches: the account's pages. */
export interface WhatsAppNumber {
  id: string;
  displayNumber: string | null;
  verifiedName: string | null;
  wabaId: string;
}

/** One WABA's numbers are few (Meta allows a handful per account): 2 pages of 100 bound the listing. */
const NUMBER_PAGES = 2;
/** The WABAs one grant may name; Embedded Signup shares one per run. */
const MAX_WABAS = 10;

const boundedIds = (ids: string[]) => [...new Set(ids)].slice(0, MAX_WABAS);

/** The WABA ids an Embedded Signup grant holds, first the one the account is. */
export function grantWabaIds(extras: Record<string, unknown>): string[] {
  const listed = Array.isArray(extras.wabaIds) ? extras.wabaIds.filter((id) => typeof id === "string") : [];
  const first = text(extras.wabaId);
  return boundedIds([...(first ? [first] : []), ...listed]);
}

/**
 * The WABAs a business token was shared: the target ids of its whatsapp_business_management grant,
 * read with the app's own token since the business token cannot inspect itself.
 */
// Checked 2026-12-06: https://developers.facebook.com/documentation/business-messaging/whatsapp/embedded-signup/onboarding-customers-as-a-tech-provider.md (the WABA id comes from session logging or an API request with the business token)
// Unverified 2026-12-06: needs a live app (debug_token's granular_scopes[].target_ids naming the shared WABAs; the manage-accounts page describing it was not stored)
async function sharedBusinessAccounts(ctx: PlatformContext, token: string) {
  const debug = await graphJson<DebugToken>(
    ctx,
    "/debug_token",
    { query: { input_token: token, access_token: `${ctx.clientId}|${ctx.clientSecret}` } },
    "WhatsApp debug_token",
  );
  const data = debug.data;
  if (!data?.is_valid) throw new ProviderError("refused", "Meta reports the business token as invalid");
  const wabaIds = boundedIds(
    (data.granular_scopes ?? [])
      .filter((grant) => grant.scope === "whatsapp_business_management")
      .flatMap((grant) => (Array.isArray(grant.target_ids) ? grant.target_ids : []))
      .filter((id): id is string => typeof id === "string" && /^\d{1,20}$/.test(id)),
  );
  const expiresAt = Number(data.expires_at);
  return {
    wabaIds,
    expiresAt: Number.isFinite(expiresAt) && expiresAt > 0 ? expiresAt * 1000 : null,
    scopes: parsePermissions(data.scopes),
  };
}

/** Every phone number of the given WABAs, each once. */
export async function listWhatsAppNumbers(
  ctx: PlatformContext,
  token: string,
  wabaIds: readonly string[],
): Promise<WhatsAppNumber[]> {
  const found = new Map<string, WhatsAppNumber>();
  for (const wabaId of wabaIds) {
    let after: string | undefined;
    for (let page = 0; page < NUMBER_PAGES; page++) {
      // Checked 2026-12-06: https://developers.facebook.com/documentation/business-messaging/whatsapp/embedded-signup/onboarding-customers-as-a-tech-provider.md (the customer's business phone number id, by session logging or API request)
      // Unverified 2026-12-06: needs a live app (GET /{waba-id}/phone_numbers with id, display_phone_number, verified_name and cursor paging)
      const list = await graphJson<{
        data?: PhoneNumber[];
        paging?: { next?: string; cursors?: { after?: string } };
      }>(
        ctx,
        `/${encodeURIComponent(wabaId)}/phone_numbers`,
        { token, query: { fields: "id,display_phone_number,verified_name", limit: "100", after } },
        "WhatsApp phone numbers",
      );
      for (const number of list.data ?? []) {
        if (!number.id || found.has(number.id)) continue;
        found.set(number.id, {
          id: number.id,
          displayNumber: number.display_phone_number ?? null,
          verifiedName: number.verified_name ?? null,
          wabaId,
        });
      }
      after = list.paging?.next ? list.paging.cursors?.after : undefined;
      if (!after) break;
    }
  }
  return [...found.values()];
}

/**
 * Embedded Signup's grant: the business token, the WABAs it was shared (the first is the account),
 * and our app subscribed to each WABA's webhooks, which Meta requires before the customer can use
 * the app. A WABA with one number selects it; with more, the caller selects one as a page.
 */
// Checked 2026-12-06: https://developers.facebook.com/documentation/business-messaging/whatsapp/embedded-signup/onboarding-customers-as-a-tech-provider (exchange the code for a business token, then subscribe to webhooks on the customer's WABA, server to server)
// Unverified 2026-12-06: needs a live app (POST /{waba-id}/subscribed_apps answering {success: true}; registering the number needs the business's own two-step PIN, so it is left to the caller)
async function finishEmbeddedSignup(
  ctx: PlatformContext,
  tokens: TokenSet,
  chosen: EmbeddedSignupChoice = {},
): Promise<TokenSet> {
  const shared = await sharedBusinessAccounts(ctx, tokens.accessToken);
  if (!shared.wabaIds.length) {
    throw new ProviderError(
      "refused",
      "Embedded Signup shared no WhatsApp Business Account with this app; run it again and pick or create one",
    );
  }
  if (chosen.wabaId !== undefined) {
    if (!shared.wabaIds.includes(chosen.wabaId)) {
      throw new ApiError("INVALID_PARAM", "wabaId is not a WhatsApp Business Account this signup shared", [
        { field: "wabaId", message: "Not shared with this app by this signup" },
      ]);
    }
    shared.wabaIds = [chosen.wabaId, ...shared.wabaIds.filter((id) => id !== chosen.wabaId)];
  }
  const numbers = await listWhatsAppNumbers(ctx, tokens.accessToken, shared.wabaIds);
  if (chosen.phoneNumberId !== undefined && !numbers.some((n) => n.id === chosen.phoneNumberId)) {
    throw new ApiError(
      "INVALID_PARAM",
      "phoneNumberId is not a number of the WhatsApp Business Accounts this signup shared",
      [{ field: "phoneNumberId", message: "Not a number of the shared accounts" }],
    );
  }
  const only =
    numbers.find((n) => n.id === chosen.phoneNumberId) ?? (numbers.length === 1 ? numbers[0] : undefined);
  // Only a grant that will be stored subscribes the app: a refused choice leaves the WABA as it was.
  for (const wabaId of shared.wabaIds) {
    await graphJson(
      ctx,
      `/${encodeURIComponent(wabaId)}/subscribed_apps`,
      { method: "POST", token: tokens.accessToken },
      "WhatsApp subscribed_apps",
    );
  }
  return {
    accessToken: tokens.accessToken,
    refreshToken: null,
    expiresAt: shared.expiresAt,
    ...((shared.scopes ?? tokens.scopes) ? { scopes: shared.scopes ?? tokens.scopes } : {}),
    extras: {
      ...tokens.extras,
      oauthVersion: EMBEDDED_SIGNUP,
      wabaId: shared.wabaIds[0],
      wabaIds: shared.wabaIds,
      ...(only ? { phoneNumberId: only.id } : {}),
    },
  };
}

/** What the WA_EMBEDDED_SIGNUP message reported to a page running Meta's JavaScript SDK: checked, never trusted. */
export interface EmbeddedSignupChoice {
  wabaId?: string;
  phoneNumberId?: string;
}

/**
 * Embedded Signup run with Meta's JavaScript SDK (FB.login) on the caller's own page: its code is
 * exchanged server to server with the app's credentials and no redirect URI, then finished as above.
 */
// Checked 2026-12-06: https://developers.facebook.com/documentation/business-messaging/whatsapp/embedded-signup/onboarding-customers-as-a-tech-provider (GET /oauth/access_token with client_id, client_secret and code)
// Unverified 2026-12-06: needs a live app (how long the token code lives; the caller should send it at once)
export async function exchangeEmbeddedSignupCode(
  ctx: PlatformContext,
  code: string,
  chosen: EmbeddedSignupChoice,
): Promise<TokenSet> {
  let body: { access_token?: unknown };
  try {
    body = await graphJson(
      ctx,
      "/oauth/access_token",
      { query: { client_id: ctx.clientId, client_secret: ctx.clientSecret, code } },
      "WhatsApp code exchange",
    );
  } catch (err) {
    // Graph answers a malformed, used or expired code with OAuthException 100.
    if (err instanceof ProviderError && Number(err.details.code) === 100)
      throw new ProviderError("refused", err.message, err.details);
    throw err;
  }
  if (typeof body.access_token !== "string" || !body.access_token)
    throw new ProviderError("invalid", "WhatsApp code exchange answered no access token");
  return finishEmbeddedSignup(ctx, { accessToken: body.access_token, expiresAt: null }, chosen);
}

/** An Embedded Signup account is its WABA; its selected number, if any, names the account's page. */
// Unverified 2026-12-06: needs a live app (GET /{waba-id}?fields=id,name with the business token)
async function businessAccountProfile(ctx: PlatformContext, grant: Grant): Promise<Profile> {
  const [wabaId] = grantWabaIds(grant.extras);
  if (!wabaId)
    throw new ProviderError("invalid", "No WhatsApp Business Account id is stored for this account");
  const waba = await graphJson<{ id: string; name?: string }>(
    ctx,
    `/${encodeURIComponent(wabaId)}`,
    { token: grant.accessToken, query: { fields: "id,name" } },
    "WhatsApp Business Account",
  );
  const phoneNumberId = text(grant.extras.phoneNumberId);
  const number = phoneNumberId ? await phoneNumberProfile(ctx, grant.accessToken, phoneNumberId) : null;
  return {
    platformUserId: waba.id,
    username: number?.username ?? null,
    displayName: waba.name ?? number?.displayName ?? null,
    avatarUrl: null,
    accountType: "business",
    ...(number && phoneNumberId ? { page: { id: phoneNumberId, name: number.username } } : {}),
  };
}

/**
 * WhatsApp Cloud API. Embedded Signup (Meta's Facebook Login for Business flow for Tech Providers)
 * connects a customer's WhatsApp Business Account with the deployment's Meta app; a system-user
 * token and the phone number id it sends from connect without OAuth. Neither token is refreshed.
 */
export const whatsapp: PlatformModule = {
  id: "whatsapp",
  name: "WhatsApp",
  endpoints: {
    // Checked 2026-12-06: https://developers.facebook.com/documentation/business-messaging/whatsapp/get-started.md (Cloud API on graph.facebook.com)
    apiBaseUrl: `https://graph.facebook.com/${GRAPH_VERSION}`,
  },
  // Credentials accounts need no app; Embedded Signup runs with Facebook's (its variant's `via`).
  needsClientCredentials: false,
  // Unverified 2026-12-06: needs a live app (a system-user token lives until revoked in Business Manager; no vendor page read says so)
  refresh: { kind: "none" },
  defaultVariant: EMBEDDED_SIGNUP,
  variants: {
    [EMBEDDED_SIGNUP]: {
      via: "facebook",
      oauth: {
        // The sandbox is asked these; a deployment sends WHATSAPP_CONFIG_ID as config_id instead, whose configuration holds the permissions.
        // Checked 2026-12-06: https://developers.facebook.com/docs/facebook-login/facebook-login-for-business/ (whatsapp_business_management, whatsapp_business_messaging and business_management for business integration system user tokens)
        scopes: ["whatsapp_business_management", "whatsapp_business_messaging", "business_management"],
        scopeSeparator: ",",
        pkce: true,
        clientAuth: "post",
        // Checked 2026-12-06: https://developers.facebook.com/documentation/business-messaging/whatsapp/embedded-signup/app-only-install/ (config_id, response_type code, override_default_response_type and extras.version choose the flow)
        // Unverified 2026-12-06: needs a live app (extras version "v4" on a dialog URL built by hand rather than FB.login; the v4 page's launch example was not stored)
        authorizeParams: {
          override_default_response_type: "true",
          extras: JSON.stringify({ setup: {}, featureType: "", sessionInfoVersion: "3", version: "v4" }),
        },
      },
      // Unverified 2026-12-06: needs a live app (a business integration system user token does not expire; debug_token's expires_at is honoured when it says otherwise)
      refresh: { kind: "none" },
      finishGrant: (ctx, tokens) => finishEmbeddedSignup(ctx, tokens),
    },
  },

  async profile(ctx, grant) {
    if (isEmbeddedSignup(grant.extras)) return businessAccountProfile(ctx, grant);
    const phoneNumberId = text(grant.extras.phoneNumberId);
    if (!phoneNumberId)
      throw new ProviderError("invalid", "No WhatsApp phone number id is stored for this account");
    return phoneNumberProfile(ctx, grant.accessToken, phoneNumberId);
  },

  // Unverified 2026-12-06: needs a live app (no revocation for system-user tokens outside Business Manager, so none is called for them)
  // Unverified 2026-12-06: needs a live app (DELETE /{waba-id}/subscribed_apps ends the app's webhooks for an Embedded Signup WABA)
  async revoke(ctx, grant) {
    if (!isEmbeddedSignup(grant.extras)) return;
    for (const wabaId of grantWabaIds(grant.extras)) {
      await graphJson(
        ctx,
        `/${encodeURIComponent(wabaId)}/subscribed_apps`,
        { method: "DELETE", token: grant.accessToken },
        "WhatsApp unsubscribe",
      );
    }
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
