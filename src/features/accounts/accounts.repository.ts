import {
  and,
  type Column,
  desc,
  eq,
  inArray,
  isNull,
  lt,
  lte,
  ne,
  notInArray,
  or,
  type Placeholder,
  type SQL,
  sql,
} from "drizzle-orm";
import type { Db } from "../../db/client";
import { type CompiledSelect, compileSelect } from "../../db/compiled";
import {
  type AccountRow,
  accounts,
  backfillJobs,
  deliveries,
  events,
  type NewAccountRow,
  postMetrics,
} from "../../db/schema";
import type { SecretBox } from "../../lib/crypto";
import type { AccountStatus, Platform } from "../../lib/domain";
import { DAY } from "../../lib/time";
import type { Grant } from "../../platforms/types";
import type { HealthLevel, StatusFilter } from "./accounts.schemas";

export interface AccountFilter {
  status?: StatusFilter;
  platform?: Platform;
  includeArchived?: boolean;
  q?: string;
  endUserId?: string;
  /** Only accounts carrying this usage label. */
  usage?: string;
  /** Only rows with an id below this one (keyset pagination, newest first). */
  beforeId?: string;
}

/** A filter's values, each given as itself or as a placeholder a compiled query fills later. */
interface FilterValues {
  status?: StatusFilter;
  includeArchived?: boolean;
  platform?: Platform | Placeholder;
  endUserId?: string | Placeholder;
  usage?: string | Placeholder;
  beforeId?: string | Placeholder;
  /** A LIKE pattern (`likePattern`) matched against username, display name and name. */
  pattern?: string | Placeholder;
}

const INACTIVE_EXCLUDES: AccountStatus[] = ["active", "disconnected"];
const ERROR_STATUSES: AccountStatus[] = ["error", "expired"];

function statusCondition(status: StatusFilter | undefined, includeArchived: boolean): SQL | undefined {
  switch (status) {
    case "active":
      return eq(accounts.status, "active");
    case "error":
      return inArray(accounts.status, ERROR_STATUSES);
    case "inactive":
      return notInArray(accounts.status, INACTIVE_EXCLUDES);
    case "expired":
    case "suspended":
    case "disconnected":
      return eq(accounts.status, status);
    default:
      return includeArchived ? undefined : ne(accounts.status, "disconnected");
  }
}

const likePattern = (q: string) => `%${q.replace(/[\\%_]/g, (m) => `\\${m}`)}%`;
const likeEscaped = (column: Column, pattern: string | Placeholder) =>
  sql`${column} LIKE ${pattern} ESCAPE '\\'`;

function filterConditions(workspaceId: string | Placeholder, filter: FilterValues): SQL | undefined {
  const conditions: (SQL | undefined)[] = [
    eq(accounts.workspaceId, workspaceId),
    statusCondition(filter.status, filter.includeArchived ?? false),
    filter.platform ? eq(accounts.platform, filter.platform) : undefined,
    filter.endUserId ? eq(accounts.endUserId, filter.endUserId) : undefined,
    filter.usage
      ? sql`EXISTS (SELECT 1 FROM json_each(${accounts.usage}) WHERE json_each.value = ${filter.usage})`
      : undefined,
    filter.beforeId ? lt(accounts.id, filter.beforeId) : undefined,
  ];
  if (filter.pattern) {
    conditions.push(
      or(
        likeEscaped(accounts.username, filter.pattern),
        likeEscaped(accounts.displayName, filter.pattern),
        likeEscaped(accounts.name, filter.pattern),
      ),
    );
  }
  return and(...conditions);
}

/** What the API shows of an account: no ciphertext, lease or refresh bookkeeping is even read. */
export const accountViewColumns = {
  id: accounts.id,
  platform: accounts.platform,
  platformUserId: accounts.platformUserId,
  username: accounts.username,
  displayName: accounts.displayName,
  avatarUrl: accounts.avatarUrl,
  accountType: accounts.accountType,
  status: accounts.status,
  connectionType: accounts.connectionType,
  name: accounts.name,
  metadata: accounts.metadata,
  scopes: accounts.scopes,
  tokenExpiresAt: accounts.tokenExpiresAt,
  lastRefreshedAt: accounts.lastRefreshedAt,
  needsPlaylistReauth: accounts.needsPlaylistReauth,
  isSharedAccount: accounts.isSharedAccount,
  selectedPageId: accounts.selectedPageId,
  selectedPageName: accounts.selectedPageName,
  endUserId: accounts.endUserId,
  usage: accounts.usage,
  lastUsedAt: accounts.lastUsedAt,
  lastErrorCode: accounts.lastErrorCode,
  lastErrorMessage: accounts.lastErrorMessage,
  lastErrorAt: accounts.lastErrorAt,
  connectedAt: accounts.connectedAt,
  disconnectedAt: accounts.disconnectedAt,
  updatedAt: accounts.updatedAt,
};
export type AccountView = Pick<AccountRow, keyof typeof accountViewColumns>;

