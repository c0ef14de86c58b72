import type { ConnectSessionRow, WorkspaceRow } from "../../db/schema";
import { getConfig } from "../../lib/config";
import { randomToken, sha256Hex } from "../../lib/crypto";
import { PLATFORMS, type Platform } from "../../lib/domain";
import { ApiError, validationError } from "../../lib/errors";
import { newId } from "../../lib/ids";
import type { AuthContext } from "../../lib/router";
import { DAY, iso, MINUTE } from "../../lib/time";
import { getModule, platformContext } from "../../platforms/catalogue";
import { TIKTOK_BUSINESS } from "../../platforms/tiktok";
import { EMBEDDED_SIGNUP } from "../../platforms/whatsapp";
import { findAccount } from "../accounts/accounts.repository";
import { CreateAccountBodySchema } from "../accounts/accounts.schemas";
import { connectWithCredentials } from "../accounts/connection.service";
import { assertPlatformAllowed, type ConnectedAccount, loadWorkspace } from "../accounts/upsert.service";
import { validateCallbackUrl } from "../connect/callback-url";
import { completeCallback, startSessionConnect } from "../connect/connect.service";
import type { ServiceContext } from "../context";
import { listPages, selectPage } from "../pages/pages.service";
import type { Offered } from "./hosted.page";
import {
  claimSession,
  completeSessionStatement,
  failSession,
  findSession,
  findSessionByTokenHash,
  insertSession,
} from "./sessions.repository";
import type { ConnectSession, CreateConnectSessionBody } from "./sessions.schemas";

/** A session link lives 30 minutes: long enough for a consent and a page pick, short for a leaked link. */
export const SESSION_TTL_MS = 30 * MINUTE;
/** How long one completion holds the session; a holder that dies frees it after this. */
const CLAIM_MS = 2 * MINUTE;
/** Expired sessions are kept this long for GET, then purged. */
const KEEP_EXPIRED_MS = 7 * DAY;
const TOKEN_PREFIX = "cst_";
const TOKEN_PATTERN = /^cst_[A-Za-z0-9_-]{40,60}$/;

/** Platforms the page connects with a form instead of a consent screen. */
export const CREDENTIAL_PLATFORMS: readonly Platform[] = ["telegram", "whatsapp"];

export const sessionUrl = (env: Env, token: string) => `${getConfig(env).publicUrl}/connect/${token}`;

/** POST /v1/connect/sessions. */
export async function createSession(
  { env, db, now }: ServiceContext,
  workspaceId: string,
  input: CreateConnectSessionBody,
) {
  const workspace = await loadWorkspace(db, workspaceId);
  let allowed = input.allowedPlatforms ? [...new Set(input.allowedPlatforms)] : null;
  const refused = allowed?.filter(
    (p) => workspace.allowedPlatforms && !workspace.allowedPlatforms.includes(p),
  );
  if (refused?.length) {
    throw new ApiError(
      "INVALID_PARAM",
      `allowedPlatforms must be among the workspace's platforms; not permitted: ${refused.join(", ")}`,
      [{ field: "allowedPlatforms", message: `Not permitted in this workspace: ${refused.join(", ")}` }],
    );
  }
  const domains = workspace.allowedCallbackDomains;
  const returnUrl = input.returnUrl
    ? validateCallbackUrl(input.returnUrl, domains, "returnUrl").toString()
    : null;
  let origin: string | null = null;
  if (input.origin) {
    const url = validateCallbackUrl(input.origin, domains, "origin");
    if (url.pathname !== "/" || url.search) {
      throw new ApiError("INVALID_PARAM", "Invalid origin: must be an origin, e.g. https://yourapp.com", [
        { field: "origin", message: "Must have no path or query" },
      ]);
    }
    origin = url.origin;
  }
  let reconnectAccountId: string | null = null;
  if (input.accountId) {
    const account = await findAccount(db, workspaceId, input.accountId);
    if (!account) throw new ApiError("NOT_FOUND", "Account not found");
    if (allowed && !allowed.includes(account.platform)) {
      throw new ApiError(
        "INVALID_PARAM",
        `allowedPlatforms must include the account's platform, ${account.platform}`,
        [{ field: "allowedPlatforms", message: `Must include ${account.platform}` }],
      );
    }
    assertPlatformAllowed(workspace, account.platform);
    allowed = [account.platform];
    reconnectAccountId = account.id;
  }
  const token = `${TOKEN_PREFIX}${randomToken(32)}`;
  const id = newId("cs", now);
  const expiresAt = now + SESSION_TTL_MS;
  await insertSession(
    db,
    {
      id,
      workspaceId,
      tokenHash: await sha256Hex(token),
      endUserId: input.endUserId,
      endUserName: input.endUserName ?? null,
      allowedPlatforms: allowed,
      returnUrl,
      origin,
      metadata: input.metadata ?? null,
      reconnectAccountId,
      status: "pending",
      createdAt: now,
      expiresAt,
      updatedAt: now,
    },
    now - KEEP_EXPIRED_MS,
  );
  return { id, token, url: sessionUrl(env, token), expiresAt: iso(expiresAt) };
}

