import { generateRandomCodeVerifier } from "oauth4webapi";
import type { Db } from "../../db/client";
import type { AccountRow, WorkspaceRow } from "../../db/schema";
import { getConfig, getSecretBox } from "../../lib/config";
import type { Platform } from "../../lib/domain";
import { ApiError } from "../../lib/errors";
import type { AuthContext } from "../../lib/router";
import { iso } from "../../lib/time";
import { DEFAULT_TIMEOUTS } from "../../lib/timeouts";
import { getModule, platformContext } from "../../platforms/catalogue";
import { providerFailure } from "../../platforms/failure";
import { ProviderError } from "../../platforms/http";
import { FACEBOOK_LOGIN } from "../../platforms/meta";
import { buildAuthorizationUrl, exchangeCode } from "../../platforms/oauth";
import { TIKTOK_BUSINESS } from "../../platforms/tiktok";
import {
  grantOf,
  grantVariant,
  type OAuthVariant,
  type PlatformContext,
  type PlatformModule,
  type Profile,
  type TokenSet,
} from "../../platforms/types";
import {
  EMBEDDED_SIGNUP,
  type EmbeddedSignupChoice,
  exchangeEmbeddedSignupCode,
} from "../../platforms/whatsapp";
import { findAccount, openAccountSecrets } from "../accounts/accounts.repository";
import {
  assertPlanRoom,
  assertPlatformAllowed,
  type ConnectedAccount,
  loadWorkspace,
  type UpsertInput,
  upsertConnectedAccount,
} from "../accounts/upsert.service";
import type { ServiceContext } from "../context";
import {
  authorizeBluesky,
  type BlueskyStateFields,
  checkedRedirect,
  exchangeBluesky,
} from "./bluesky-connect.service";
import { validateCallbackUrl } from "./callback-url";
import { consumeState, OAUTH_STATE_TTL_MS, type OAuthState, readState, saveState } from "./oauth-state";
import { instanceOrigin, resolveContext } from "./platform-apps";

const invalidState = () => new ApiError("INVALID_PARAM", "Invalid or expired OAuth state");

/** What platforms send back when the person declined (OAuth's access_denied, and Meta's and LinkedIn's own). */
const DENIED = new Set(["access_denied", "user_denied", "user_cancelled_login", "user_cancelled_authorize"]);

/** The platform's answer in place of a code: the user declined, or the platform refused the request. */
function consentError(platform: Platform, error: string, description: string | undefined): ApiError {
  const name = getModule(platform).name;
  if (DENIED.has(error)) {
    return new ApiError("ACCESS_DENIED", `The user denied access on ${name}; nothing was connected`, [
      { field: "error", message: error },
    ]);
  }
  const detail = description ? `: ${description.slice(0, 300)}` : "";
  return new ApiError(
    "INVALID_PARAM",
    `${name} refused the authorization (${error.slice(0, 100)})${detail}`,
    [{ field: "error", message: "Answered by the platform instead of a code" }],
  );
}

/** What a hosted connect session adds to a callback: its binding, and what it writes with the account. */
export interface SessionCompletion {
  sessionId: string;
  endUserId: string;
  metadata?: Record<string, unknown> | null;
  alsoCommit: NonNullable<UpsertInput["alsoCommit"]>;
}

export interface ConnectInput {
  callbackUrl: string;
  forcePrompt?: boolean;
  pageMode?: boolean;
  instance?: string;
  /** Instagram: connect through Facebook Login (the fb_login variant). */
  facebookLogin?: boolean;
  /** TikTok: connect a Business account through the TikTok API for Business (the business variant). */
  tiktokBusiness?: boolean;
  /** Bluesky: the account's handle or DID (absent: the user picks an account at the entryway). */
  handle?: string;
}

/** The state as this service writes it: the login variant rides along so the callback uses the same flow. */
type ConnectState = OAuthState & { variant?: string | null } & BlueskyStateFields;

