import type { WireError, WireProfile } from "./wire";

/** Mastodon's answer to a missing, unknown, expired or revoked token. */
export const mastodonUnauthorized = (): WireError => ({
  status: 401,
  body: { error: "The access token is invalid" },
});

/** POST /api/v1/apps without a name or a redirect URI. */
export const mastodonAppInvalid = (): WireError => ({
  status: 422,
  body: { error: "Validation failed: Application name can't be blank, Redirect URI can't be blank" },
});

/** The form fields of POST /api/v1/apps. */
export interface MastodonAppRequest {
  client_name?: string;
  redirect_uris?: string;
  scopes?: string;
  website?: string;
}

/** The instance's answer to an app registration: the registered app with its client credentials. */
export function mastodonApp(
  input: MastodonAppRequest,
  app: { id: string; clientId: string; clientSecret: string; vapidKey: string },
): { refused: WireError } | { body: Record<string, unknown> } {
  const redirectUris = input.redirect_uris;
  if (!input.client_name || !redirectUris) return { refused: mastodonAppInvalid() };
  return {
    body: {
      id: app.id,
      name: input.client_name,
      website: input.website ?? null,
      scopes: (input.scopes ?? "read").split(/\s+/).filter(Boolean),
      redirect_uri: redirectUris,
      redirect_uris: redirectUris.split(/\s+/).filter(Boolean),
      vapid_key: app.vapidKey,
      client_id: app.clientId,
      client_secret: app.clientSecret,
      client_secret_expires_at: 0,
    },
  };
}

/** GET /api/v1/accounts/verify_credentials: the account with its source. */
export function mastodonAccount(
  u: WireProfile & { url: string; createdAt: string; bot: boolean; note: string; language: string },
) {
  return {
    id: u.id,
    username: u.username,
    acct: u.username,
    display_name: u.name,
    locked: false,
    bot: u.bot,
    discoverable: true,
    group: false,
    created_at: u.createdAt,
    note: u.note,
    url: u.url,
    avatar: u.avatarUrl,
    avatar_static: u.avatarUrl,
    header: "",
    header_static: "",
    followers_count: 0,
    following_count: 0,
    statuses_count: 0,
    last_status_at: null,
    emojis: [],
    fields: [],
    source: { privacy: "public", sensitive: false, language: u.language, note: u.note, fields: [] },
  };
}