const listQueries = new Map<string, CompiledSelect<AccountView>>();

/** The list statement for this filter's shape (which filters are set), compiled on first use. */
function listQuery(filter: AccountFilter): CompiledSelect<AccountView> {
  const shape = [
    filter.status,
    filter.includeArchived,
    !!filter.platform,
    !!filter.endUserId,
    !!filter.beforeId,
    !!filter.q,
    !!filter.usage,
  ].join();
  let query = listQueries.get(shape);
  if (!query) {
    const conditions = filterConditions(sql.placeholder("workspaceId"), {
      status: filter.status,
      includeArchived: filter.includeArchived,
      platform: filter.platform && sql.placeholder("platform"),
      endUserId: filter.endUserId && sql.placeholder("endUserId"),
      usage: filter.usage && sql.placeholder("usage"),
      beforeId: filter.beforeId && sql.placeholder("beforeId"),
      pattern: filter.q && sql.placeholder("pattern"),
    });
    query = compileSelect(accountViewColumns, (select) =>
      select.from(accounts).where(conditions).orderBy(desc(accounts.id)).limit(sql.placeholder("limit")),
    );
    listQueries.set(shape, query);
  }
  return query;
}

/** One page, newest first; asks for one row more than `limit` so the caller knows if more follow. */
export function listAccounts(db: Db, workspaceId: string, filter: AccountFilter, limit: number) {
  return listQuery(filter).all(db, {
    workspaceId,
    platform: filter.platform,
    endUserId: filter.endUserId,
    usage: filter.usage,
    beforeId: filter.beforeId,
    pattern: filter.q && likePattern(filter.q),
    limit: limit + 1,
  });
}

/** How many accounts match the filter across every page (the cursor ignored): the list's WHERE, on its index. */
export async function countAccounts(db: Db, workspaceId: string, filter: AccountFilter): Promise<number> {
  const [row] = await db
    .select({ n: sql<number>`count(*)` })
    .from(accounts)
    .where(
      filterConditions(workspaceId, {
        status: filter.status,
        includeArchived: filter.includeArchived,
        platform: filter.platform,
        endUserId: filter.endUserId,
        usage: filter.usage,
        pattern: filter.q && likePattern(filter.q),
      }),
    );
  return row?.n ?? 0;
}

const viewQuery = compileSelect(accountViewColumns, (select) =>
  select
    .from(accounts)
    .where(
      and(eq(accounts.workspaceId, sql.placeholder("workspaceId")), eq(accounts.id, sql.placeholder("id"))),
    )
    .limit(1),
);

const viewByPlatformUserQuery = compileSelect(accountViewColumns, (select) =>
  select
    .from(accounts)
    .where(
      and(
        eq(accounts.workspaceId, sql.placeholder("workspaceId")),
        eq(accounts.platform, sql.placeholder("platform")),
        eq(accounts.platformUserId, sql.placeholder("platformUserId")),
      ),
    )
    .limit(1),
);

/** The public columns of this workspace's account for a platform user. */
export async function findAccountViewByPlatformUser(
  db: Db,
  workspaceId: string,
  platform: Platform,
  platformUserId: string,
) {
  const [row] = await viewByPlatformUserQuery.all(db, { workspaceId, platform, platformUserId });
  return row;
}

/** The public columns of one account, for the API to show. */
export async function findAccountView(db: Db, workspaceId: string, id: string) {
  const [row] = await viewQuery.all(db, { workspaceId, id });
  return row;
}

export async function findAccount(db: Db, workspaceId: string, id: string): Promise<AccountRow | undefined> {
  const [row] = await db
    .select()
    .from(accounts)
    .where(and(eq(accounts.workspaceId, workspaceId), eq(accounts.id, id)))
    .limit(1);
  return row;
}

export async function updateAccount(
  db: Db,
  workspaceId: string,
  id: string,
  changes: { name?: string | null; metadata?: Record<string, unknown> | null; usage?: string[] },
  now: number,
): Promise<AccountRow | undefined> {
  const [row] = await db
    .update(accounts)
    .set({ ...changes, updatedAt: now })
    .where(and(eq(accounts.workspaceId, workspaceId), eq(accounts.id, id)))
    .returning();
  return row;
}

/** Sets lastUsedAt to `now` unless a use after `since` is already recorded (concurrent reads, one write). */
export async function markUsed(db: Db, id: string, now: number, since: number) {
  await db
    .update(accounts)
    .set({ lastUsedAt: now })
    .where(and(eq(accounts.id, id), or(isNull(accounts.lastUsedAt), lte(accounts.lastUsedAt, since))));
}

