import { createMiddleware } from "hono/factory";
import { getConfig } from "../../lib/config";
import { secretsEqual } from "../../lib/crypto";
import { ApiError } from "../../lib/errors";
import type { AppEnv } from "../../lib/router";

/** Shortest ADMIN_TOKEN production accepts; a shorter one leaves the admin API closed. */
const MIN_PRODUCTION_ADMIN_TOKEN = 32;

export const adminAuth = createMiddleware<AppEnv>(async (c, next) => {
  const config = getConfig(c.env);
  const expected = config.adminToken;
  if (!expected || (config.isProduction && expected.length < MIN_PRODUCTION_ADMIN_TOKEN)) {
    throw new ApiError("UNAUTHORIZED", "The admin API is disabled: set a strong ADMIN_TOKEN secret");
  }
  const given = c.req.header("authorization")?.match(/^Bearer\s+(\S+)$/i)?.[1];
  if (!given || !(await secretsEqual(given, expected))) {
    throw new ApiError("UNAUTHORIZED", "Invalid admin token");
  }
  await next();
});
