import { listParam, type WireError, type WireProfile } from "./wire";

/** Meta's Graph error envelope (190: invalid token; 100: bad parameter; 101: bad client; 4/17/32/613: rate limits). */
export function graphError(e: {
  status: number;
  code: number;
  message: string;
  traceId: string;
  subcode?: number;
}): WireError {
  return {
    status: e.status,
    body: {
      error: {
        message: e.message,
        type: "OAuthException",
        code: e.code,
        ...(e.subcode ? { error_subcode: e.subcode } : {}),
        fbtrace_id: e.traceId,
      },
    },
  };
}

/** Graph's answer to a missing, unknown, expired or revoked token. */
export const graphInvalidToken = (traceId: string, status = 401) =>
  graphError({
    status,
    code: 190,
    message: "Invalid OAuth access token - Cannot parse access token",
    traceId,
  });

/** A long-lived exchange or extension asked with another grant_type. */
export const graphWrongGrantType = (expected: string, traceId: string) =>
  graphError({ status: 400, code: 100, message: `grant_type must be ${expected}`, traceId });

/** A long-lived exchange with the wrong client id or secret. */
export const graphBadClient = (traceId: string) =>
  graphError({ status: 400, code: 101, message: "Error validating client secret.", traceId });

/** A short → long-lived exchange of a token that is already long-lived. */
export const graphAlreadyLongLived = (traceId: string) =>
  graphError({
    status: 400,
    code: 100,
    message: "The token is already long-lived: extend it with the refresh endpoint",
    traceId,
  });

/** A long-lived extension of a token that is still short-lived. */
export const graphNotLongLived = (traceId: string) =>
  graphError({
    status: 400,
    code: 100,
    message: "Only a long-lived token can be refreshed; exchange the short-lived one first",
    traceId,
  });

/** Graph answers the requested fields (the defaults when none is asked), and always the id. */
export function graphFields(fields: string | null, all: Record<string, unknown>, defaults: string[]) {
  const asked = fields === null ? defaults : listParam(fields);
  const out: Record<string, unknown> = {};
  for (const field of asked) if (all[field] !== undefined) out[field] = all[field];
  if (all.id !== undefined) out.id = all.id;
  return out;
}

/** The long-lived token answer of fb_exchange_token, ig_/th_exchange_token and ig_/th_refresh_token. */
export function longLivedToken(t: { accessToken: string; expiresIn: number; permissions?: string[] }) {
  return {
    access_token: t.accessToken,
    token_type: "bearer",
    expires_in: t.expiresIn,
    ...(t.permissions ? { permissions: t.permissions.join(",") } : {}),
  };
}

/** Graph's default picture of a user without one. */
export const FACEBOOK_SILHOUETTE = "https://static.xx.fbcdn.net/rsrc.php/silhouette.png";

/** A user's or Page's `picture` field: the silhouette when there is none. */
export const graphPicture = (url: string | undefined) => ({
  data: { height: 50, width: 50, is_silhouette: !url, url: url || FACEBOOK_SILHOUETTE },
});

/** Facebook's GET /me: id, name and picture, as the fields ask (name by default). */
export function facebookMe(p: WireProfile, fields: string | null) {
  return graphFields(fields, { id: p.id, name: p.name, picture: graphPicture(p.avatarUrl) }, ["name"]);
}

/** Facebook's GET /me/permissions, in the order given; the declined ones so marked. */
export function facebookPermissions(permissions: string[], declined: readonly string[] = []) {
  return {
    data: permissions.map((permission) => ({
      permission,
      status: declined.includes(permission) ? "declined" : "granted",
    })),
  };
}

export interface InstagramUser extends WireProfile {
  /** The Instagram professional account's app-scoped id, when it differs from the user id. */
  appScopedId?: string;
  accountType: string;
  counts?: { followers: number; follows: number; media: number };
}

