import { and, eq } from "drizzle-orm";
import type { Db } from "../../db/client";
import { platformApps } from "../../db/schema";
import { getSecretBox } from "../../lib/config";
import type { Platform } from "../../lib/domain";
import { ApiError } from "../../lib/errors";
import { type ContextOptions, getModule, platformContext, sandboxEnabled } from "../../platforms/catalogue";
import type { Grant, PlatformContext } from "../../platforms/types";

export const appSecretContext = (platform: Platform, instance: string) => ({
  table: "platform_apps",
  rowId: `${platform}:${instance}`,
  field: "client_secret",
});

async function findApp(env: Env, db: Db, platform: Platform, instance: string) {
  const [row] = await db
    .select()
    .from(platformApps)
    .where(and(eq(platformApps.platform, platform), eq(platformApps.instance, instance)))
    .limit(1);
  if (!row) return undefined;
  const box = await getSecretBox(env);
  return {
    clientId: row.clientId,
    clientSecret: await box.decrypt(row.clientSecretEnc, appSecretContext(platform, instance)),
  };
}

/** Registers Switchboard's app on an instance once, caching its credentials (secret encrypted). */
async function registerApp(
  env: Env,
  db: Db,
  ctx: PlatformContext,
  instance: string,
  redirectUri: string,
  now: number,
) {
  const module = getModule(ctx.platform);
  const support = module.instances;
  if (!support || !module.oauth) throw new Error(`${module.name} has no per-instance apps`);
  const app = await support.register(ctx, { redirectUri, scopes: module.oauth.scopes });
  const box = await getSecretBox(env);
  await db
    .insert(platformApps)
    .values({
      platform: ctx.platform,
      instance,
      clientId: app.clientId,
      clientSecretEnc: await box.encrypt(app.clientSecret, appSecretContext(ctx.platform, instance)),
      keyVersion: box.currentVersion,
      redirectUri,
      createdAt: now,
    })
    .onConflictDoNothing();
  // A concurrent first connect may have registered too: the stored app wins for everyone.
  return (await findApp(env, db, ctx.platform, instance)) ?? app;
}

/** The instance a per-instance account lives on, from its grant's extras (null elsewhere). */
export const grantInstance = (grant: Pick<Grant, "extras">): string | null =>
  typeof grant.extras.instance === "string" ? grant.extras.instance : null;

/** Canonical instance origin for a per-instance platform, or an INVALID_PARAM naming `field`. */
export function instanceOrigin(platform: Platform, instance: unknown, field = "instance"): string | null {
  const support = getModule(platform).instances;
  if (!support) return null;
  if (typeof instance !== "string" || !instance) {
    throw new ApiError(
      "INVALID_PARAM",
      `${getModule(platform).name} needs its instance, e.g. mastodon.social`,
      [{ field, message: "Required" }],
    );
  }
  try {
    return support.normalise(instance);
  } catch (err) {
    throw new ApiError(
      "INVALID_PARAM",
      `Invalid ${field}: ${err instanceof Error ? err.message : "not a host"}`,
      [{ field, message: "Not a valid instance" }],
    );
  }
}

/**
 * The context for an operation on `platform`: deployment endpoints and client for most platforms;
 * for per-instance platforms the instance's endpoints and the app registered there (registered on
 * first use when `register` names the redirect URI).
 */
export async function resolveContext(
  env: Env,
  db: Db,
  platform: Platform,
  now: number,
  instance: string | null,
  options: ContextOptions & { register?: { redirectUri: string } } = {},
): Promise<PlatformContext> {
  const support = getModule(platform).instances;
  // The sandbox serves every instance with its own client: never cache its credentials as an instance's app.
  if (!support || !instance || sandboxEnabled(env)) return platformContext(env, platform, now, options);
  const endpoints = support.endpoints(instance);
  let app = await findApp(env, db, platform, instance);
  if (!app && options.register) {
    const bare = platformContext(env, platform, now, {
      endpoints,
      requireClientCredentials: false,
      timeoutMs: options.timeoutMs,
    });
    app = await registerApp(env, db, bare, instance, options.register.redirectUri, now);
  }
  return platformContext(env, platform, now, {
    ...options,
    endpoints,
    clientId: app?.clientId,
    clientSecret: app?.clientSecret,
  });
}
