// The fan-out through Cloudflare Queues (docs/scaling.md §4): what one consumer invocation
// refreshes per second, what one cron invocation enqueues, the D1 time one refresh takes, and a
// local end-to-end run of the whole path (cron → queue → consumer → D1) over many due accounts.
import { log, median, round, sleep } from "./common.mjs";
import { resetCronAccounts } from "./cron.mjs";

/** wrangler.toml's consumer settings, and Cloudflare's documented ceiling. */
const CONFIGURED_CONCURRENCY = 40;
const DOCUMENTED_CONCURRENCY = 250;
const BATCH = 100;
const WINDOW_S = 300;
/** Refreshes per account per day (docs/scaling.md §2): mix A all on 1-hour tokens, mix C spread. */
const MIX = { A: 28.8, C: 10.3 };
/**
 * The share of one D1 primary's time refreshes may take; the API's own queries keep the rest (the
 * sustained benchmark's mixed load is mostly reads, and a connect or webhook write is rarer than a
 * refresh at scale: half is a conservative split, and past it §6's sharding applies).
 */
const D1_SHARE_FOR_REFRESHES = 0.5;

async function post(url) {
  const res = await fetch(url, { method: "POST" });
  if (!res.ok) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

/** One consumer invocation over `BATCH` due accounts, `rounds` times: refreshes per second and D1 time per refresh. */
async function consumerRounds(url, db, fake, delayMs, rounds) {
  fake.setDelay(delayMs);
  const perSecond = [];
  const d1Ms = [];
  const primaryMs = [];
  const roundTrips = [];
  for (let r = 0; r < rounds; r++) {
    await resetCronAccounts(db, BATCH, Date.now());
    const out = await post(`${url}/__bench/consume?n=${BATCH}`);
    const refreshed = out.run?.refreshed ?? 0;
    if (refreshed !== BATCH)
      throw new Error(`Consumer refreshed ${refreshed} of ${BATCH}: ${JSON.stringify(out)}`);
    perSecond.push(refreshed / (out.elapsedMs / 1000));
    d1Ms.push(out.d1Ms / refreshed);
    if (out.d1PrimaryMs !== null) primaryMs.push(out.d1PrimaryMs / refreshed);
    roundTrips.push(out.d1RoundTrips / refreshed);
  }
  return {
    delayMs,
    perSecond: round(median(perSecond), 1),
    /** As the Worker waits for it: the trip to D1, queueing behind other lanes, and the query. */
    d1WaitMsPerRefresh: round(median(d1Ms), 2),
    /** What the database spends (D1's meta.duration): the primary's time per refresh. */
    d1PrimaryMsPerRefresh: primaryMs.length ? round(median(primaryMs), 3) : null,
    d1RoundTripsPerRefresh: round(median(roundTrips), 2),
  };
}

/** Runs `fn` with the schedule `schedule` (an UPDATE of accounts) sets, then puts the schedule back. */
async function withSchedule(db, schedule, fn) {
  await db.exec("DROP TABLE IF EXISTS bench_saved_schedule");
  await db.exec("CREATE TABLE bench_saved_schedule (id TEXT PRIMARY KEY, next_refresh_at INTEGER)");
  await db.exec(
    "INSERT INTO bench_saved_schedule SELECT id, next_refresh_at FROM accounts WHERE status <> 'disconnected'",
  );
  try {
    await db.prepare(schedule).bind(Date.now()).run();
    return await fn();
  } finally {
    await db.exec(
      "UPDATE accounts SET next_refresh_at = (SELECT s.next_refresh_at FROM bench_saved_schedule s WHERE s.id = accounts.id), refresh_lease_id = NULL, refresh_lease_until = NULL WHERE id IN (SELECT id FROM bench_saved_schedule)",
    );
    await db.exec("DROP TABLE bench_saved_schedule");
  }
}

/** Every live account due (the claim side does not care about platforms). */
const EVERY_ACCOUNT_DUE = "UPDATE accounts SET next_refresh_at = ?1 - 60000 WHERE status <> 'disconnected'";
/** Only the cron accounts (X, against the fake token endpoint) may be due: the others wait a day. */
const ONLY_CRON_DUE =
  "UPDATE accounts SET next_refresh_at = ?1 + 86400000 WHERE status <> 'disconnected' AND NOT (platform = 'twitter' AND platform_user_id LIKE 'cron-%')";

/** cron → queue → consumer → D1 over `count` due accounts, through Miniflare's local queue. */
async function endToEnd(urls, db, fake, e2eAccounts) {
  fake.setDelay(10);
  await resetCronAccounts(db, e2eAccounts, Date.now());
  fake.reset();
  const t0 = performance.now();
  const scheduled = await post(`${urls.fanout}/__bench/scheduled`);
  const refreshedCount = async () =>
    (
      await db
        .prepare(
          "SELECT count(*) AS n FROM accounts WHERE platform = 'twitter' AND platform_user_id LIKE 'cron-%' AND last_refreshed_at IS NOT NULL",
        )
        .all()
    ).results[0].n;
  const deadline = Date.now() + Math.max(300_000, e2eAccounts * 60);
  let refreshed = await refreshedCount();
  while (refreshed < e2eAccounts && Date.now() < deadline) {
    await sleep(250);
    refreshed = await refreshedCount();
  }
  const wallMs = performance.now() - t0;
  // Give a straggling duplicate the chance to show before counting.
  await sleep(3000);
  return {
    dueAccounts: e2eAccounts,
    enqueued: scheduled.report?.refreshTokens?.enqueued ?? null,
    refreshed: await refreshedCount(),
    tokenRequests: fake.stats.requests,
    doubleRefreshes: fake.stats.reusedRefreshTokens,
    wallMs: round(wallMs, 0),
    refreshesPerSecond: round(refreshed / (wallMs / 1000), 1),
    tokenRequestsInFlightAtMost: fake.stats.maxInFlight,
    tokenLatencyMs: 10,
    localConsumerConcurrency: 1,
  };
}

export async function measureFanout({ urls, db, fake, e2eAccounts, rounds }) {
  log(`Fan-out: consumer invocations of ${BATCH} refreshes at 100 ms and 250 ms token latency …`);
  const [at100, at250] = await withSchedule(db, ONLY_CRON_DUE, async () => [
    await consumerRounds(urls.instrumented, db, fake, 100, rounds),
    await consumerRounds(urls.instrumented, db, fake, 250, rounds),
  ]);

  log("Fan-out: one cron invocation enqueueing with every account due …");
  const enqueue = await withSchedule(db, EVERY_ACCOUNT_DUE, () =>
    post(`${urls.instrumented}/__bench/enqueue`),
  );
  const enqueuedPerInvocation = enqueue.run.enqueued;

  log(`Fan-out: end to end through the local queue over ${e2eAccounts.toLocaleString("en")} due accounts …`);
  const e2e = await withSchedule(db, ONLY_CRON_DUE, () => endToEnd(urls, db, fake, e2eAccounts));
  await resetCronAccounts(db, 0, Date.now());
  fake.setDelay(100);

  // From the measurements: consumers at the configured concurrency, the cron's enqueue rate, and
  // one D1 primary at the measured D1 time per refresh (half of it left for the API's writes).
  const consumersPerWindow = (perSecond, concurrency) => Math.round(perSecond * concurrency * WINDOW_S);
  const refreshesPerWindow = {
    at100ms: consumersPerWindow(at100.perSecond, CONFIGURED_CONCURRENCY),
    at250ms: consumersPerWindow(at250.perSecond, CONFIGURED_CONCURRENCY),
    at250msDocumentedConcurrency: consumersPerWindow(at250.perSecond, DOCUMENTED_CONCURRENCY),
    enqueue: enqueuedPerInvocation * (WINDOW_S / 60),
  };
  const primaryMs = at250.d1PrimaryMsPerRefresh ?? at250.d1WaitMsPerRefresh;
  const d1PerWindow = Math.round(((D1_SHARE_FOR_REFRESHES * 1000) / primaryMs) * WINDOW_S);
  const perDay = (perWindow) => perWindow * (86_400 / WINDOW_S);
  const schedulable = Math.min(refreshesPerWindow.at250ms, refreshesPerWindow.enqueue);
  const boundBy = d1PerWindow < schedulable ? "d1" : "consumers";
  const capacity = Math.min(schedulable, d1PerWindow);
  const covered = (mix) => Math.round(perDay(capacity) / MIX[mix]);
  const shareOfD1 = (mix, accounts) => round(((accounts * MIX[mix]) / 86_400) * (primaryMs / 1000), 3);
  return {
    batchSize: BATCH,
    configuredConcurrency: CONFIGURED_CONCURRENCY,
    documentedConcurrency: DOCUMENTED_CONCURRENCY,
    perConsumerPerSecond: { at100ms: at100.perSecond, at250ms: at250.perSecond },
    consumerD1: { at100ms: at100, at250ms: at250 },
    enqueuedPerInvocation,
    enqueue: {
      ...enqueue.run,
      sendBatchCalls: enqueue.sent.calls,
      d1RoundTrips: enqueue.d1RoundTrips,
      elapsedMs: enqueue.elapsedMs,
    },
    refreshesPerWindow,
    d1: {
      primaryMsPerRefresh: primaryMs,
      waitMsPerRefresh: at250.d1WaitMsPerRefresh,
      shareForRefreshes: D1_SHARE_FOR_REFRESHES,
      refreshesPerWindow: d1PerWindow,
      shareOfOnePrimaryAt1MMixA: shareOfD1("A", 1_000_000),
      shareOfOnePrimaryAt1MMixC: shareOfD1("C", 1_000_000),
      accountsAtHalfThePrimaryMixA: Math.round(perDay(d1PerWindow) / MIX.A),
    },
    boundBy,
    accountsCoveredMixA: covered("A"),
    accountsCoveredMixC: covered("C"),
    e2e,
  };
}
