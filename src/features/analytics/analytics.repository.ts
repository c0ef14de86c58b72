import { and, asc, desc, eq, inArray, isNull, lte, or, sql } from "drizzle-orm";
import { type Db, selectConstants } from "../../db/client";
import { type BackfillJobRow, backfillJobs, postMetrics } from "../../db/schema";
import type { Platform } from "../../lib/domain";
import type { PostMetrics } from "../../platforms/analytics/types";

/** A job still to finish: at most one per account. */
const ACTIVE = ["pending", "running"] as const;

/**
 * Inserts a pending job for the account unless one is pending or running: the check and the insert
 * are one statement, so parallel requests cannot create two. Undefined when one is already active.
 */
export async function insertBackfillUnlessActive(
  db: Db,
  row: { id: string; workspaceId: string; accountId: string; now: number },
): Promise<BackfillJobRow | undefined> {
  // Every column, in table order: drizzle's insert … select requires it.
  const values = {
    id: row.id,
    workspaceId: row.workspaceId,
    accountId: row.accountId,
    status: "pending",
    cursor: null,
    pagesFetched: 0,
    postsImported: 0,
    progress: null,
    attempts: 0,
    nextRunAt: row.now,
    leaseId: null,
    leaseUntil: null,
    errorCode: null,
    errorMessage: null,
    startedAt: null,
    finishedAt: null,
    createdAt: row.now,
    updatedAt: row.now,
  };
  const none = sql`NOT EXISTS (SELECT 1 FROM ${backfillJobs} WHERE ${backfillJobs.accountId} = ${row.accountId} AND ${backfillJobs.status} IN ('pending', 'running'))`;
  const [inserted] = await db
    .insert(backfillJobs)
    .select(selectConstants(db, values).from(sql`(SELECT 1)`).where(none) as never)
    .returning();
  return inserted;
}

export async function findActiveBackfill(db: Db, accountId: string): Promise<BackfillJobRow | undefined> {
  const [row] = await db
    .select()
    .from(backfillJobs)
    .where(and(eq(backfillJobs.accountId, accountId), inArray(backfillJobs.status, ACTIVE)))
    .orderBy(desc(backfillJobs.id))
    .limit(1);
  return row;
}

/** The account's most recent job, of any status. */
export async function latestBackfill(
  db: Db,
  workspaceId: string,
  accountId: string,
): Promise<BackfillJobRow | undefined> {
  const [row] = await db
    .select()
    .from(backfillJobs)
    .where(and(eq(backfillJobs.workspaceId, workspaceId), eq(backfillJobs.accountId, accountId)))
    .orderBy(desc(backfillJobs.id))
    .limit(1);
  return row;
}

/**
 * Claims due jobs with one atomic UPDATE … RETURNING, oldest due first, under this run's lease: two
 * overlapping runs never advance the same job. A claimed job is running from then on.
 */
export function claimDueBackfills(db: Db, leaseId: string, now: number, limit: number, leaseMs: number) {
  const leaseFree = or(isNull(backfillJobs.leaseUntil), lte(backfillJobs.leaseUntil, now));
  const due = db
    .select({ id: backfillJobs.id })
    .from(backfillJobs)
    .where(and(inArray(backfillJobs.status, ACTIVE), lte(backfillJobs.nextRunAt, now), leaseFree))
    .orderBy(asc(backfillJobs.nextRunAt))
    .limit(limit);
  return db
    .update(backfillJobs)
    .set({
      status: "running",
      leaseId,
      leaseUntil: now + leaseMs,
      startedAt: sql`coalesce(${backfillJobs.startedAt}, ${now})`,
      updatedAt: now,
    })
    .where(and(inArray(backfillJobs.id, due), inArray(backfillJobs.status, ACTIVE), leaseFree))
    .returning();
}

/** Hands jobs back without a change, when the run is out of time before reaching them. */
export function releaseBackfills(db: Db, ids: string[], leaseId: string) {
  return db
    .update(backfillJobs)
    .set({ leaseId: null, leaseUntil: null })
    .where(and(inArray(backfillJobs.id, ids), eq(backfillJobs.leaseId, leaseId)));
}