const expired = (row: ConnectSessionRow, now: number) => row.status !== "completed" && now >= row.expiresAt;

/** The public shape of a session. */
export function toSession(row: ConnectSessionRow, now: number): ConnectSession {
  const status = expired(row, now)
    ? "expired"
    : row.status === "completed"
      ? "completed"
      : row.status === "failed"
        ? "failed"
        : "pending";
  return {
    id: row.id,
    status,
    endUserId: row.endUserId,
    endUserName: row.endUserName,
    allowedPlatforms: row.allowedPlatforms,
    returnUrl: row.returnUrl,
    reconnectAccountId: row.reconnectAccountId,
    accountId: row.accountId,
    error: row.errorCode ? { code: row.errorCode, message: row.errorMessage ?? "" } : null,
    createdAt: iso(row.createdAt),
    expiresAt: iso(row.expiresAt),
    completedAt: iso(row.completedAt),
  };
}

/** GET /v1/connect/sessions/:id. */
export async function getSession({ db, now }: ServiceContext, workspaceId: string, id: string) {
  const row = await findSession(db, workspaceId, id);
  if (!row) throw new ApiError("NOT_FOUND", "Connect session not found");
  return toSession(row, now);
}

// The hosted page's steps. Failures are HostedError: the page shows them on its result screen.

/** Why the page cannot go on; `retry`: the same link may try again. */
export class HostedError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly retry: boolean,
  ) {
    super(message);
    this.name = "HostedError";
  }
}

export const SESSION_ERRORS = {
  unknown: () => new HostedError("SESSION_NOT_FOUND", "unknown", false),
  expired: () => new HostedError("SESSION_EXPIRED", "expired", false),
  used: () => new HostedError("SESSION_USED", "used", false),
  busy: () => new HostedError("SESSION_BUSY", "busy", true),
  platform: () => new HostedError("PLATFORM_NOT_OFFERED", "platform", true),
};

/** The session a page link names; HostedError when it names none. */
export async function sessionOfToken({ db }: ServiceContext, token: string): Promise<ConnectSessionRow> {
  if (!TOKEN_PATTERN.test(token)) throw SESSION_ERRORS.unknown();
  const row = await findSessionByTokenHash(db, await sha256Hex(token));
  if (!row) throw SESSION_ERRORS.unknown();
  return row;
}

/** A session that may still start or complete a connection. */
export function assertUsable(row: ConnectSessionRow, now: number) {
  if (row.status === "completed") throw SESSION_ERRORS.used();
  if (expired(row, now)) throw SESSION_ERRORS.expired();
}

/** A completed session whose page step is still open (its link has not expired). */
export function assertCompleted(row: ConnectSessionRow, now: number): string {
  if (row.status !== "completed" || !row.accountId) throw SESSION_ERRORS.unknown();
  if (now >= row.expiresAt) throw SESSION_ERRORS.expired();
  return row.accountId;
}

/** Whether a context can be built: the deployment holds the app (and configuration) it needs. */
function configured(build: () => unknown): boolean {
  try {
    build();
    return true;
  } catch {
    return false;
  }
}

/** The login variants this deployment can run: Embedded Signup (Facebook's app and WHATSAPP_CONFIG_ID) and TikTok Business (its own app); the sandbox runs both. */
export function offeredVariants(env: Env, now: number): Offered {
  const business = getModule("tiktok").variants?.[TIKTOK_BUSINESS];
  return {
    embeddedSignup: configured(() =>
      platformContext(env, "facebook", now, { loginVariant: EMBEDDED_SIGNUP }),
    ),
    tiktokBusiness: configured(() => platformContext(env, "tiktok", now, { variant: business })),
  };
}

