import type { Platform } from "../../lib/domain";

export const WEEKDAYS = [
  "monday",
  "tuesday",
  "wednesday",
  "thursday",
  "friday",
  "saturday",
  "sunday",
] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface Slot {
  day: Weekday;
  hour: number;
  score: number;
  sampleSize: number;
}

export interface OptimalTimes {
  timezone: string;
  source: "history" | "default";
  method: string;
  slots: Slot[];
}

/** A post's metrics as stored; null where the platform has no such metric. */
export interface MeasuredPost {
  publishedAt: number;
  impressions: number | null;
  reach: number | null;
  likes: number | null;
  comments: number | null;
  shares: number | null;
  saves: number | null;
  videoViews: number | null;
}

/** Below this many measured posts the account's own history is too thin: platform defaults answer. */
export const MIN_HISTORY_POSTS = 10;
/** Credibility weight: each slot's mean counts as if it had this many extra posts at the account's mean. */
export const PSEUDO_POSTS = 5;
/** Each post's value is capped at this percentile of the account's values, so one viral post cannot crown a slot. */
export const CAP_PERCENTILE = 0.9;

export const HISTORY_METHOD =
  "Engagement (likes + comments + shares + saves) per post, as a rate of its impressions (else reach, else video views) when most posts have one, else relative to the account's median engagement; each post capped at the account's 90th percentile; posts bucketed by local weekday and hour (DST-aware); each slot's mean shrunk toward the account's mean as (n × slotMean + 5 × accountMean) / (n + 5); score = shrunk mean / account mean (1.0 = the account's average).";

export const DEFAULT_METHOD =
  "Fewer than 10 measured posts: research-based defaults for the platform (a heuristic from Sprout Social's published best-times studies, not this account's data). Score ranks the slots (1.0 = strongest); sampleSize is 0.";

type DefaultSlot = readonly [Weekday, number];

/**
 * Platform defaults in the viewer's local time, strongest first. A heuristic after Sprout Social's
 * "best times to post" study (2023, as reported by Social Media Today): Facebook Mon–Thu 8 am–1 pm,
 * Instagram Mon/Tue/Wed/Fri late morning, X Tue–Fri 9 am–noon, LinkedIn Tue–Wed 10 am–noon, TikTok
 * midweek afternoons; the others use the cross-platform finding (Tue–Thu 9 am–noon).
 */
const MIDWEEK_MORNINGS: readonly DefaultSlot[] = [
  ["tuesday", 10],
  ["wednesday", 10],
  ["thursday", 10],
  ["tuesday", 11],
  ["wednesday", 11],
  ["thursday", 11],
  ["tuesday", 9],
  ["wednesday", 9],
  ["thursday", 9],
  ["friday", 10],
];

export const PLATFORM_DEFAULTS: Partial<Record<Platform, readonly DefaultSlot[]>> = {
  facebook: [
    ["tuesday", 9],
    ["wednesday", 9],
    ["monday", 9],
    ["thursday", 9],
    ["tuesday", 11],
    ["wednesday", 11],
    ["monday", 11],
    ["thursday", 11],
    ["tuesday", 12],
    ["monday", 8],
  ],
  instagram: [
    ["tuesday", 11],
    ["wednesday", 11],
    ["monday", 11],
    ["friday", 10],
    ["tuesday", 10],
    ["wednesday", 12],
    ["tuesday", 12],
    ["monday", 10],
    ["friday", 9],
    ["wednesday", 10],
  ],
  twitter: [
    ["tuesday", 10],
    ["wednesday", 10],
    ["thursday", 10],
    ["friday", 10],
    ["tuesday", 9],
    ["wednesday", 9],
    ["thursday", 11],
    ["friday", 9],
    ["tuesday", 11],
    ["wednesday", 11],
  ],
  linkedin: [
    ["tuesday", 10],
    ["wednesday", 10],
    ["tuesday", 11],
    ["wednesday", 11],
    ["thursday", 10],
    ["tuesday", 9],
    ["wednesday", 9],
    ["thursday", 11],
    ["monday", 10],
    ["friday", 10],
  ],
  tiktok: [
    ["tuesday", 16],
    ["wednesday", 16],
    ["thursday", 16],
    ["tuesday", 17],
    ["wednesday", 17],
    ["thursday", 17],
    ["tuesday", 15],
    ["wednesday", 15],
    ["friday", 16],
    ["thursday", 18],
  ],
};