/** The module as a variant's OAuth flow sees it: the variant's settings, finishGrant and refresh model. */
function withVariant(module: PlatformModule, variant: OAuthVariant | undefined): PlatformModule {
  if (!variant) return module;
  return { ...module, oauth: variant.oauth, refresh: variant.refresh, finishGrant: variant.finishGrant };
}

export function redirectUri(env: Env, platform: Platform): string {
  return `${getConfig(env).publicUrl}/v1/oauth/redirect/${platform}`;
}

function oauthModule(platform: Platform) {
  const module = getModule(platform);
  // Bluesky's OAuth is AT Protocol's (PAR, DPoP, discovered servers): bluesky-connect.service.ts.
  if (!module.oauth && !module.defaultVariant && platform !== "bluesky") {
    throw new ApiError(
      "INVALID_PARAM",
      `${module.name} connects without OAuth: use POST /v1/accounts with its credentials`,
      [{ field: "platform", message: "Not an OAuth platform" }],
    );
  }
  return module;
}

/**
 * Stores the state, then resolves the platform's context (which may register an app on a Mastodon
 * instance, in D1), then builds the URL: a connect refused for want of KV has written nothing to D1
 * nor called the platform. A state stored for a connect that fails later is one nobody holds; it
 * expires with its TTL.
 */
async function authorize(
  service: ServiceContext,
  state: Omit<ConnectState, "codeVerifier" | "redirectUri">,
  forcePrompt: boolean,
  handle?: string,
) {
  if (state.platform === "bluesky") return authorizeBluesky(service, state, handle);
  const { env, db, timeouts = DEFAULT_TIMEOUTS } = service;
  const base = oauthModule(state.platform);
  const variant = grantVariant(base, { oauthVersion: state.variant });
  const module = withVariant(base, variant);
  const full: ConnectState = {
    ...state,
    codeVerifier: generateRandomCodeVerifier(),
    redirectUri: redirectUri(env, state.platform),
  };
  // A deployment without the platform's app answers so before anything is stored.
  if (!state.instance)
    platformContext(env, variant?.via ?? state.platform, state.createdAt, {
      variant,
      loginVariant: state.variant,
    });
  const box = await getSecretBox(env);
  const token = await saveState(env.OAUTH_STATE, box, full, timeouts.storageMs);
  let ctx: PlatformContext;
  try {
    ctx = await resolveContext(env, db, variant?.via ?? state.platform, state.createdAt, state.instance, {
      register: { redirectUri: full.redirectUri },
      timeoutMs: timeouts.providerMs,
      variant,
      loginVariant: state.variant,
    });
  } catch (err) {
    throw providerFailure(err);
  }
  const authorizationUrl = await buildAuthorizationUrl(ctx, module, {
    state: token,
    codeVerifier: full.codeVerifier,
    redirectUri: full.redirectUri,
    forcePrompt,
    pageMode: state.pageMode,
  });
  return { authorizationUrl, state: token, expiresAt: iso(state.createdAt + OAUTH_STATE_TTL_MS) };
}

/** POST /v1/accounts/connect/:platform: checks, then an authorization URL bound to a fresh state. */
export function startConnect(
  service: ServiceContext,
  auth: AuthContext,
  platform: Platform,
  input: ConnectInput,
) {
  return beginConnect(service, auth.workspaceId, platform, input, (workspace) =>
    validateCallbackUrl(input.callbackUrl, workspace.allowedCallbackDomains).toString(),
  );
}

/**
 * A hosted connect session's connect: the same checks, with the session's own callback (a page of
 * this deployment, so not the workspace's allowlist) and the session bound into the state.
 */
export function startSessionConnect(
  service: ServiceContext,
  workspaceId: string,
  platform: Platform,
  input: ConnectInput & { sessionId: string; accountId: string | null },
) {
  return beginConnect(service, workspaceId, platform, input, () => input.callbackUrl, {
    sessionId: input.sessionId,
    accountId: input.accountId,
  });
}