/** What the page offers: the session's platforms, within the workspace's, that this deployment can connect. */
export async function offeredPlatforms(
  { env, db, now }: ServiceContext,
  row: ConnectSessionRow,
): Promise<{ workspace: WorkspaceRow; platforms: Platform[] }> {
  const workspace = await loadWorkspace(db, row.workspaceId);
  const platforms = (row.allowedPlatforms ?? [...PLATFORMS]).filter((platform) => {
    if (workspace.allowedPlatforms && !workspace.allowedPlatforms.includes(platform)) return false;
    const module = getModule(platform);
    // Bluesky signs in through AT Protocol OAuth, with no app of ours to configure.
    if (platform === "bluesky") return true;
    if (!module.oauth) return CREDENTIAL_PLATFORMS.includes(platform);
    if (module.instances) return true;
    return configured(() => platformContext(env, platform, now));
  });
  return { workspace, platforms };
}

const sessionAuth = (row: ConnectSessionRow): AuthContext => ({
  keyId: "connect-session",
  workspaceId: row.workspaceId,
  userId: "connect-session",
  scopes: [],
});

/** A failure the page can show: an ApiError as it is; anything else as a generic error, logged. */
function hostedFailure(err: unknown): HostedError {
  if (err instanceof HostedError) return err;
  if (err instanceof ApiError) {
    const retry = !["PLAN_LIMIT_EXCEEDED", "PLATFORM_RESTRICTED", "PLATFORM_NOT_CONFIGURED"].includes(
      err.code,
    );
    return new HostedError(err.code, err.message, retry);
  }
  console.error(
    JSON.stringify({
      level: "error",
      event: "connect_session_error",
      error: err instanceof Error ? err.name : "unknown",
      message: err instanceof Error ? err.message.slice(0, 300) : "",
    }),
  );
  return new HostedError("INTERNAL", "internal", true);
}

export interface StartInput {
  platform: Platform;
  instance?: string;
  /** Bluesky: the handle or DID to sign in as. */
  handle?: string;
  facebookLogin?: boolean;
  tiktokBusiness?: boolean;
}

/** Step 2's start: the authorization URL of the chosen platform, its callback being this session's page. */
export async function startSessionPlatform(
  service: ServiceContext,
  row: ConnectSessionRow,
  token: string,
  input: StartInput,
): Promise<string> {
  try {
    assertUsable(row, service.now);
    const { platforms } = await offeredPlatforms(service, row);
    if (!platforms.includes(input.platform)) throw SESSION_ERRORS.platform();
    const started = await startSessionConnect(service, row.workspaceId, input.platform, {
      callbackUrl: `${sessionUrl(service.env, token)}/callback/${input.platform}`,
      // The page offers LinkedIn organisations, so it asks for their scopes.
      pageMode: input.platform === "linkedin",
      ...(input.instance !== undefined ? { instance: input.instance } : {}),
      ...(input.handle ? { handle: input.handle } : {}),
      ...(input.facebookLogin ? { facebookLogin: true } : {}),
      ...(input.tiktokBusiness ? { tiktokBusiness: true } : {}),
      sessionId: row.id,
      accountId: row.reconnectAccountId,
    });
    return started.authorizationUrl;
  } catch (err) {
    const failure = hostedFailure(err);
    await recordFailure(service, row, input.platform, failure);
    throw failure;
  }
}

async function recordFailure(
  service: ServiceContext,
  row: ConnectSessionRow,
  platform: Platform,
  failure: HostedError,
  claimId?: string,
) {
  // A used or expired link is the visitor's problem, not the session's outcome.
  if (failure.code.startsWith("SESSION_")) return;
  const error = { code: failure.code, message: failure.message, platform };
  await failSession(service.db, row.id, error, service.now, claimId);
}

/** Claims the session for this completion; HostedError when someone else holds or finished it. */
async function claim(service: ServiceContext, row: ConnectSessionRow): Promise<string> {
  assertUsable(row, service.now);
  const claimId = randomToken(16);
  if (await claimSession(service.db, row.id, claimId, service.now, CLAIM_MS)) return claimId;
  const now = await findSession(service.db, row.workspaceId, row.id);
  if (!now || now.status === "completed") throw SESSION_ERRORS.used();
  if (expired(now, service.now)) throw SESSION_ERRORS.expired();
  throw SESSION_ERRORS.busy();
}

