import { createRoute } from "@hono/zod-openapi";
import { bearer, createRouter, errorResponses, json } from "../../lib/router";
import { AccountIdParamsSchema } from "../accounts/accounts.schemas";
import { serviceOf } from "../context";
import { BackfillSchema, OptimalTimesQuerySchema, OptimalTimesSchema } from "./analytics.schemas";
import { getBackfill, optimalTimes, requestBackfill, toBackfill } from "./analytics.service";

const tags = ["Analytics"];

export const startBackfill = createRoute({
  operationId: "startBackfill",
  method: "post",
  path: "/{id}/backfill",
  tags,
  security: bearer("accounts:write"),
  summary: "Start a historical analytics backfill",
  description:
    "Imports the account's published posts with their metrics (impressions, reach, likes, comments, shares, saves, video views where the platform has them), newest first, up to 365 days or 1,000 posts, a page at a time in the background. Answers the job already pending or running if there is one (200) rather than a second. INVALID_PARAM for disconnected accounts and for platforms or accounts without post analytics for their owner (Telegram, WhatsApp, Google Business Profile, Snapchat, Reddit, Mastodon; LinkedIn personal profiles; Instagram via Facebook Login before a page is selected).",
  request: { params: AccountIdParamsSchema },
  responses: {
    200: json(BackfillSchema, "The job already pending or running"),
    202: json(BackfillSchema, "A new job, pending"),
    ...errorResponses,
  },
});

export const getBackfillStatus = createRoute({
  operationId: "getBackfillStatus",
  method: "get",
  path: "/{id}/backfill",
  tags,
  security: bearer("accounts:read"),
  summary: "Backfill status",
  description: "The account's latest backfill job. NOT_FOUND when none has run.",
  request: { params: AccountIdParamsSchema },
  responses: { 200: json(BackfillSchema, "The latest job"), ...errorResponses },
});

export const getOptimalTimes = createRoute({
  operationId: "getOptimalTimes",
  method: "get",
  path: "/{id}/optimal-times",
  tags,
  security: bearer("accounts:read"),
  summary: "Optimal posting times",
  description:
    "Best weekday × hour slots in `timezone` from the account's imported post metrics (run a backfill first), ranked by engagement rate with each slot shrunk toward the account's average by its number of posts (5 pseudo-posts), so a slot with one lucky post does not win. With fewer than 10 measured posts, research-based platform defaults (source default).",
  request: { params: AccountIdParamsSchema, query: OptimalTimesQuerySchema },
  responses: { 200: json(OptimalTimesSchema, "Slots, best first"), ...errorResponses },
});

/** Mounted at /v1/accounts, behind apiKeyAuth. */
export const analyticsRouter = createRouter()
  .openapi(startBackfill, async (c) => {
    const { job, created } = await requestBackfill(
      serviceOf(c),
      c.var.auth.workspaceId,
      c.req.valid("param").id,
    );
    return created ? c.json(toBackfill(job), 202) : c.json(toBackfill(job), 200);
  })
  .openapi(getBackfillStatus, async (c) => {
    const job = await getBackfill(c.var.db, c.var.auth.workspaceId, c.req.valid("param").id);
    return c.json(toBackfill(job), 200);
  })
  .openapi(getOptimalTimes, async (c) => {
    const { timezone, limit } = c.req.valid("query");
    const result = await optimalTimes(
      serviceOf(c),
      c.var.auth.workspaceId,
      c.req.valid("param").id,
      timezone,
      limit,
    );
    return c.json(result, 200);
  });