async function beginConnect(
  service: ServiceContext,
  workspaceId: string,
  platform: Platform,
  input: ConnectInput,
  callbackOf: (workspace: WorkspaceRow) => string,
  bound: { sessionId: string; accountId: string | null } | null = null,
) {
  const { env, db, now } = service;
  const module = oauthModule(platform);
  if (input.instance !== undefined && !module.instances) {
    throw new ApiError(
      "INVALID_PARAM",
      `instance applies to per-instance platforms such as Mastodon, not ${module.name}`,
      [{ field: "instance", message: "Not used by this platform" }],
    );
  }
  if (input.handle !== undefined && platform !== "bluesky") {
    throw new ApiError("INVALID_PARAM", `handle applies to Bluesky, not ${module.name}`, [
      { field: "handle", message: "Not used by this platform" },
    ]);
  }
  // A hosted reconnect keeps its account's flow, as POST …/reconnect does.
  const kept = bound?.accountId ? await boundVariant(env, db, workspaceId, bound.accountId) : undefined;
  const version = kept ?? chosenVariant(module, input) ?? module.defaultVariant;
  const variant = version ? grantVariant(module, { oauthVersion: version }) : undefined;
  const instance = instanceOrigin(platform, input.instance);
  const workspace = await loadWorkspace(db, workspaceId);
  assertPlatformAllowed(workspace, platform);
  if (!instance) platformContext(env, variant?.via ?? platform, now, { variant, loginVariant: version });
  // A reconnect keeps its account's room in the plan.
  if (!bound?.accountId) await assertPlanRoom(db, workspace);
  const callbackUrl = callbackOf(workspace);
  return authorize(
    service,
    {
      workspaceId: workspace.id,
      platform,
      callbackUrl,
      pageMode: input.pageMode ?? false,
      accountId: bound?.accountId ?? null,
      instance,
      variant: version ?? null,
      sessionId: bound?.sessionId ?? null,
      createdAt: now,
    },
    input.forcePrompt ?? Boolean(bound?.accountId),
    input.handle,
  );
}

/** The connect options that choose a login variant: the option, the variant it stores, and who has it. */
const VARIANT_OPTIONS = [
  { field: "facebookLogin", version: FACEBOOK_LOGIN, owner: "Instagram" },
  { field: "tiktokBusiness", version: TIKTOK_BUSINESS, owner: "TikTok" },
] as const;

/** The variant the connect options ask for (its extras.oauthVersion), refused where the platform has none. */
function chosenVariant(module: PlatformModule, input: ConnectInput): string | undefined {
  const asked = VARIANT_OPTIONS.filter((option) => input[option.field] === true);
  for (const option of asked) {
    if (!grantVariant(module, { oauthVersion: option.version })) {
      throw new ApiError("INVALID_PARAM", `${option.field} applies to ${option.owner}, not ${module.name}`, [
        { field: option.field, message: "Not used by this platform" },
      ]);
    }
  }
  return asked[0]?.version;
}

/** POST /v1/accounts/:id/reconnect: a new authorization URL bound to this account. */
export async function startReconnect(
  service: ServiceContext,
  auth: AuthContext,
  accountId: string,
  input: ConnectInput,
) {
  const { env, db, now } = service;
  const account = await findAccount(db, auth.workspaceId, accountId);
  if (!account) throw new ApiError("NOT_FOUND", "Account not found");
  const module = oauthModule(account.platform);
  const workspace = await loadWorkspace(db, auth.workspaceId);
  assertPlatformAllowed(workspace, account.platform);
  const callbackUrl = validateCallbackUrl(input.callbackUrl, workspace.allowedCallbackDomains).toString();
  const bluesky = account.platform === "bluesky";
  const extras = module.instances || module.variants || bluesky ? await accountExtras(env, account) : null;
  const instance = module.instances && typeof extras?.instance === "string" ? extras.instance : null;
  const variant =
    typeof extras?.oauthVersion === "string" && grantVariant(module, extras) ? extras.oauthVersion : null;
  // A WhatsApp account connected with a system-user token is a phone number, not an Embedded Signup WABA.
  if (!module.oauth && !variant && !bluesky) {
    throw new ApiError(
      "INVALID_PARAM",
      `This ${module.name} account was connected with credentials: replace them with POST /v1/accounts/${account.id}/credentials`,
      [{ field: "id", message: "Connected with credentials" }],
    );
  }
  return authorize(
    service,
    {
      workspaceId: workspace.id,
      platform: account.platform,
      callbackUrl,
      pageMode: input.pageMode ?? false,
      accountId: account.id,
      instance,
      variant,
      createdAt: now,
    },
    input.forcePrompt ?? true,
    // A Bluesky reconnect asks for the account it holds, by DID.
    bluesky && typeof extras?.did === "string" ? extras.did : undefined,
  );
}

