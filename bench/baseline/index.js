// The baseline: what a bare D1 Worker needs to answer the accounts list, with nothing else.
// No framework, no auth, no validation library: the same keyset query on the same schema and
// indexes as the app's listAccounts, the same page size, and the same JSON shape.
//   GET /accounts?workspace=ws_…&limit=20&cursor=acc_…   newest first, archived left out
//   GET /accounts/acc_…?workspace=ws_…
const LIST_SQL =
  "SELECT * FROM accounts WHERE workspace_id = ?1 AND status <> 'disconnected' ORDER BY id DESC LIMIT ?2";
const LIST_AFTER_SQL =
  "SELECT * FROM accounts WHERE workspace_id = ?1 AND status <> 'disconnected' AND id < ?3 ORDER BY id DESC LIMIT ?2";
const GET_SQL = "SELECT * FROM accounts WHERE workspace_id = ?1 AND id = ?2 LIMIT 1";

const iso = (ms) => (ms === null ? null : new Date(ms).toISOString());
const parse = (text) => (text === null ? null : JSON.parse(text));

function toAccount(row) {
  return {
    id: row.id,
    platform: row.platform,
    platformUserId: row.platform_user_id,
    username: row.username,
    displayName: row.display_name,
    avatarUrl: row.avatar_url,
    accountType: row.account_type,
    status: row.status,
    connectionType: row.connection_type,
    name: row.name,
    metadata: parse(row.metadata),
    permissions: parse(row.scopes),
    tokenExpiresAt: iso(row.token_expires_at),
    lastRefreshedAt: iso(row.last_refreshed_at),
    needsPlaylistReauth: row.needs_playlist_reauth === 1,
    isSharedAccount: row.is_shared_account === 1,
    selectedPage: row.selected_page_id ? { id: row.selected_page_id, name: row.selected_page_name } : null,
    error:
      row.last_error_code && row.last_error_at !== null
        ? { code: row.last_error_code, message: row.last_error_message ?? "", at: iso(row.last_error_at) }
        : null,
    connectedAt: iso(row.connected_at),
    disconnectedAt: iso(row.disconnected_at),
    updatedAt: iso(row.updated_at),
  };
}

const json = (body, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const workspace = url.searchParams.get("workspace");
    if (url.pathname === "/healthz") return json({ ok: true });
    if (!workspace) return json({ error: "workspace is required" }, 400);
    if (url.pathname === "/accounts") {
      const limit = Math.min(100, Math.max(1, Number(url.searchParams.get("limit") ?? 20) || 20));
      const cursor = url.searchParams.get("cursor");
      const statement = cursor
        ? env.DB.prepare(LIST_AFTER_SQL).bind(workspace, limit + 1, cursor)
        : env.DB.prepare(LIST_SQL).bind(workspace, limit + 1);
      const { results } = await statement.all();
      const hasMore = results.length > limit;
      const page = hasMore ? results.slice(0, limit) : results;
      return json({
        data: page.map(toAccount),
        pagination: { has_more: hasMore, next_cursor: hasMore ? page.at(-1).id : null, limit },
      });
    }
    const match = url.pathname.match(/^\/accounts\/(acc_[0-9a-z]{26})$/);
    if (match) {
      const row = await env.DB.prepare(GET_SQL).bind(workspace, match[1]).first();
      return row ? json(toAccount(row)) : json({ error: "Account not found" }, 404);
    }
    return json({ error: "Route not found" }, 404);
  },
};