/** Archives the account: credentials wiped, nothing left to refresh, the row kept (a statement, for a batch). */
export function disconnectAccount(db: Db, workspaceId: string, id: string, now: number) {
  return db
    .update(accounts)
    .set({
      status: "disconnected",
      accessTokenEnc: null,
      refreshTokenEnc: null,
      extrasEnc: null,
      keyVersion: null,
      tokenExpiresAt: null,
      refreshTokenExpiresAt: null,
      tokenIssuedAt: null,
      nextRefreshAt: null,
      refreshLeaseId: null,
      refreshLeaseUntil: null,
      refreshFailures: 0,
      disconnectedAt: sql`coalesce(${accounts.disconnectedAt}, ${now})`,
      updatedAt: now,
    })
    .where(and(eq(accounts.workspaceId, workspaceId), eq(accounts.id, id)))
    .returning();
}

/**
 * Removes the account for good, in one batch: its undelivered webhook deliveries (pending, or failed
 * and so recoverable), its post metrics, its backfill jobs, then the row. Delivered events stay, as
 * the record of what the customer was already sent.
 */
export function eraseAccount(db: Db, workspaceId: string, id: string) {
  const aboutAccount = db
    .select({ id: events.id })
    .from(events)
    .where(
      and(
        eq(events.workspaceId, workspaceId),
        sql`json_extract(${events.payload}, '$.data.account.id') = ${id}`,
      ),
    );
  return db.batch([
    db
      .delete(deliveries)
      .where(
        and(
          eq(deliveries.workspaceId, workspaceId),
          ne(deliveries.status, "succeeded"),
          inArray(deliveries.eventId, aboutAccount),
        ),
      ),
    db
      .delete(postMetrics)
      .where(and(eq(postMetrics.workspaceId, workspaceId), eq(postMetrics.accountId, id))),
    db
      .delete(backfillJobs)
      .where(and(eq(backfillJobs.workspaceId, workspaceId), eq(backfillJobs.accountId, id))),
    db
      .delete(accounts)
      .where(and(eq(accounts.workspaceId, workspaceId), eq(accounts.id, id)))
      .returning({ id: accounts.id }),
  ]);
}

/** This workspace's account for a platform user: the address by platform and platform account id. */
export async function findAccountIdByPlatformUser(
  db: Db,
  workspaceId: string,
  platform: Platform,
  platformUserId: string,
): Promise<string | undefined> {
  const [row] = await db
    .select({ id: accounts.id })
    .from(accounts)
    .where(
      and(
        eq(accounts.workspaceId, workspaceId),
        eq(accounts.platform, platform),
        eq(accounts.platformUserId, platformUserId),
      ),
    )
    .limit(1);
  return row?.id;
}

/** How far ahead an expiry that nothing will refresh counts as a warning. */
export const EXPIRY_WARNING_MS = 7 * DAY;

/**
 * The one definition of an account's health level, as SQL so the page and the workspace-wide
 * summary agree: error when broken, warning when it needs attention soon, healthy otherwise.
 */
export function healthLevelSql(now: number): SQL<HealthLevel> {
  const expired = sql`(${accounts.tokenExpiresAt} IS NOT NULL AND ${accounts.tokenExpiresAt} <= ${now})`;
  const scheduled = sql`${accounts.nextRefreshAt} IS NOT NULL`;
  return sql<HealthLevel>`CASE
    WHEN ${accounts.status} IN ('error', 'expired', 'suspended') THEN 'error'
    WHEN ${expired} AND NOT ${scheduled} THEN 'error'
    WHEN ${expired} OR ${accounts.refreshFailures} > 0 OR ${accounts.needsPlaylistReauth} = 1 THEN 'warning'
    WHEN NOT ${scheduled} AND ${accounts.tokenExpiresAt} IS NOT NULL
      AND ${accounts.tokenExpiresAt} <= ${now + EXPIRY_WARNING_MS} THEN 'warning'
    ELSE 'healthy' END`;
}

/** A health page and the workspace-wide summary, in one round trip. */
export async function accountHealthPage(
  db: Db,
  workspaceId: string,
  filter: Pick<AccountFilter, "platform" | "beforeId">,
  limit: number,
  now: number,
) {
  const level = healthLevelSql(now);
  const [page, summary] = await db.batch([
    db
      .select({ account: accounts, health: level })
      .from(accounts)
      .where(filterConditions(workspaceId, filter))
      .orderBy(desc(accounts.id))
      .limit(limit + 1),
    db
      .select({ health: level, count: sql<number>`count(*)` })
      .from(accounts)
      .where(filterConditions(workspaceId, { platform: filter.platform }))
      .groupBy(level),
  ]);
  return { page, summary };
}