/** Runs one completion under the session's claim; its failure is recorded on the session. */
async function complete(
  service: ServiceContext,
  row: ConnectSessionRow,
  platform: Platform,
  connect: (claimId: string) => Promise<ConnectedAccount>,
): Promise<ConnectedAccount> {
  const claimId = await claim(service, row);
  try {
    return await connect(claimId);
  } catch (err) {
    const failure = hostedFailure(err);
    await recordFailure(service, row, platform, failure, claimId);
    throw failure;
  }
}

const completion =
  (service: ServiceContext, row: ConnectSessionRow, platform: Platform) => (claimId: string) => ({
    endUserId: row.endUserId,
    metadata: row.metadata,
    alsoCommit: (accountId: string) => [
      completeSessionStatement(service.db, row.id, claimId, accountId, platform, service.now),
    ],
  });

/** Step 2's end: the platform's redirect, exchanged here; exactly one completion wins the session. */
export function completeSessionCallback(
  service: ServiceContext,
  row: ConnectSessionRow,
  platform: Platform,
  query: URLSearchParams,
): Promise<ConnectedAccount> {
  const param = (name: string) => query.get(name)?.slice(0, 4096) || undefined;
  const state = param("state");
  if (!state) return Promise.reject(new HostedError("INVALID_PARAM", "Invalid or expired OAuth state", true));
  return complete(service, row, platform, (claimId) =>
    completeCallback(
      service,
      sessionAuth(row),
      platform,
      { code: param("code"), state, error: param("error"), error_description: param("error_description") },
      { sessionId: row.id, ...completion(service, row, platform)(claimId) },
    ),
  );
}

/** The credential form's fields, as POST /v1/accounts takes them. */
export function credentialsOf(platform: Platform, form: Record<string, string | undefined>) {
  const fields: Record<string, string | undefined> =
    platform === "telegram"
      ? { botToken: form.botToken, chatId: form.chatId }
      : { accessToken: form.accessToken, phoneNumberId: form.phoneNumberId, wabaId: form.wabaId };
  const credentials = Object.fromEntries(
    Object.entries(fields).filter(([, v]) => v !== undefined && v !== ""),
  );
  const parsed = CreateAccountBodySchema.safeParse({ platform, credentials });
  if (!parsed.success) throw validationError(parsed.error.issues, "json");
  return parsed.data.credentials;
}

/** Step 2 for Telegram, WhatsApp and Bluesky: the credentials, verified exactly as POST /v1/accounts does. */
export async function connectSessionCredentials(
  service: ServiceContext,
  row: ConnectSessionRow,
  platform: Platform,
  form: Record<string, string | undefined>,
): Promise<ConnectedAccount> {
  let given: ReturnType<typeof credentialsOf>;
  try {
    assertUsable(row, service.now);
    const { platforms } = await offeredPlatforms(service, row);
    if (!platforms.includes(platform) || !CREDENTIAL_PLATFORMS.includes(platform))
      throw SESSION_ERRORS.platform();
    given = credentialsOf(platform, form);
  } catch (err) {
    const failure = hostedFailure(err);
    await recordFailure(service, row, platform, failure);
    throw failure;
  }
  const { accessToken, botToken, appPassword, identifier, refreshToken: _r, expiresAt: _e, ...ids } = given;
  const extras = Object.fromEntries(Object.entries(ids).filter(([, v]) => v !== undefined));
  const bound = row.reconnectAccountId
    ? await findAccount(service.db, row.workspaceId, row.reconnectAccountId)
    : undefined;
  return complete(service, row, platform, (claimId) =>
    connectWithCredentials(service, row.workspaceId, {
      platform,
      ...(bound ? { platformAccountId: bound.platformUserId } : {}),
      credentials: {
        accessToken: accessToken ?? botToken,
        botToken: accessToken === undefined ? botToken : undefined,
        identifier,
        password: appPassword,
        extras: Object.keys(extras).length ? extras : undefined,
      },
      ...completion(service, row, platform)(claimId),
      metadata: row.metadata ?? undefined,
    }),
  );
}

/** Step 3's choices: the connected account's pages, where its platform has them. */
export async function sessionPages(service: ServiceContext, row: ConnectSessionRow) {
  const accountId = assertCompleted(row, service.now);
  return listPages(service, row.workspaceId, accountId);
}

/** Step 3's choice, saved as select-page saves it. */
export async function chooseSessionPage(service: ServiceContext, row: ConnectSessionRow, pageId: string) {
  const accountId = assertCompleted(row, service.now);
  try {
    return await selectPage(service, row.workspaceId, accountId, { pageId });
  } catch (err) {
    throw hostedFailure(err);
  }
}
