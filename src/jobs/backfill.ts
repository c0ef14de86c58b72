import { createDb, type Db } from "../db/client";
import type { BackfillJobRow } from "../db/schema";
import { findAccount } from "../features/accounts/accounts.repository";
import { withRefusals } from "../features/accounts/refusal.service";
import { openSession } from "../features/accounts/session";
import {
  advanceBackfill,
  claimDueBackfills,
  releaseBackfills,
  setbackBackfill,
  upsertPostMetrics,
} from "../features/analytics/analytics.repository";
import { randomToken } from "../lib/crypto";
import { ApiError } from "../lib/errors";
import { MAX_CONCURRENCY, pool } from "../lib/pool";
import { DAY, HOUR, MINUTE, SECOND } from "../lib/time";
import { analyticsFetcher } from "../platforms/analytics";
import type { PostMetrics, PostPage } from "../platforms/analytics/types";
import { ProviderError } from "../platforms/http";
import { metered } from "./budget";

/** How far back a backfill reads, and how many posts it keeps at most. */
export const HISTORY_DAYS = 365;
export const MAX_POSTS = 1000;
/** Longer than the slowest page (a list call and up to 25 insights calls, each with its own timeout). */
export const BACKFILL_LEASE_MS = 5 * MINUTE;
/** Wall-clock budget of one run; the rest waits for the next minute. */
export const BACKFILL_BUDGET_MS = 20 * SECOND;
/** Pages one run fetches at most across all jobs. */
export const MAX_PAGES_PER_RUN = 40;
/**
 * Platform calls one run starts before it stops claiming (a page in flight may add up to ~26 each):
 * the scheduled invocation's subrequest allowance is shared with the other cron jobs.
 */
export const MAX_SUBREQUESTS_PER_RUN = 500;
/**
 * Subrequests one page may make at worst: a list call and 25 insights calls, the account and app
 * lookups, the metrics upserts (a statement per few rows) and the job's own update.
 */
const WORST_PAGE_SUBREQUESTS = 40;
/** Consecutive transient failures (rate limits, outages) after which a job fails. */
export const MAX_TRANSIENT_FAILURES = 6;
const CLAIM_BATCH = MAX_CONCURRENCY * 2;
const BACKOFF_BASE_MS = MINUTE;
const BACKOFF_MAX_MS = 30 * MINUTE;
/** A Retry-After longer than this is not waited for in full before trying again. */
const RETRY_AFTER_MAX_MS = 6 * HOUR;
/** While a token awaits its refresh by the token cron, the page is tried again after this. */
const TOKEN_WAIT_MS = 2 * MINUTE;

export interface BackfillOptions {
  budgetMs?: number;
  clock?: () => number;
  historyDays?: number;
  maxPosts?: number;
  maxPages?: number;
  maxSubrequests?: number;
}

export interface BackfillRun {
  claimed: number;
  /** Platform calls made. */
  subrequests: number;
  pages: number;
  completed: number;
  retrying: number;
  failed: number;
  released: number;
}

type Outcome = "page" | "completed" | "retrying" | "failed";
type JobError = { code: string; message: string };

/** Why a job cannot go on (failed now) or must wait (retried from the same cursor). */
class Setback extends Error {
  constructor(
    readonly error: JobError,
    readonly retryInMs: number | null,
  ) {
    super(error.message);
  }
}

const fail = (code: string, message: string) => new Setback({ code, message }, null);

function backoff(attempt: number, retryAfterMs?: number): number {
  const exponential = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempt - 1));
  return Math.max(exponential, Math.min(retryAfterMs ?? 0, RETRY_AFTER_MAX_MS));
}

/** A platform failure as the job sees it: refused and unusable answers end the job, the rest wait. */
function setbackOf(err: unknown, attempt: number): Setback {
  if (err instanceof Setback) return err;
  if (err instanceof ProviderError) {
    if (err.kind === "refused") return fail("ACCESS_REFUSED", `${err.message}. Reconnect the account.`);
    if (err.kind === "invalid") return fail("PROVIDER_ERROR", err.message);
    return new Setback(
      { code: "PROVIDER_UNAVAILABLE", message: err.message },
      backoff(attempt, err.details.retryAfterMs),
    );
  }
  if (err instanceof ApiError) return fail(err.code, err.message);
  return new Setback({ code: "INTERNAL", message: "Unexpected failure while importing" }, backoff(attempt));
}