/** The login variant an account was connected with, where its platform has that variant. */
async function boundVariant(env: Env, db: Db, workspaceId: string, accountId: string) {
  const account = await findAccount(db, workspaceId, accountId);
  const extras = account ? await accountExtras(env, account) : null;
  const version = extras?.oauthVersion;
  return account && typeof version === "string" && grantVariant(getModule(account.platform), extras)
    ? version
    : undefined;
}

/** An account's provider extras (instance, login variant), decrypted. */
async function accountExtras(env: Env, account: AccountRow): Promise<Record<string, unknown> | null> {
  if (!account.extrasEnc) return null;
  return (await openAccountSecrets(await getSecretBox(env), account)).extras;
}

/** GET /v1/oauth/redirect/:platform: forwards the provider's answer to the caller's callbackUrl. */
export async function redirectTarget(
  { env, now, timeouts = DEFAULT_TIMEOUTS }: ServiceContext,
  platform: Platform,
  params: URLSearchParams,
): Promise<string | undefined> {
  const token = params.get("state") ?? "";
  const found = await readState(env.OAUTH_STATE, await getSecretBox(env), token, now, timeouts.storageMs);
  if (!found || found.state.platform !== platform) return undefined;
  const target = new URL(found.state.callbackUrl);
  const checked = checkedRedirect(found.state, params);
  for (const name of ["code", "state", "error", "error_description"]) {
    const value = checked.get(name);
    if (value !== null) target.searchParams.set(name, value.slice(0, 2048));
  }
  return target.toString();
}

/**
 * POST /v1/accounts/connect/whatsapp/embedded-signup: Embedded Signup run with Meta's JavaScript SDK
 * on the caller's page, whose code comes without a state or redirect URI. The code is single-use at
 * Meta; the ids the page reported are checked against what the business token was shared.
 */
export async function completeEmbeddedSignup(
  { env, db, now, timeouts = DEFAULT_TIMEOUTS }: ServiceContext,
  auth: AuthContext,
  input: { code: string } & EmbeddedSignupChoice,
): Promise<ConnectedAccount> {
  const module = getModule("whatsapp");
  const workspace = await loadWorkspace(db, auth.workspaceId);
  assertPlatformAllowed(workspace, "whatsapp");
  const options = { timeoutMs: timeouts.providerMs };
  const ctx = platformContext(env, "facebook", now, { ...options, loginVariant: EMBEDDED_SIGNUP });
  let tokens: TokenSet;
  let profile: Profile;
  try {
    tokens = await exchangeEmbeddedSignupCode(ctx, input.code, input);
    const apiCtx = platformContext(env, "whatsapp", now, { ...options, requireClientCredentials: false });
    profile = await module.profile(apiCtx, grantOf(tokens, now));
  } catch (err) {
    throw codeFailure(err);
  }
  return upsertConnectedAccount(env, db, auth.workspaceId, {
    platform: "whatsapp",
    tokens,
    profile,
    connectionType: "oauth",
    now,
  });
}