export function defaultTimes(platform: Platform, timezone: string, limit: number): OptimalTimes {
  const table = PLATFORM_DEFAULTS[platform] ?? MIDWEEK_MORNINGS;
  const slots = table.slice(0, limit).map(([day, hour], i) => ({
    day,
    hour,
    score: round(1 - i / table.length),
    sampleSize: 0,
  }));
  return { timezone, source: "default", method: DEFAULT_METHOD, slots };
}

/** Local weekday and hour of instants in one IANA zone; each instant is converted on its own, so DST holds. */
export function localSlotter(timezone: string) {
  const format = new Intl.DateTimeFormat("en-US", {
    timeZone: timezone,
    weekday: "long",
    hour: "numeric",
    hourCycle: "h23",
  });
  return (instant: number): { day: Weekday; hour: number } => {
    let day: Weekday = "monday";
    let hour = 0;
    for (const part of format.formatToParts(instant)) {
      if (part.type === "weekday") day = part.value.toLowerCase() as Weekday;
      else if (part.type === "hour") hour = Number(part.value) % 24;
    }
    return { day, hour };
  };
}

/** The canonical IANA name of a zone, or null when the runtime does not know it. */
export function canonicalTimezone(value: string): string | null {
  try {
    return new Intl.DateTimeFormat("en-US", { timeZone: value }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

const round = (n: number) => Math.round(n * 1000) / 1000;

function engagementOf(post: MeasuredPost): number | null {
  const parts = [post.likes, post.comments, post.shares, post.saves].filter((v): v is number => v !== null);
  return parts.length ? parts.reduce((a, b) => a + b, 0) : null;
}

function percentile(sorted: number[], p: number): number {
  if (!sorted.length) return 0;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1));
  return sorted[rank] as number;
}

/**
 * Best weekday × hour slots from the account's own posts (see HISTORY_METHOD), or null when fewer than
 * MIN_HISTORY_POSTS posts carry any engagement figure.
 */
export function historyTimes(posts: MeasuredPost[], timezone: string, limit: number): OptimalTimes | null {
  const measured = posts.flatMap((post) => {
    const engagement = engagementOf(post);
    return engagement === null
      ? []
      : [{ post, engagement, exposure: post.impressions ?? post.reach ?? post.videoViews }];
  });
  if (measured.length < MIN_HISTORY_POSTS) return null;

  // Rates need a denominator: used when most posts have one; otherwise engagement against the median.
  const withExposure = measured.filter((m) => m.exposure !== null);
  let values: { publishedAt: number; value: number }[];
  if (withExposure.length * 2 >= measured.length && withExposure.length >= MIN_HISTORY_POSTS) {
    values = withExposure.map((m) => ({
      publishedAt: m.post.publishedAt,
      value: m.engagement / Math.max(m.exposure as number, 1),
    }));
  } else {
    const median = Math.max(
      percentile(
        measured.map((m) => m.engagement).sort((a, b) => a - b),
        0.5,
      ),
      1,
    );
    values = measured.map((m) => ({ publishedAt: m.post.publishedAt, value: m.engagement / median }));
  }

  const cap = percentile(
    values.map((v) => v.value).sort((a, b) => a - b),
    CAP_PERCENTILE,
  );
  const capped = values.map((v) => ({ ...v, value: Math.min(v.value, cap) }));
  const accountMean = capped.reduce((sum, v) => sum + v.value, 0) / capped.length;

  const slotOf = localSlotter(timezone);
  const slots = new Map<string, { day: Weekday; hour: number; sum: number; n: number }>();
  for (const { publishedAt, value } of capped) {
    const { day, hour } = slotOf(publishedAt);
    const key = `${day}:${hour}`;
    const slot = slots.get(key) ?? { day, hour, sum: 0, n: 0 };
    slot.sum += value;
    slot.n += 1;
    slots.set(key, slot);
  }

  // Credibility weighting (empirical Bayes): a slot's mean moves toward the account mean by k / (n + k).
  const ranked = [...slots.values()]
    .map((s) => {
      const shrunk = (s.sum + PSEUDO_POSTS * accountMean) / (s.n + PSEUDO_POSTS);
      return { day: s.day, hour: s.hour, shrunk, sampleSize: s.n };
    })
    .sort(
      (a, b) =>
        b.shrunk - a.shrunk ||
        b.sampleSize - a.sampleSize ||
        WEEKDAYS.indexOf(a.day) - WEEKDAYS.indexOf(b.day) ||
        a.hour - b.hour,
    );

  return {
    timezone,
    source: "history",
    method: HISTORY_METHOD,
    slots: ranked.slice(0, limit).map((s) => ({
      day: s.day,
      hour: s.hour,
      score: accountMean > 0 ? round(s.shrunk / accountMean) : 0,
      sampleSize: s.sampleSize,
    })),
  };
}