/** Fetches the job's next page with the account's token; throws a Setback when it cannot. */
async function fetchNextPage(
  env: Env,
  db: Db,
  job: BackfillJobRow,
  now: number,
  run: { subrequests: number },
) {
  const account = await findAccount(db, job.workspaceId, job.accountId);
  if (!account || account.status === "disconnected" || !account.accessTokenEnc)
    throw fail("ACCOUNT_DISCONNECTED", "The account was disconnected");
  if (account.status !== "active")
    throw fail("ACCOUNT_NEEDS_RECONNECT", `The account is ${account.status}: reconnect it, then start again`);
  const fetcher = analyticsFetcher(account.platform);
  if (!fetcher) throw fail("NOT_SUPPORTED", `${account.platform} offers no post analytics`);
  if (account.tokenExpiresAt !== null && account.tokenExpiresAt <= now) {
    // The token cron renews refreshable tokens within minutes; others need the user.
    if (account.nextRefreshAt === null)
      throw fail("TOKEN_EXPIRED", "The access token has expired: reconnect the account");
    throw new Setback(
      { code: "TOKEN_EXPIRED", message: "Waiting for the access token to be refreshed" },
      TOKEN_WAIT_MS,
    );
  }
  const { grant, ctx: resolved } = await openSession({ env, db, now }, account);
  const ctx = {
    ...resolved,
    fetch: ((input, init) => {
      run.subrequests += 1;
      return resolved.fetch(input, init);
    }) as typeof fetch,
  };
  // A refusal breaks the account too; its account.error goes out with this invocation's deliveries.
  const page = await withRefusals(db, account, now, () =>
    fetcher.fetchPage(ctx, {
      grant,
      account: {
        platformUserId: account.platformUserId,
        selectedPageId: account.selectedPageId,
        scopes: account.scopes,
      },
      cursor: job.cursor,
    }),
  );
  return { account, page };
}

interface Limits {
  historyMs: number;
  maxPosts: number;
}

/** What of a page is kept (within the horizon and the post cap), whether the job is done, and its progress. */
function pageOutcome(job: BackfillJobRow, page: PostPage, limits: Limits, now: number) {
  const cutoff = now - limits.historyMs;
  const within = page.posts.filter((post) => post.publishedAt >= cutoff);
  const room = Math.max(0, limits.maxPosts - job.postsImported);
  const kept: PostMetrics[] = within.slice(0, room);
  const pastHorizon = within.length < page.posts.length;
  const full = job.postsImported + kept.length >= limits.maxPosts;
  // A platform answering the cursor it was given would page forever: that ends the job too.
  const stuck = page.nextCursor !== null && page.nextCursor === job.cursor;
  const done = page.nextCursor === null || pastHorizon || full || stuck;
  let progress = job.progress;
  if (done) progress = 1;
  else if (page.total) progress = (job.postsImported + kept.length) / Math.min(page.total, limits.maxPosts);
  else if (kept.length) {
    const oldest = Math.min(...kept.map((post) => post.publishedAt));
    progress = Math.max(
      (now - oldest) / limits.historyMs,
      (job.postsImported + kept.length) / limits.maxPosts,
    );
  }
  if (!done && progress !== null) progress = Math.min(0.99, Math.max(0, Math.round(progress * 1000) / 1000));
  return { kept, done, progress };
}