export interface AccountSecrets {
  accessToken: string | null;
  refreshToken: string | null;
  extras: Record<string, unknown> | null;
}

type SecretColumns = Pick<NewAccountRow, "accessTokenEnc" | "refreshTokenEnc" | "extrasEnc" | "keyVersion">;

/** Encrypts every secret of an account under the current key, each bound to its row and column. */
export async function sealAccountSecrets(
  box: SecretBox,
  accountId: string,
  secrets: AccountSecrets,
): Promise<SecretColumns> {
  const seal = (value: string | null, field: string) =>
    value === null ? null : box.encrypt(value, { table: "accounts", rowId: accountId, field });
  const [accessTokenEnc, refreshTokenEnc, extrasEnc] = await Promise.all([
    seal(secrets.accessToken, "access_token"),
    seal(secrets.refreshToken, "refresh_token"),
    seal(secrets.extras === null ? null : JSON.stringify(secrets.extras), "extras"),
  ]);
  const anySecret = accessTokenEnc ?? refreshTokenEnc ?? extrasEnc;
  return { accessTokenEnc, refreshTokenEnc, extrasEnc, keyVersion: anySecret ? box.currentVersion : null };
}

export async function openAccountSecrets(
  box: SecretBox,
  row: Pick<AccountRow, "id" | "accessTokenEnc" | "refreshTokenEnc" | "extrasEnc">,
): Promise<AccountSecrets> {
  const open = (value: string | null, field: string) =>
    value === null ? null : box.decrypt(value, { table: "accounts", rowId: row.id, field });
  const [accessToken, refreshToken, extras] = await Promise.all([
    open(row.accessTokenEnc, "access_token"),
    open(row.refreshTokenEnc, "refresh_token"),
    open(row.extrasEnc, "extras"),
  ]);
  return { accessToken, refreshToken, extras: extras === null ? null : JSON.parse(extras) };
}

/** An account's grant as platform code sees it: tokens decrypted, extras parsed, token times. */
export async function openGrant(
  box: SecretBox,
  row: Pick<
    AccountRow,
    "id" | "accessTokenEnc" | "refreshTokenEnc" | "extrasEnc" | "tokenExpiresAt" | "tokenIssuedAt"
  >,
): Promise<Grant> {
  const secrets = await openAccountSecrets(box, row);
  return {
    accessToken: secrets.accessToken ?? "",
    refreshToken: secrets.refreshToken,
    extras: secrets.extras ?? {},
    expiresAt: row.tokenExpiresAt,
    issuedAt: row.tokenIssuedAt,
  };
}

/** Inserts an account; answers undefined when (workspace, platform, platform user id) exists. */
export async function insertAccount(db: Db, row: NewAccountRow): Promise<AccountRow | undefined> {
  const [inserted] = await db.insert(accounts).values(row).onConflictDoNothing().returning();
  return inserted;
}

/** Accounts that count against the plan (every one not disconnected): all, and those of `platform`. */
export async function countConnectedAccounts(db: Db, workspaceId: string, platform?: Platform) {
  const [row] = await db
    .select({
      total: sql<number>`count(*)`,
      onPlatform: sql<number>`count(CASE WHEN ${accounts.platform} = ${platform ?? null} THEN 1 END)`,
    })
    .from(accounts)
    .where(and(eq(accounts.workspaceId, workspaceId), ne(accounts.status, "disconnected")));
  return { total: row?.total ?? 0, onPlatform: row?.onPlatform ?? 0 };
}

/** This workspace's row for a platform user, and whether another workspace holds the same user. */
export async function findByPlatformUser(
  db: Db,
  workspaceId: string,
  platform: Platform,
  platformUserId: string,
) {
  const rows = await db
    .select()
    .from(accounts)
    .where(and(eq(accounts.platform, platform), eq(accounts.platformUserId, platformUserId)));
  return {
    existing: rows.find((r) => r.workspaceId === workspaceId),
    sharedElsewhere: rows.some((r) => r.workspaceId !== workspaceId && r.status !== "disconnected"),
  };
}

/** Marks every other workspace's live row of this platform user as shared. */
export function markSharedElsewhere(
  db: Db,
  workspaceId: string,
  platform: Platform,
  platformUserId: string,
  now: number,
) {
  return db
    .update(accounts)
    .set({ isSharedAccount: true, updatedAt: now })
    .where(
      and(
        eq(accounts.platform, platform),
        eq(accounts.platformUserId, platformUserId),
        ne(accounts.workspaceId, workspaceId),
        ne(accounts.status, "disconnected"),
        eq(accounts.isSharedAccount, false),
      ),
    );
}
