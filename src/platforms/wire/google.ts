import type { WireError } from "./wire";

/** One entry of a Google error's `errors` list. */
export interface GoogleErrorItem {
  message: string;
  domain: string;
  reason: string;
  location?: string;
  locationType?: string;
}

/** Google's error envelope, as its APIs send it (`errors` and `details` only where the API sends them). */
export function googleError(e: {
  code: number;
  status: string;
  message: string;
  errors?: GoogleErrorItem[];
  details?: unknown[];
  headers?: Record<string, string>;
}): WireError {
  return {
    status: e.code,
    body: {
      error: {
        code: e.code,
        message: e.message,
        ...(e.errors ? { errors: e.errors } : {}),
        status: e.status,
        ...(e.details ? { details: e.details } : {}),
      },
    },
    ...(e.headers ? { headers: e.headers } : {}),
  };
}

/** Google's full answer to a missing, unknown, expired or revoked token, with its WWW-Authenticate. */
export const googleInvalidToken = (): WireError =>
  googleError({
    code: 401,
    status: "UNAUTHENTICATED",
    message:
      "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
    errors: [
      {
        message: "Invalid Credentials",
        domain: "global",
        reason: "authError",
        location: "Authorization",
        locationType: "header",
      },
    ],
    headers: { "www-authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"' },
  });

/** Google's answer to a token without the scope a call needs (insufficientPermissions). */
export function googleInsufficientScope(call: { service: string; method: string; scope: string }): WireError {
  return googleError({
    code: 403,
    status: "PERMISSION_DENIED",
    message: "Request had insufficient authentication scopes.",
    errors: [{ message: "Insufficient Permission", domain: "global", reason: "insufficientPermissions" }],
    details: [
      {
        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
        reason: "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
        domain: "googleapis.com",
        metadata: { service: call.service, method: call.method },
      },
    ],
    headers: {
      "www-authenticate": `Bearer realm="https://accounts.google.com/", error="insufficient_scope", scope="${call.scope}"`,
    },
  });
}

export interface YoutubeChannel {
  id: string;
  etag: string;
  title: string;
  description: string;
  customUrl: string;
  publishedAt: string;
  /** The channel's avatar at `px` pixels square. */
  thumbnail: (px: number) => string;
  country?: string;
}

/** A youtube#channel resource with its snippet. */
export function youtubeChannel(c: YoutubeChannel) {
  const thumb = (px: number) => ({ url: c.thumbnail(px), width: px, height: px });
  return {
    kind: "youtube#channel",
    etag: c.etag,
    id: c.id,
    snippet: {
      title: c.title,
      description: c.description,
      customUrl: c.customUrl,
      publishedAt: c.publishedAt,
      thumbnails: { default: thumb(88), medium: thumb(240), high: thumb(800) },
      localized: { title: c.title, description: c.description },
      ...(c.country ? { country: c.country } : {}),
    },
    contentDetails: { relatedPlaylists: { likes: "", uploads: youtubeUploadsPlaylist(c.id) } },
  };
}

/** A channel's uploads playlist: its id with the UC prefix as UU, as YouTube names it. */
export const youtubeUploadsPlaylist = (channelId: string) =>
  channelId.startsWith("UC") ? `UU${channelId.slice(2)}` : `UU${channelId}`;

/** GET /youtube/v3/playlistItems or /youtube/v3/playlists: a page of resources of `kind`. */
export function youtubeList(kind: string, items: unknown[], etag: string) {
  return { kind, etag, pageInfo: { totalResults: items.length, resultsPerPage: 50 }, items };
}

/** YouTube's page tokens are opaque; these encode the offset, which nothing but this code reads. */
const channelPageToken = (offset: number) => `CAU${offset.toString(36).toUpperCase()}QAA`;
const channelPageOffset = (token: string | null) => {
  const match = token ? /^CAU([0-9A-Z]+)QAA$/.exec(token) : null;
  return match?.[1] ? Number.parseInt(match[1], 36) : 0;
};

/**
 * GET /youtube/v3/channels: a youtube#channelListResponse, one page of `maxResults` (0 to 50,
 * 5 when absent) from `pageToken`, with nextPageToken while more remain.
 */
// Checked 2026-12-06: https://developers.google.com/youtube/v3/docs/channels/list (maxResults 0 to 50, default 5; pageToken and nextPageToken)
export function youtubeChannelList(
  channels: YoutubeChannel[],
  etag: string,
  paging: { maxResults?: string | null; pageToken?: string | null } = {},
) {
  const asked = Number(paging.maxResults);
  const size = paging.maxResults && Number.isInteger(asked) ? Math.min(Math.max(asked, 0), 50) : 5;
  const offset = channelPageOffset(paging.pageToken ?? null);
  const next = offset + size;
  return {
    kind: "youtube#channelListResponse",
    etag,
    ...(size > 0 && next < channels.length ? { nextPageToken: channelPageToken(next) } : {}),
    ...(offset > 0 ? { prevPageToken: channelPageToken(Math.max(offset - size, 0)) } : {}),
    pageInfo: { totalResults: channels.length, resultsPerPage: size },
    items: channels.slice(offset, next).map(youtubeChannel),
  };
}

export interface BusinessAccount {
  id: string;
  name: string;
  type: "PERSONAL" | "LOCATION_GROUP" | "USER_GROUP" | "ORGANIZATION";
  role?: string;
  verificationState: string;
  vettedState: string;
  accountNumber?: string;
  permissionLevel?: string;
}

/** Google Business Profile's GET /v1/accounts of the Account Management API. */
export function businessAccounts(accounts: BusinessAccount[]) {
  return {
    accounts: accounts.map((a) => ({
      name: `accounts/${a.id}`,
      accountName: a.name,
      type: a.type,
      ...(a.role ? { role: a.role } : {}),
      verificationState: a.verificationState,
      vettedState: a.vettedState,
      ...(a.accountNumber ? { accountNumber: a.accountNumber } : {}),
      ...(a.permissionLevel ? { permissionLevel: a.permissionLevel } : {}),
    })),
  };
}

export interface BusinessLocation {
  id: string;
  title: string;
  address?: { lines: string[]; locality: string; postalCode: string; regionCode: string };
}

/** A Business Information API Location with only the readMask's fields (Google answers none it was not asked). */
export function businessLocation(l: BusinessLocation, readMask: string[]) {
  const all: Record<string, unknown> = {
    name: `locations/${l.id}`,
    title: l.title,
    storefrontAddress: l.address
      ? {
          regionCode: l.address.regionCode,
          languageCode: "en",
          postalCode: l.address.postalCode,
          locality: l.address.locality,
          addressLines: l.address.lines,
        }
      : undefined,
  };
  const out: Record<string, unknown> = {};
  for (const field of readMask) if (all[field] !== undefined) out[field] = all[field];
  return out;
}

/** GET /v1/{parent=accounts/*}/locations: one page; an empty list is answered as `{}`, as Google does. */
export function businessLocationPage(
  locations: BusinessLocation[],
  readMask: string[],
  nextPageToken?: string,
) {
  return {
    ...(locations.length ? { locations: locations.map((l) => businessLocation(l, readMask)) } : {}),
    ...(nextPageToken ? { nextPageToken } : {}),
  };
}

/** The Business Information API's answer to a request without the readMask it requires. */
export const googleMissingReadMask = (): WireError =>
  googleError({
    code: 400,
    status: "INVALID_ARGUMENT",
    message: "Request contains an invalid argument.",
    details: [
      {
        "@type": "type.googleapis.com/google.rpc.BadRequest",
        fieldViolations: [{ field: "read_mask", description: "Field is required" }],
      },
    ],
  });

/** A location or account the caller cannot see (or that does not exist). */
export const googleNotFound = (): WireError =>
  googleError({ code: 404, status: "NOT_FOUND", message: "Requested entity was not found." });