/** D1 binds at most 100 parameters per statement; a post_metrics row binds 14. */
const ROWS_PER_INSERT = 7;

/** Upserts of one page of posts, keyed on (account, post): importing a page twice leaves one row per post. */
export function upsertPostMetrics(
  db: Db,
  owner: { accountId: string; workspaceId: string; platform: Platform },
  posts: PostMetrics[],
  now: number,
) {
  const statements = [];
  for (let i = 0; i < posts.length; i += ROWS_PER_INSERT) {
    const rows = posts.slice(i, i + ROWS_PER_INSERT).map((post) => ({ ...owner, ...post, importedAt: now }));
    statements.push(
      db
        .insert(postMetrics)
        .values(rows)
        .onConflictDoUpdate({
          target: [postMetrics.accountId, postMetrics.platformPostId],
          set: {
            publishedAt: sql`excluded.published_at`,
            impressions: sql`excluded.impressions`,
            reach: sql`excluded.reach`,
            likes: sql`excluded.likes`,
            comments: sql`excluded.comments`,
            shares: sql`excluded.shares`,
            saves: sql`excluded.saves`,
            videoViews: sql`excluded.video_views`,
            importedAt: sql`excluded.imported_at`,
          },
        }),
    );
  }
  return statements;
}

export interface PageOutcome {
  cursor: string | null;
  done: boolean;
  progress: number | null;
}

/**
 * The job after a page, fenced by the lease: cursor and counts move together with the page's rows
 * (same batch). postsImported counts the account's rows this job wrote, so a page fetched twice
 * after a failure is not counted twice.
 */
export function advanceBackfill(
  db: Db,
  job: BackfillJobRow,
  leaseId: string,
  outcome: PageOutcome,
  now: number,
) {
  const since = job.startedAt ?? now;
  return db
    .update(backfillJobs)
    .set({
      cursor: outcome.cursor,
      pagesFetched: sql`${backfillJobs.pagesFetched} + 1`,
      postsImported: sql`(SELECT count(*) FROM ${postMetrics} WHERE ${postMetrics.accountId} = ${job.accountId} AND ${postMetrics.importedAt} >= ${since})`,
      progress: outcome.progress,
      attempts: 0,
      errorCode: null,
      errorMessage: null,
      status: outcome.done ? "completed" : "running",
      finishedAt: outcome.done ? now : null,
      nextRunAt: outcome.done ? null : now,
      leaseId: null,
      leaseUntil: null,
      updatedAt: now,
    })
    .where(and(eq(backfillJobs.id, job.id), eq(backfillJobs.leaseId, leaseId)))
    .returning();
}

/** A failed attempt: retried at `retryAt` from the same cursor, or the job failed when retryAt is null. */
export function setbackBackfill(
  db: Db,
  jobId: string,
  leaseId: string,
  error: { code: string; message: string },
  retryAt: number | null,
  now: number,
) {
  return db
    .update(backfillJobs)
    .set({
      attempts: sql`${backfillJobs.attempts} + 1`,
      errorCode: error.code,
      errorMessage: error.message.slice(0, 500),
      ...(retryAt === null
        ? { status: "failed" as const, finishedAt: now, nextRunAt: null }
        : { nextRunAt: retryAt }),
      leaseId: null,
      leaseUntil: null,
      updatedAt: now,
    })
    .where(and(eq(backfillJobs.id, jobId), eq(backfillJobs.leaseId, leaseId)))
    .returning();
}

/** The account's most recent posts with their metrics, newest first. */
export function recentPostMetrics(db: Db, accountId: string, limit: number) {
  return db
    .select({
      publishedAt: postMetrics.publishedAt,
      impressions: postMetrics.impressions,
      reach: postMetrics.reach,
      likes: postMetrics.likes,
      comments: postMetrics.comments,
      shares: postMetrics.shares,
      saves: postMetrics.saves,
      videoViews: postMetrics.videoViews,
    })
    .from(postMetrics)
    .where(eq(postMetrics.accountId, accountId))
    .orderBy(desc(postMetrics.publishedAt))
    .limit(limit);
}
