import { z } from "@hono/zod-openapi";
import { canonicalTimezone, WEEKDAYS } from "./optimal-times";

export const BACKFILL_STATUSES = ["pending", "running", "completed", "failed"] as const;

export const BackfillErrorSchema = z
  .object({
    code: z.string().openapi({
      description:
        "ACCESS_REFUSED (the platform refused the token or a permission: reconnect), PROVIDER_UNAVAILABLE (rate limits or outages outlasted the retries), PROVIDER_ERROR (an answer that could not be used), ACCOUNT_DISCONNECTED, ACCOUNT_NEEDS_RECONNECT, TOKEN_EXPIRED, NOT_SUPPORTED, PLATFORM_NOT_CONFIGURED, INTERNAL. While a job is still running this is the last failure it is retrying after.",
      example: "PROVIDER_UNAVAILABLE",
    }),
    message: z.string(),
  })
  .openapi("BackfillError");

export const BackfillSchema = z
  .object({
    id: z.string().openapi({ example: "bf_01jdzq5m3k8r2t6v9w0x1y2z3a" }),
    status: z.enum(BACKFILL_STATUSES),
    progress: z.number().min(0).max(1).nullable().openapi({
      description:
        "Estimated share done, 0 to 1: by the platform's post total where it gives one, else by how far back the imported posts reach within the history horizon; null before the first page",
    }),
    postsImported: z.number().int().openapi({ description: "Distinct posts this job has stored so far" }),
    pagesFetched: z.number().int(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    error: BackfillErrorSchema.nullable(),
    createdAt: z.string(),
  })
  .openapi("Backfill");

export const OptimalTimesQuerySchema = z.object({
  timezone: z
    .string()
    .max(64)
    .default("America/Chicago")
    .transform((value, ctx) => {
      const zone = canonicalTimezone(value);
      if (zone) return zone;
      ctx.addIssue({ code: "custom", message: "Must be an IANA time zone such as America/New_York" });
      return z.NEVER;
    })
    .openapi({
      type: "string",
      description: "IANA time zone",
      default: "America/Chicago",
      example: "America/New_York",
    }),
  limit: z
    .string()
    .regex(/^\d{1,2}$/, "Must be an integer from 1 to 10")
    .transform(Number)
    .pipe(z.number().int().min(1).max(10))
    .default(5)
    .openapi({ type: "integer", minimum: 1, maximum: 10, default: 5 }),
});

export const OptimalSlotSchema = z
  .object({
    day: z.enum(WEEKDAYS),
    hour: z
      .number()
      .int()
      .min(0)
      .max(23)
      .openapi({ description: "Local hour (0–23) in the requested time zone" }),
    score: z.number().openapi({
      description:
        "history: expected engagement rate of the slot relative to the account's average (1.0 = average), after shrinkage; default: rank strength (1.0 = strongest)",
    }),
    sampleSize: z.number().int().openapi({ description: "The account's posts published in this slot" }),
  })
  .openapi("OptimalSlot");

export const OptimalTimesSchema = z
  .object({
    timezone: z.string(),
    source: z.enum(["history", "default"]).openapi({
      description:
        "history: ranked from the account's imported posts (run a backfill first); default: fewer than 10 measured posts, so research-based platform defaults (a heuristic)",
    }),
    method: z.string().openapi({
      description:
        "How the slots were ranked. history: per-post engagement rate (likes + comments + shares + saves over impressions, else reach, else video views; else relative to the account's median), capped at the account's 90th percentile, bucketed by local weekday and hour, and each slot's mean shrunk toward the account's mean as (n × slotMean + 5 × accountMean) / (n + 5), so one lucky post cannot crown a slot.",
    }),
    slots: z.array(OptimalSlotSchema),
  })
  .openapi("OptimalTimes");