/** A refused code or grant is the caller's 400; other platform failures keep their own answer. */
function codeFailure(err: unknown): unknown {
  if (err instanceof ProviderError && err.kind === "refused") {
    return new ApiError("INVALID_PARAM", `Invalid authorization code: ${err.message}`, [
      { field: "code", message: "Refused by the platform" },
    ]);
  }
  return providerFailure(err);
}

/** POST /v1/accounts/callback/:platform: single-use state, code exchange, profile, upsert. */
export async function completeCallback(
  { env, db, now, timeouts = DEFAULT_TIMEOUTS }: ServiceContext,
  auth: AuthContext,
  platform: Platform,
  input: { code?: string; state: string; error?: string; error_description?: string },
  session?: SessionCompletion,
): Promise<ConnectedAccount> {
  const module = oauthModule(platform);
  // Read from KV before the single-use insert in D1: a state KV cannot answer for stays unspent.
  const found = await readState(
    env.OAUTH_STATE,
    await getSecretBox(env),
    input.state,
    now,
    timeouts.storageMs,
  );
  if (!found || found.state.workspaceId !== auth.workspaceId) throw invalidState();
  if ((found.state.sessionId ?? null) !== (session?.sessionId ?? null)) throw invalidState();
  if (found.state.platform !== platform) {
    const issued = getModule(found.state.platform).name;
    throw new ApiError(
      "INVALID_PARAM",
      `This OAuth state was issued for ${issued}, not ${getModule(platform).name}: send it to /v1/accounts/callback/${found.state.platform}`,
      [{ field: "state", message: `Issued for ${found.state.platform}` }],
    );
  }
  if (!(await consumeState(db, found.hash, found.state, now))) throw invalidState();
  const state: ConnectState = found.state;
  // The state is spent either way: a declined consent cannot be replayed into a code later.
  if (input.error !== undefined) throw consentError(platform, input.error, input.error_description);
  if (input.code === undefined) throw new ApiError("INVALID_PARAM", "Invalid code: Required");
  const variant = grantVariant(module, { oauthVersion: state.variant });

  let tokens: TokenSet;
  let profile: Profile;
  try {
    if (state.atproto) {
      ({ tokens, profile } = await exchangeBluesky({ env, db, now, timeouts }, state, input.code));
    } else {
      // A variant's OAuth runs at its `via` platform; the account's API calls stay with the platform.
      const ctx = await resolveContext(env, db, variant?.via ?? platform, now, state.instance, {
        timeoutMs: timeouts.providerMs,
        variant,
        loginVariant: state.variant,
      });
      tokens = variant?.exchangeCode
        ? await variant.exchangeCode(ctx, { code: input.code, redirectUri: state.redirectUri })
        : await exchangeCode(ctx, withVariant(module, variant), {
            code: input.code,
            codeVerifier: state.codeVerifier,
            redirectUri: state.redirectUri,
          });
      if (state.instance) tokens.extras = { ...tokens.extras, instance: state.instance };
      // A variant with its own app (not a `via`) serves the account's API calls too.
      const apiCtx = variant?.via
        ? await resolveContext(env, db, platform, now, state.instance, {
            requireClientCredentials: false,
            timeoutMs: timeouts.providerMs,
          })
        : ctx;
      profile = await module.profile(apiCtx, grantOf(tokens, now));
    }
  } catch (err) {
    throw codeFailure(err);
  }
  if (state.accountId) {
    const bound = await findAccount(db, auth.workspaceId, state.accountId);
    if (!bound || bound.platformUserId !== profile.platformUserId) {
      throw new ApiError(
        "INVALID_PARAM",
        "The platform returned a different account than the one being reconnected",
        [{ field: "code", message: "Different platform user" }],
      );
    }
  }
  return upsertConnectedAccount(env, db, auth.workspaceId, {
    platform,
    tokens,
    profile,
    connectionType: "oauth",
    now,
    ...(session
      ? {
          endUserId: session.endUserId,
          alsoCommit: session.alsoCommit,
          ...(session.metadata ? { metadata: session.metadata } : {}),
        }
      : {}),
  });
}