/** Instagram Login's GET /me, as the fields ask (username by default). */
export function instagramMe(u: InstagramUser, fields: string | null) {
  const all: Record<string, unknown> = {
    id: u.appScopedId ?? u.id,
    user_id: u.id,
    username: u.username,
    name: u.name,
    profile_picture_url: u.avatarUrl ?? "",
    account_type: u.accountType,
    followers_count: u.counts?.followers,
    follows_count: u.counts?.follows,
    media_count: u.counts?.media,
  };
  return graphFields(fields, all, ["username"]);
}

/** Threads' GET /me, as the fields ask (username by default). */
export function threadsMe(u: WireProfile & { biography: string }, fields: string | null) {
  const all: Record<string, unknown> = {
    id: u.id,
    username: u.username,
    name: u.name,
    threads_profile_picture_url: u.avatarUrl ?? "",
    threads_biography: u.biography,
  };
  return graphFields(fields, all, ["username"]);
}

/** The WhatsApp Cloud API's phone number node, GET /{phone-number-id}, as the fields ask. */
export function whatsappPhoneNumber(
  phone: { id: string; displayNumber: string; verifiedName: string },
  fields: string | null,
) {
  const all = {
    id: phone.id,
    display_phone_number: phone.displayNumber,
    verified_name: phone.verifiedName,
    quality_rating: "GREEN",
    code_verification_status: "VERIFIED",
  };
  return graphFields(fields, all, ["display_phone_number", "verified_name"]);
}

export interface FacebookPage {
  id: string;
  name: string;
  /** Absent when the user may not act for the Page: Graph then sends no access_token. */
  accessToken?: string;
  avatarUrl?: string;
}

/** Facebook's GET /me/accounts: the Pages a user token can act for, with their Page tokens, as the fields ask. */
export function facebookPageList(pages: FacebookPage[], fields: string | null) {
  return {
    data: pages.map((p) =>
      graphFields(
        fields,
        { id: p.id, name: p.name, access_token: p.accessToken, picture: graphPicture(p.avatarUrl) },
        ["name", "access_token"],
      ),
    ),
    paging: { cursors: { before: "QVFIUb", after: "QVFIUa" } },
  };
}

/** Facebook's GET /me/businesses: the businesses a user belongs to, as the fields ask (name by default). */
export function facebookBusinessList(businesses: { id: string; name: string }[], fields: string | null) {
  return {
    data: businesses.map((b) => graphFields(fields, { id: b.id, name: b.name }, ["name"])),
    paging: { cursors: { before: "QVFIUc", after: "QVFIUd" } },
  };
}

/** A WhatsApp Business Account and its phone numbers, as the sandbox and the test fakes hold them. */
export interface WireWhatsAppBusiness {
  id: string;
  name: string;
  numbers: { id: string; displayNumber: string; verifiedName: string }[];
}

/**
 * GET /debug_token for a business token made by Embedded Signup: the WABAs it was shared appear as
 * the target ids of its whatsapp_business_management grant; a business token never expires (0).
 */
export function whatsappDebugToken(t: {
  appId: string;
  userId: string;
  wabaIds: string[];
  scopes: string[];
}) {
  const granular = ["whatsapp_business_management", "whatsapp_business_messaging"]
    .filter((scope) => t.scopes.includes(scope))
    .map((scope) => ({ scope, target_ids: t.wabaIds }));
  return {
    data: {
      app_id: t.appId,
      type: "SYSTEM_USER",
      application: "Switchboard",
      data_access_expires_at: 0,
      expires_at: 0,
      is_valid: true,
      scopes: t.scopes,
      granular_scopes: granular,
      user_id: t.userId,
    },
  };
}

/** GET /{waba-id}: the WhatsApp Business Account node, as the fields ask (id and name by default). */
export const whatsappBusinessNode = (waba: WireWhatsAppBusiness, fields: string | null) =>
  graphFields(fields, { id: waba.id, name: waba.name, currency: "USD", timezone_id: "1" }, ["name"]);

/** GET /{waba-id}/phone_numbers: every number of the account, as the fields ask. */
export function whatsappPhoneNumberList(waba: WireWhatsAppBusiness, fields: string | null) {
  return {
    data: waba.numbers.map((number) => whatsappPhoneNumber(number, fields)),
    paging: { cursors: { before: "QVFIUe", after: "QVFIUf" } },
  };
}