/** One page of one leased job: rows, cursor and counts in one batch, or a setback recorded. */
async function advanceJob(
  env: Env,
  db: Db,
  job: BackfillJobRow,
  leaseId: string,
  limits: Limits,
  now: number,
  run: { subrequests: number },
): Promise<Outcome> {
  try {
    const { account, page } = await fetchNextPage(env, db, job, now, run);
    const { kept, done, progress } = pageOutcome(job, page, limits, now);
    const owner = { accountId: account.id, workspaceId: account.workspaceId, platform: account.platform };
    const statements = [
      ...upsertPostMetrics(db, owner, kept, now),
      advanceBackfill(db, job, leaseId, { cursor: done ? job.cursor : page.nextCursor, done, progress }, now),
    ];
    await db.batch(statements as unknown as [(typeof statements)[number], ...typeof statements]);
    return done ? "completed" : "page";
  } catch (err) {
    const setback = setbackOf(err, job.attempts + 1);
    const exhausted = setback.retryInMs !== null && job.attempts + 1 >= MAX_TRANSIENT_FAILURES;
    if (!(err instanceof Setback) && !(err instanceof ProviderError) && !(err instanceof ApiError)) {
      console.error(
        JSON.stringify({
          level: "error",
          job: "backfill",
          backfillId: job.id,
          message: err instanceof Error ? err.message.slice(0, 300) : "unknown",
        }),
      );
    }
    const retryAt = setback.retryInMs === null || exhausted ? null : now + setback.retryInMs;
    await setbackBackfill(db, job.id, leaseId, setback.error, retryAt, now);
    return retryAt === null ? "failed" : "retrying";
  }
}

/**
 * The backfill job: claims due jobs with one atomic statement, advances each by one bounded page
 * through its platform's fetcher, at most six at a time, and claims again while time and the page
 * allowance last. A job survives failures: the cursor moves only with the page's rows.
 */
export async function advanceBackfills(
  rawEnv: Env,
  now: number,
  options: BackfillOptions = {},
): Promise<BackfillRun> {
  const { env, budget } = metered(rawEnv);
  const db = createDb(env.DB);
  const clock = options.clock ?? Date.now;
  const deadline = clock() + (options.budgetMs ?? BACKFILL_BUDGET_MS);
  const limits = {
    historyMs: (options.historyDays ?? HISTORY_DAYS) * DAY,
    maxPosts: options.maxPosts ?? MAX_POSTS,
  };
  let pagesLeft = options.maxPages ?? MAX_PAGES_PER_RUN;
  const leaseId = randomToken(12);
  const maxSubrequests = options.maxSubrequests ?? MAX_SUBREQUESTS_PER_RUN;
  const run: BackfillRun = {
    claimed: 0,
    subrequests: 0,
    pages: 0,
    completed: 0,
    retrying: 0,
    failed: 0,
    released: 0,
  };
  while (clock() < deadline && pagesLeft > 0 && run.subrequests < maxSubrequests) {
    const claimed = await claimDueBackfills(
      db,
      leaseId,
      now,
      Math.min(CLAIM_BATCH, pagesLeft),
      BACKFILL_LEASE_MS,
    );
    if (claimed.length === 0) break;
    run.claimed += claimed.length;
    pagesLeft -= claimed.length;
    const late: string[] = [];
    const fetchesBefore = run.subrequests;
    await pool(claimed, MAX_CONCURRENCY, async (job) => {
      // The invocation's subrequests: a page starts only while its worst case fits (one left for the hand-back).
      if (
        clock() >= deadline ||
        run.subrequests >= maxSubrequests ||
        !budget.take(WORST_PAGE_SUBREQUESTS, 1)
      ) {
        late.push(job.id);
        return;
      }
      try {
        const outcome = await advanceJob(env, db, job, leaseId, limits, now, run);
        if (outcome === "page" || outcome === "completed") run.pages += 1;
        if (outcome === "completed") run.completed += 1;
        else if (outcome === "retrying") run.retrying += 1;
        else if (outcome === "failed") run.failed += 1;
      } finally {
        budget.release(WORST_PAGE_SUBREQUESTS);
      }
    });
    budget.spend(run.subrequests - fetchesBefore); // the platform calls (D1 counts itself)
    if (late.length) {
      await releaseBackfills(db, late, leaseId);
      run.released += late.length;
      break;
    }
  }
  return run;
}
