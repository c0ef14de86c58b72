import { env } from "cloudflare:workers";
import { HttpResponse, http } from "msw";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { SCOPES, type Scope } from "../../src/lib/domain";
import { ERROR_STATUS } from "../../src/lib/errors";
import { newId } from "../../src/lib/ids";
import { GRAPH_VERSION } from "../../src/platforms/meta";
import { googleInvalidToken } from "../../src/platforms/wire/google";
import { linkedinUnauthorized } from "../../src/platforms/wire/linkedin";
import {
  admin,
  type CallOptions,
  call,
  callWith,
  createWorkspace,
  insertAccount,
  issueKey,
  type TestWorkspace,
} from "../helpers/api";
import { CALLBACK, connectAccount, consent } from "../helpers/connect";
import { type FakePlatform, fakeServer } from "../helpers/fake-provider";
import { responseChecker } from "../helpers/openapi";
import {
  blueskyFake,
  embeddedSignupFake,
  fakeFor,
  graphError,
  issuedSecrets,
  newTelegramBot,
  OAUTH_FAKES,
  oauthFake,
  sendError,
  type TelegramBot,
  telegramFake,
  whatsappFake,
} from "../helpers/platform-fakes";
import { Rng } from "../helpers/rng";

/*
 * A seeded, count-bounded fuzz test over every operation of the OpenAPI document the Worker serves.
 * Each operation gets CASES_PER_OPERATION requests derived from its own schema (wrong types, missing
 * required fields, oversized and unicode strings, boundary numbers, extra fields, bad ids, bad JSON,
 * wrong content types), chosen by a small PRNG seeded per operation, so a run is the same on any
 * machine. Two workspaces hold accounts and webhooks; canary secrets are planted everywhere.
 * Invariants: no response >= 500, every 4xx is the one error envelope, no call hangs, another
 * workspace's ids answer exactly like missing ones, no secret reaches a response, and no call without
 * a valid key or scope gets through. Rerun a failure with VITE_FUZZ_SEED=<seed>.
 */

declare global {
  interface ImportMeta {
    /** Vite fills it in when it transforms the file: the VITE_ variables of the environment. */
    readonly env: Record<string, string | undefined>;
  }
}

const SEED = Number(import.meta.env.VITE_FUZZ_SEED ?? 20261122);
const CASES_PER_OPERATION = 30;
/** A bound, not a measure: a request still unanswered after this is a hang. */
const HANG_MS = 5_000;
const MAX_HANGS = 3;

// ---------------------------------------------------------------------------------------------
// One Rng stream per operation, so operations do not shift each other's cases when one is added.

function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

// ---------------------------------------------------------------------------------------------
// The OpenAPI document as the fuzzer reads it.

// biome-ignore lint/suspicious/noExplicitAny: JSON Schema from the served document
type Schema = Record<string, any>;
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Param {
  name: string;
  in: "path" | "query";
  required?: boolean;
  schema: Schema;
}

interface Operation {
  /** "METHOD /path/{param}" as in the document. */
  id: string;
  method: string;
  path: string;
  params: Param[];
  body?: Schema;
  auth: "bearer" | "admin" | "public";
  responses: Record<string, { content?: Record<string, unknown> }>;
}

let doc: Schema;
let asDocumented: ReturnType<typeof responseChecker>;

function resolve(schema: Schema | undefined): Schema {
  let s = schema ?? {};
  for (let i = 0; s.$ref && i < 10; i++)
    s = doc.components.schemas[String(s.$ref).split("/").pop() as string];
  return s;
}

function typesOf(schema: Schema): string[] {
  const s = resolve(schema);
  if (s.enum) return ["string"];
  if (Array.isArray(s.type)) return s.type;
  return s.type ? [s.type] : [];
}

function operationsOf(document: Schema): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries(document.paths as Record<string, Record<string, Schema>>)) {
    for (const [method, op] of Object.entries(item)) {
      const security = (op.security ?? []) as Record<string, unknown>[];
      ops.push({
        id: `${method.toUpperCase()} ${path}`,
        method: method.toUpperCase(),
        path,
        params: (op.parameters ?? []) as Param[],
        body: op.requestBody?.content?.["application/json"]?.schema,
        auth: security.some((s) => "admin" in s) ? "admin" : security.length ? "bearer" : "public",
        responses: op.responses,
      });
    }
  }
  return ops;
}

/** The scope each operation needs, decided here: a new operation fails the test until it is listed. */
const SCOPE_OF: Record<string, Scope | "any key" | "admin" | "public"> = {
  "GET /v1/accounts": "accounts:read",
  "POST /v1/accounts": "accounts:write",
  "GET /v1/accounts/health": "accounts:read",
  "GET /v1/accounts/{id}": "accounts:read",
  "PATCH /v1/accounts/{id}": "accounts:write",
  "DELETE /v1/accounts/{id}": "accounts:write",
  "GET /v1/accounts/by-platform/{platform}/{platformAccountId}": "accounts:read",
  "DELETE /v1/accounts/by-platform/{platform}/{platformAccountId}": "accounts:write",
  "POST /v1/accounts/{id}/test": "accounts:write",
  "POST /v1/accounts/{id}/credentials": "accounts:write",
  "POST /v1/accounts/{id}/refresh": "accounts:write",
  "POST /v1/accounts/connect/{platform}": "accounts:write",
  "POST /v1/accounts/callback/{platform}": "accounts:write",
  "POST /v1/accounts/connect/whatsapp/embedded-signup": "accounts:write",
  "POST /v1/accounts/{id}/reconnect": "accounts:write",
  "GET /v1/accounts/{id}/pages": "accounts:read",
  "POST /v1/accounts/{id}/select-page": "accounts:write",
  "GET /v1/accounts/{id}/youtube/playlists": "accounts:read",
  "POST /v1/accounts/{id}/backfill": "accounts:write",
  "GET /v1/accounts/{id}/backfill": "accounts:read",
  "GET /v1/accounts/{id}/optimal-times": "accounts:read",
  "GET /v1/instagram/audio/search": "read:posts",
  "POST /v1/users/me/ga4-client-id": "any key",
  "GET /v1/oauth/redirect/{platform}": "public",
  "GET /v1/oauth/bluesky/client-metadata.json": "public",
  "GET /v1/oauth/bluesky/jwks.json": "public",
  "POST /v1/webhooks": "webhooks:write",
  "GET /v1/webhooks": "webhooks:read",
  "GET /v1/webhooks/{id}": "webhooks:read",
  "PATCH /v1/webhooks/{id}": "webhooks:write",
  "DELETE /v1/webhooks/{id}": "webhooks:write",
  "POST /v1/webhooks/{id}/rotate-secret": "webhooks:write",
  "POST /v1/webhooks/{id}/test": "webhooks:write",
  "GET /v1/webhooks/{id}/deliveries": "webhooks:read",
  "POST /v1/webhooks/{id}/recover": "webhooks:write",
  "POST /v1/admin/workspaces": "admin",
  "GET /v1/admin/workspaces/{id}": "admin",
  "PATCH /v1/admin/workspaces/{id}": "admin",
  "POST /v1/admin/workspaces/{id}/keys": "admin",
  "GET /v1/admin/workspaces/{id}/keys": "admin",
  "GET /v1/admin/dead-letters": "admin",
  "DELETE /v1/admin/keys/{id}": "admin",
  "POST /v1/admin/workspaces/{id}/accounts": "admin",
  "POST /v1/connect/sessions": "accounts:write",
  "GET /v1/connect/sessions/{id}": "accounts:read",
};

// ---------------------------------------------------------------------------------------------
// The world: workspace A (the caller), workspace B (the other tenant), workspace C (what the admin
// operations are fuzzed on, so they cannot revoke A's key), and the canaries.

type Connected = "twitter" | "youtube" | "linkedin";

interface Tenant {
  ws: TestWorkspace;
  accounts: Record<Connected | "instagram" | "telegram", string>;
  /** The bot of accounts.telegram, whose token its credentials update sends again. */
  telegramBot: TelegramBot;
  webhook: string;
}

let A: Tenant & { spareAccount: string; spareWebhook: string; bot: TelegramBot; session: string };
let B: Tenant;
let C: TestWorkspace;
/** A's keys: one holding only each scope, one holding every scope but it. */
const only = {} as Record<Scope, string>;
const allBut = {} as Record<Scope, string>;
let revokedKey: string;
let expiredKey: string;
/** A live OAuth state and code in A, for the callback's valid case (single use). */
let liveCallback: { code: string; state: string };
/** A code FB.login gave for a WhatsApp Embedded Signup that shared a WABA: the headless completion's valid body. */
let liveEmbeddedSignupCode: string;
/** B's pending OAuth state, which A must not be able to use. */
let foreignState: string;
let fakes: Record<Connected | "instagram" | "telegram", FakePlatform>;
/** A's account ids to their platform user ids, for the routes that address an account by platform. */
const platformUserOf = new Map<string, string>();

/** Secrets that must never appear in a response: these, and every token the fakes mint meanwhile. */
const plantedSecrets = new Set<string>();
const mintedBefore = new Set(issuedSecrets);
/** Strings of workspace B that A must never see (unless A sent them itself). */
const foreignStrings = new Set<string>();
let foreignSnapshot: unknown;

const audioOn = { ...env, INSTAGRAM_AUDIO_ENABLED: "true" } as Env;
const IG_TOKEN = "EAAB-fuzz-user-token";

function secrets(): string[] {
  const minted = [...issuedSecrets].filter((s) => !mintedBefore.has(s));
  return [...plantedSecrets, ...minted].filter((s) => s.length >= 8);
}

async function tenant(label: string): Promise<Tenant> {
  const ws = await createWorkspace();
  const tag = `${label}${crypto.randomUUID().slice(0, 8)}`;
  const connected = async (platform: Connected) => {
    const profile = { id: `${platform}-${tag}`, username: `${platform}_${tag}`, name: `${platform} ${tag}` };
    const res = await connectAccount(ws, fakes[platform], profile);
    if (res.status !== 200) throw new Error(`${platform} connect: ${res.status} ${res.text}`);
    return res.json.account.id as string;
  };
  const igToken = `${IG_TOKEN}-${tag}`;
  plantedSecrets.add(igToken).add(`${igToken}-page`);
  const instagram = await insertAccount(ws.id, {
    platform: "instagram",
    platformUserId: `ig-${tag}`,
    username: `ig_${tag}`,
    credentials: {
      accessToken: igToken,
      extras: {
        oauthVersion: "fb_login",
        igUserId: `1784${hash32(tag)}`,
        username: `ig_${tag}`,
        pageId: `1122${hash32(tag)}`,
        pageName: `Page ${tag}`,
        pageAccessToken: `${igToken}-page`,
      },
    },
  });
  const bot = newTelegramBot();
  telegramFake(fakes.telegram, bot);
  const telegram = await call("/v1/accounts", {
    method: "POST",
    key: ws.key,
    body: { platform: "telegram", credentials: { botToken: bot.token } },
  });
  if (telegram.status !== 201) throw new Error(`telegram: ${telegram.status} ${telegram.text}`);
  const webhook = await call("/v1/webhooks", {
    method: "POST",
    key: ws.key,
    body: { url: `https://receiver.test/hooks/${tag}` },
  });
  if (webhook.status !== 201) throw new Error(`webhook: ${webhook.status} ${webhook.text}`);
  plantedSecrets.add(ws.key).add(webhook.json.secret);
  return {
    ws,
    accounts: {
      twitter: await connected("twitter"),
      youtube: await connected("youtube"),
      linkedin: await connected("linkedin"),
      instagram: instagram.id,
      telegram: telegram.json.account.id,
    },
    telegramBot: bot,
    webhook: webhook.json.webhook.id,
  };
}

/** B's rows as stored, to prove nothing A did changed them. */
async function foreignRows() {
  const read = (sql: string) => env.DB.prepare(sql).bind(B.ws.id).all();
  return Promise.all([
    read("SELECT * FROM workspaces WHERE id = ?"),
    read("SELECT * FROM accounts WHERE workspace_id = ? ORDER BY id"),
    read("SELECT * FROM api_keys WHERE workspace_id = ? ORDER BY id"),
    read(
      "SELECT id, url, description, event_types, enabled, secret_enc, previous_secret_enc FROM webhook_endpoints WHERE workspace_id = ? ORDER BY id",
    ),
  ]).then((all) => all.map((r) => r.results));
}

beforeAll(async () => {
  doc = (await call("/v1/openapi.json")).json;
  asDocumented = responseChecker(doc);
  // Every platform the operations can reach answers like the real one; nothing reaches the internet.
  for (const platform of Object.keys(OAUTH_FAKES) as (keyof typeof OAUTH_FAKES)[]) oauthFake(platform);
  const whatsappPlatform = fakeFor("whatsapp");
  const signupFacebook = oauthFake("facebook");
  embeddedSignupFake(signupFacebook, whatsappPlatform, {
    id: "102290129340398",
    name: "Fuzz Market",
    numbers: [{ id: "1065550101", displayNumber: "+1 555 0101", verifiedName: "Fuzz Market" }],
  });
  liveEmbeddedSignupCode = signupFacebook.issueCode(
    { id: "fb-es-live", username: "unused", name: "Fuzz Owner" },
    { scopes: ["whatsapp_business_management", "whatsapp_business_messaging"] },
  );
  fakes = {
    twitter: oauthFake("twitter"),
    youtube: oauthFake("youtube"),
    linkedin: oauthFake("linkedin"),
    instagram: oauthFake("instagram"),
    telegram: fakeFor("telegram"),
  };
  fakes.instagram.api(`GET /${GRAPH_VERSION}/ig_audio`, ({ request }) =>
    request.headers.get("authorization")?.includes(IG_TOKEN)
      ? Response.json({ data: [{ audio_id: "1", audio_type: "music", title: "Fuzz" }] })
      : graphError(190, 400, "Invalid OAuth access token data."),
  );
  fakes.linkedin.api("GET /rest/organizationAcls", ({ grant }) =>
    grant
      ? Response.json({
          paging: { count: 10, start: 0, links: [] },
          elements: [
            { role: "ADMINISTRATOR", state: "APPROVED", organization: "urn:li:organization:2414183" },
          ],
        })
      : sendError(linkedinUnauthorized()),
  );
  fakes.linkedin.api("GET /rest/organizations", ({ grant }) =>
    grant
      ? Response.json({
          results: { "2414183": { id: 2414183, localizedName: "Fuzz Org", vanityName: "fuzzorg" } },
          statuses: { "2414183": 200 },
          errors: {},
        })
      : sendError(linkedinUnauthorized()),
  );
  fakes.youtube.api("GET /youtube/v3/playlists", ({ grant }) =>
    grant
      ? Response.json({ items: [{ id: "PLfuzzfuzzfuzzfuzz", snippet: { title: "Fuzz" } }], pageInfo: {} })
      : sendError(googleInvalidToken()),
  );
  whatsappFake(whatsappPlatform, { id: "1065550100", displayNumber: "+1 555 0100", verifiedName: "Fuzz" });
  blueskyFake(fakeFor("bluesky"), {
    did: "did:plc:fuzzfuzzfuzzfuzzfuzzfuzz",
    handle: "fuzz.bsky.social",
    appPassword: "fuzz-fuzz-fuzz-fuzz",
    displayName: "Fuzz",
  });
  // Webhook endpoints the fuzz creates may point anywhere: answer them here.
  fakeServer.use(
    http.all("*", ({ request }) =>
      new URL(request.url).hostname === "fake.test" ? undefined : new HttpResponse(null, { status: 204 }),
    ),
  );

  B = await tenant("b");
  const a = await tenant("a");
  const spareWebhook = await call("/v1/webhooks", {
    method: "POST",
    key: a.ws.key,
    body: { url: "https://receiver.test/hooks/spare" },
  });
  plantedSecrets.add(spareWebhook.json.secret);
  const token = (kind: string) => `${kind}-canary-${crypto.randomUUID()}`;
  const spare = await insertAccount(a.ws.id, {
    credentials: { accessToken: token("at"), refreshToken: token("rt") },
  });
  const bot = newTelegramBot();
  telegramFake(fakes.telegram, bot);
  const session = await call("/v1/connect/sessions", {
    method: "POST",
    key: a.ws.key,
    body: { endUserId: "fuzz-end-user" },
  });
  if (session.status !== 201) throw new Error(`session: ${session.status} ${session.text}`);
  A = {
    ...a,
    spareAccount: spare.id,
    spareWebhook: spareWebhook.json.webhook.id,
    bot,
    session: session.json.id,
  };
  for (const scope of SCOPES) {
    only[scope] = (await issueKey(A.ws.id, [scope])).key;
    allBut[scope] = (
      await issueKey(
        A.ws.id,
        SCOPES.filter((s) => s !== scope),
      )
    ).key;
  }
  const revoked = await issueKey(A.ws.id, [...SCOPES]);
  await admin(`/keys/${revoked.id}`, { method: "DELETE" });
  revokedKey = revoked.key;
  const expired = await issueKey(A.ws.id, [...SCOPES]);
  await env.DB.prepare("UPDATE api_keys SET expires_at = ? WHERE id = ?")
    .bind(Date.now() - 60_000, expired.id)
    .run();
  expiredKey = expired.key;
  C = await createWorkspace();
  for (const key of [...Object.values(only), ...Object.values(allBut), revokedKey, expiredKey, C.key])
    plantedSecrets.add(key);

  const live = await consent(A.ws, fakes.twitter, { id: "tw-live", username: "live_user", name: "Live" });
  liveCallback = { code: live.code, state: live.state };
  foreignState = (await consent(B.ws, fakes.twitter, { id: "tw-b", username: "b_pending", name: "B" })).state;

  for (const value of [...Object.values(B.accounts), B.webhook, B.ws.id, B.ws.keyId])
    foreignStrings.add(value);
  const [, accounts] = await foreignRows();
  for (const row of accounts as Record<string, unknown>[]) {
    for (const field of ["platform_user_id", "username", "display_name"]) {
      const value = row[field];
      if (typeof value === "string" && value.length >= 6) foreignStrings.add(value);
    }
  }
  // A string A's own rows hold too (a shared bot name, say) tells nothing about B.
  const own = await env.DB.prepare(
    "SELECT platform_user_id, username, display_name FROM accounts WHERE workspace_id = ?",
  )
    .bind(A.ws.id)
    .all<Record<string, unknown>>();
  for (const row of own.results) for (const value of Object.values(row)) foreignStrings.delete(String(value));
  const ownIds = await env.DB.prepare("SELECT id, platform_user_id FROM accounts WHERE workspace_id = ?")
    .bind(A.ws.id)
    .all<{ id: string; platform_user_id: string }>();
  for (const row of ownIds.results) platformUserOf.set(row.id, row.platform_user_id);
  plantedSecrets.add(env.ADMIN_TOKEN).add(foreignState);
  for (const part of env.TOKEN_ENCRYPTION_KEYS.split(","))
    plantedSecrets.add(part.slice(part.indexOf(":") + 1));
  for (const [name, value] of Object.entries(env))
    if (name.endsWith("_CLIENT_SECRET") && typeof value === "string") plantedSecrets.add(value);
  foreignSnapshot = await foreignRows();
}, 60_000);

// The catch-all above must not answer for the files that run after this one in the same pool worker.
afterAll(() => fakeServer.resetHandlers());

// ---------------------------------------------------------------------------------------------
// Requests: the valid one for each operation, and what the fuzzer makes of it.

interface Segment {
  value: string;
  /** Already in its wire form (deliberately malformed percent-encoding, say). */
  raw?: boolean;
}

interface Request {
  op: Operation;
  params: Record<string, Segment>;
  query: [string, Segment][];
  /** A JSON value to send, or raw text with its own content type. */
  body?: { json: Json } | { raw: string; contentType?: string };
  headers: Record<string, string>;
  key?: string;
  /** The operation's own method unless a case changes it. */
  method?: string;
  note: string;
}

const kindOf = (op: Operation) =>
  op.path.startsWith("/v1/webhooks") ? "webhook" : op.path.startsWith("/v1/admin") ? "admin" : "account";

/** A's id for the operation: the account whose platform serves it, a spare where it destroys. */
function ownId(op: Operation): string {
  if (op.path.startsWith("/v1/admin/keys")) return C.keyId;
  if (op.path.startsWith("/v1/admin")) return C.id;
  if (op.path.startsWith("/v1/connect/sessions")) return A.session;
  if (kindOf(op) === "webhook") return op.method === "DELETE" ? A.spareWebhook : A.webhook;
  if (op.method === "DELETE") return A.spareAccount;
  if (op.path.endsWith("/credentials")) return A.accounts.telegram;
  if (op.path.includes("/pages") || op.path.includes("/select-page")) return A.accounts.linkedin;
  if (op.path.includes("/youtube/")) return A.accounts.youtube;
  return A.accounts.twitter;
}

function validBody(op: Operation): Json | undefined {
  switch (op.id) {
    case "POST /v1/accounts":
      return { platform: "telegram", credentials: { botToken: A.bot.token } };
    case "POST /v1/accounts/{id}/credentials":
      return { credentials: { botToken: A.telegramBot.token } };
    case "PATCH /v1/accounts/{id}":
      return { name: "Fuzzed", metadata: { customer: "c_1" } };
    case "POST /v1/accounts/connect/{platform}":
    case "POST /v1/accounts/{id}/reconnect":
      return { callbackUrl: CALLBACK };
    case "POST /v1/accounts/callback/{platform}":
      return liveCallback;
    case "POST /v1/accounts/connect/whatsapp/embedded-signup":
      return { code: liveEmbeddedSignupCode };
    case "POST /v1/accounts/{id}/select-page":
      return { pageId: "2414183" };
    case "POST /v1/connect/sessions":
      return { endUserId: "fuzz-end-user", returnUrl: CALLBACK };
    case "POST /v1/users/me/ga4-client-id":
      return { clientId: "1234567890.9876543210" };
    case "POST /v1/webhooks":
      return { url: "https://receiver.test/hooks/fuzz", eventTypes: ["account.error"] };
    case "PATCH /v1/webhooks/{id}":
      return { description: "fuzzed" };
    case "POST /v1/webhooks/{id}/recover":
      return { since: new Date(Date.now() - 3_600_000).toISOString() };
    case "POST /v1/admin/workspaces":
      return { name: "Fuzz workspace" };
    case "PATCH /v1/admin/workspaces/{id}":
      return { name: "Fuzz C" };
    case "POST /v1/admin/workspaces/{id}/keys":
      return { name: "fuzz", scopes: ["accounts:read"] };
    case "POST /v1/admin/workspaces/{id}/accounts":
      return {
        platform: "twitter",
        platformUserId: `fuzz-${crypto.randomUUID()}`,
        credentials: { accessToken: "at-admin-canary-0123456789" },
      };
    default:
      return op.body ? (sample(op.body, new Rng(1)) as Json) : undefined;
  }
}

function validRequest(op: Operation, key = keyFor(op)): Request {
  const params: Record<string, Segment> = {};
  const query: [string, Segment][] = [];
  for (const p of op.params) {
    if (p.name === "platformAccountId") params[p.name] = { value: platformUserOf.get(ownId(op)) ?? "" };
    else if (p.in === "path") params[p.name] = { value: p.name === "platform" ? "twitter" : ownId(op) };
    else if (p.name === "accountId") query.push([p.name, { value: A.accounts.instagram }]);
    else if (op.id === "GET /v1/oauth/redirect/{platform}" && p.name === "state")
      query.push([p.name, { value: liveCallback.state }]);
    else if (op.id === "GET /v1/oauth/redirect/{platform}" && p.name === "code")
      query.push([p.name, { value: liveCallback.code }]);
  }
  const body = validBody(op);
  return {
    op,
    params,
    query,
    body: body === undefined ? undefined : { json: body },
    headers: {},
    key,
    note: "valid",
  };
}

function keyFor(op: Operation): string | undefined {
  if (op.auth === "admin") return env.ADMIN_TOKEN;
  if (op.auth === "public") return undefined;
  return A.ws.key;
}

/** encodeURIComponent, with a lone surrogate sent as the invalid UTF-8 a careless client would send. */
function encode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return encodeURIComponent(value.replace(/[\ud800-\udfff]/g, "\u0000")).replace(/%00/g, "%ED%A0%80");
  }
}

function urlOf(req: Request): string {
  const path = req.op.path.replace(/\{(\w+)\}/g, (_, name: string) => {
    const segment = req.params[name] ?? { value: "" };
    return segment.raw ? segment.value : encode(segment.value);
  });
  const query = req.query
    .map(([name, s]) => (s.raw ? `${name}=${s.value}` : `${encode(name)}=${encode(s.value)}`))
    .join("&");
  return query ? `${path}?${query}` : path;
}

function optionsOf(req: Request): CallOptions {
  const headers = { ...req.headers };
  let rawBody: string | undefined;
  if (req.body && "json" in req.body) {
    rawBody = JSON.stringify(req.body.json);
    headers["content-type"] ??= "application/json";
  } else if (req.body) {
    rawBody = req.body.raw;
    if (req.body.contentType) headers["content-type"] = req.body.contentType;
  }
  const method = req.method ?? req.op.method;
  // fetch cannot send a body with GET or HEAD (a second mutation may have added one).
  if (method === "GET" || method === "HEAD") return { method, key: req.key, headers };
  return { method, key: req.key, rawBody, headers };
}

type Answer = Awaited<ReturnType<typeof call>>;

let sent = 0;

/** Sends a request through the Worker's fetch handler; a request unanswered within HANG_MS is a hang. */
async function send(req: Request): Promise<Answer | "hang" | { threw: string }> {
  sent += 1;
  const path = urlOf(req);
  const options = optionsOf(req);
  const answer =
    req.op.id === "GET /v1/instagram/audio/search" ? callWith(audioOn, path, options) : call(path, options);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<"hang">((resolve) => {
    timer = setTimeout(() => resolve("hang"), HANG_MS);
  });
  try {
    return await Promise.race([answer, hang]);
  } catch (err) {
    // workerd cancels a request whose code waits on nothing: a hang too, just detected sooner.
    return { threw: err instanceof Error ? err.message.slice(0, 200) : String(err) };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

const answered = (res: Answer | "hang" | { threw: string }): res is Answer =>
  res !== "hang" && !("threw" in res);

// ---------------------------------------------------------------------------------------------
// Invariants every answer must keep.

function envelopeProblem(res: Answer): string | undefined {
  const type = res.headers.get("content-type") ?? "";
  if (!type.startsWith("application/json")) return `content-type ${type || "none"}`;
  const body = res.json;
  if (!body || typeof body !== "object" || Array.isArray(body)) return "body is not an object";
  if (Object.keys(body).join() !== "error") return `top-level keys ${Object.keys(body).join()}`;
  const error = body.error;
  if (!error || typeof error !== "object") return "error is not an object";
  const extra = Object.keys(error).filter((k) => !["code", "message", "details", "requestId"].includes(k));
  if (extra.length) return `unexpected error keys ${extra.join()}`;
  if (!(error.code in ERROR_STATUS)) return `unknown code ${error.code}`;
  if (ERROR_STATUS[error.code as keyof typeof ERROR_STATUS] !== res.status)
    return `code ${error.code} under HTTP ${res.status}`;
  if (typeof error.message !== "string" || !error.message) return "empty message";
  if (error.details !== undefined) {
    if (!Array.isArray(error.details) || !error.details.length) return "details is not a non-empty array";
    for (const d of error.details) {
      if (typeof d?.field !== "string" || typeof d?.message !== "string" || Object.keys(d).length !== 2)
        return `bad detail ${JSON.stringify(d)}`;
    }
  }
  if (error.requestId !== undefined && error.requestId !== res.headers.get("x-request-id"))
    return "requestId differs from x-request-id";
  return undefined;
}

/** What an answer shows that it must not: a secret, or a string of workspace B that A did not send. */
function leaks(req: Request, res: Answer): string[] {
  const sentText = `${urlOf(req)} ${optionsOf(req).rawBody ?? ""}`;
  const shown = `${res.text}\n${[...res.headers].map(([k, v]) => `${k}: ${v}`).join("\n")}`;
  const found: string[] = [];
  for (const secret of secrets()) {
    if (shown.includes(secret) || shown.includes(encodeURIComponent(secret)))
      found.push(`secret ${secret.slice(0, 6)}…`);
  }
  // The admin API sees every workspace; a tenant sees only its own.
  if (req.op.auth !== "admin") {
    for (const value of foreignStrings)
      if (!sentText.includes(value) && shown.includes(value)) found.push(`B's ${value}`);
  }
  return found;
}

const violations: string[] = [];
const statuses = new Map<string, Map<number, number>>();

function describeRequest(req: Request): string {
  const options = optionsOf(req);
  const body = options.rawBody === undefined ? "" : ` body=${JSON.stringify(options.rawBody.slice(0, 120))}`;
  const type = options.headers?.["content-type"] ? ` type=${options.headers["content-type"]}` : "";
  return `${req.method ?? req.op.method} ${urlOf(req).slice(0, 160)}${type}${body} [${req.note}]`;
}

/** Checks the invariants; answers the problems found (also recorded in `violations`). */
function check(req: Request, res: Answer | "hang" | { threw: string }): string[] {
  const problems: string[] = [];
  if (res === "hang") {
    problems.push(`no answer within ${HANG_MS} ms`);
  } else if ("threw" in res) {
    problems.push(`no answer: ${res.threw}`);
  } else {
    const counts = statuses.get(req.op.id) ?? new Map<number, number>();
    counts.set(res.status, (counts.get(res.status) ?? 0) + 1);
    statuses.set(req.op.id, counts);
    if (res.status >= 500) problems.push(`HTTP ${res.status} ${res.text.slice(0, 200)}`);
    if (!/^req_/.test(res.headers.get("x-request-id") ?? "")) problems.push("no x-request-id");
    if (res.status >= 400 && res.status < 500 && req.method !== "HEAD") {
      const documented = req.op.responses[String(res.status)]?.content ?? {};
      const html = "text/html" in documented && res.headers.get("content-type")?.startsWith("text/html");
      const problem = html ? undefined : envelopeProblem(res);
      if (problem) problems.push(`not the error envelope (${problem}): ${res.text.slice(0, 200)}`);
    }
    if (res.status >= 300 && res.status < 400 && !req.op.responses[String(res.status)])
      problems.push(`undocumented redirect ${res.status}`);
    // An answer to the operation's own method is one the document describes, body and all.
    if (req.method === undefined && res.status < 500) {
      const problem = asDocumented(req.op.method, req.op.path, res);
      if (problem) problems.push(`not as documented: ${problem}`);
    }
    problems.push(...leaks(req, res));
  }
  for (const problem of problems) violations.push(`${describeRequest(req)}: ${problem}`);
  return problems;
}

function report(what: string, context = "") {
  const found = violations.splice(0);
  expect(
    found,
    `${what}: ${found.length} violations (seed ${SEED}; rerun with VITE_FUZZ_SEED=${SEED})${context}`,
  ).toEqual([]);
}

// ---------------------------------------------------------------------------------------------
// The generator: valid samples, and malformed or boundary values, from each schema.

function sample(schema: Schema, rng: Rng): Json {
  const s = resolve(schema);
  if (s.enum) return rng.pick(s.enum as Json[]);
  if (s.default !== undefined) return s.default as Json;
  const type = typesOf(s).find((t) => t !== "null");
  switch (type) {
    case "string": {
      if (s.format === "date-time") return new Date(Date.now() + 86_400_000).toISOString();
      if (s.format === "uri") return "https://example.com/avatar.png";
      if (s.format === "email") return "fuzz@example.com";
      if (s.pattern?.includes("localhost")) return "app.example.com";
      if (s.pattern) return "1234.5678";
      const min = s.minLength ?? 1;
      return "fuzz".padEnd(min, "z").slice(0, Math.max(min, Math.min(4, s.maxLength ?? 4)));
    }
    case "integer":
    case "number":
      return Math.min(s.maximum ?? 1, Math.max(s.minimum ?? 1, 1));
    case "boolean":
      return true;
    case "array":
      return (s.minItems ?? 0) > 0 ? [sample(s.items, rng)] : [];
    case "object": {
      const out: Record<string, Json> = {};
      for (const name of (s.required ?? []) as string[]) out[name] = sample(s.properties?.[name], rng);
      return out;
    }
    default:
      return "fuzz";
  }
}

/** Strings that have broken parsers, databases and lookups before. */
const NASTY = [
  "",
  " ",
  "\u0000",
  "\t\r\n",
  "null",
  "undefined",
  "NaN",
  "true",
  "[object Object]",
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "' OR '1'='1",
  '"; DROP TABLE accounts; --',
  "<script>alert(1)</script>",
  "../../../etc/passwd",
  "\ud800",
  "\udfff",
  "😀".repeat(40),
  "\u202egnirts",
  "Z\u0364\u0351\u0313a\u0308\u0347\u032d",
  "ＴＷＩＴＴＥＲ",
  "TWİTTER",
  "twitter\u0000",
  "\r\nX-Injected: 1",
  "$" + "{jndi:ldap://x/a}",
  "%s%s%n",
  "1e999",
  "-0",
  "0x10",
  "\ufeff",
  "djE6",
  btoa('{"id":1,"t":-1}'),
  btoa("v1:acc_\u0000"),
];

const NUMBERS = [-1, 0, -0, 0.5, 1.5, 2 ** 31, 2 ** 53 + 2, 1e308, -1e308, Number.MIN_VALUE, -(2 ** 63)];

const BAD_DATES = [
  "2026-13-45T99:99:99Z",
  "yesterday",
  "0000-00-00T00:00:00Z",
  "275760-09-13T00:00:00.001Z",
  "-271821-04-20T00:00:00Z",
  "2026-11-22",
  "2026-11-22T10:00:00+25:00",
  "1e13",
];

function wrongTypes(schema: Schema): Json[] {
  const types = typesOf(schema);
  const out: Json[] = [];
  if (!types.includes("string")) out.push("fuzz", "");
  if (!types.includes("number") && !types.includes("integer")) out.push(12345, -1, 1.5);
  if (!types.includes("boolean")) out.push(true, false);
  if (!types.includes("array")) out.push([1, "a", null], []);
  if (!types.includes("object")) out.push({ a: 1 }, {});
  if (!types.includes("null")) out.push(null);
  return out;
}

function boundaries(schema: Schema, rng: Rng): Json[] {
  const s = resolve(schema);
  const types = typesOf(s);
  const out: Json[] = [];
  if (types.includes("string") || s.enum) {
    out.push(rng.pick(NASTY), "x".repeat(100_000));
    if (s.maxLength !== undefined) out.push("x".repeat(s.maxLength + 1), "é".repeat(s.maxLength + 1));
    if (s.minLength) out.push("x".repeat(s.minLength - 1));
    if (s.enum)
      out.push("NOT_A_VALUE", String(s.enum[0]).toUpperCase(), ` ${s.enum[0]}`, `${s.enum[0]}\u0000`);
    if (s.format === "date-time") out.push(...BAD_DATES);
    if (s.format === "uri") out.push("javascript:alert(1)", "http://[::1", "//no-scheme", "https://");
    if (s.format === "email") out.push("a@", "@b.c", "a@b@c.d");
    if (s.pattern) out.push("1.2.3", "abc.def", "1234567890.9876543210\n");
  }
  if (types.includes("integer") || types.includes("number")) {
    out.push(...NUMBERS);
    if (s.minimum !== undefined) out.push(s.minimum - 1);
    if (s.maximum !== undefined) out.push(s.maximum + 1);
  }
  if (types.includes("array")) {
    const item = sample(s.items ?? {}, rng);
    out.push(
      Array.from({ length: (s.maxItems ?? 100) + 1 }, () => item),
      [null],
      [[item]],
    );
  }
  if (types.includes("object")) {
    out.push(Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, "x".repeat(100)])));
    out.push(deepNest(3000));
  }
  return out;
}

function deepNest(depth: number): Json {
  let value: Json = "bottom";
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

interface Slot {
  path: (string | number)[];
  schema: Schema;
  required: boolean;
  present: boolean;
}

/** Every property the body's schema names, present or not, down to three levels. */
function slots(schema: Schema, value: Json | undefined, path: (string | number)[] = [], depth = 0): Slot[] {
  const s = resolve(schema);
  const out: Slot[] = [];
  if (s.properties) {
    const obj = value && typeof value === "object" && !Array.isArray(value) ? value : undefined;
    for (const [name, sub] of Object.entries(s.properties as Record<string, Schema>)) {
      const present = obj !== undefined && name in obj;
      out.push({ path: [...path, name], schema: sub, required: (s.required ?? []).includes(name), present });
      if (present && depth < 3) out.push(...slots(sub, obj?.[name], [...path, name], depth + 1));
    }
  }
  if (s.items && Array.isArray(value) && value.length)
    out.push({ path: [...path, 0], schema: s.items, required: true, present: true });
  return out;
}

/** A copy of `root` with `value` at `path` (removed when undefined), copying only the path. */
function setAt(root: Json, path: (string | number)[], value: Json | undefined): Json {
  if (!path.length) return value === undefined ? null : value;
  const [key, ...rest] = path as [string | number, ...(string | number)[]];
  const node = root && typeof root === "object" ? root : {};
  const copy = (Array.isArray(node) ? [...node] : { ...node }) as Record<string | number, Json>;
  if (rest.length) copy[key] = setAt(copy[key] ?? {}, rest, value);
  else if (value === undefined) delete copy[key];
  else copy[key] = value;
  return copy as Json;
}

const BAD_SEGMENTS: Segment[] = [
  { value: "", raw: true },
  { value: "%ZZ", raw: true },
  { value: "%", raw: true },
  { value: "%E0%A4%A", raw: true },
  { value: "%00", raw: true },
  { value: "..", raw: true },
  { value: "%2e%2e", raw: true },
  { value: "a%2Fb", raw: true },
  { value: "x".repeat(65) },
  { value: "x".repeat(10_000) },
  { value: "é".repeat(64) },
  { value: "acc_00000000000000000000000000" },
  { value: "wh_00000000000000000000000000" },
  { value: "ws_00000000000000000000000000" },
];

const BAD_JSON = [
  "{",
  '{"a":',
  "[1,]",
  "{'a':1}",
  "\u0000",
  "\ufeff{}",
  '{"a":1}{"b":2}',
  '{"limit":1e999,"since":1e999,"name":1e999}',
  "[".repeat(10_000),
  "null",
  '"string"',
  "42",
  "[]",
  "true",
  "",
];

const CONTENT_TYPES = [
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=x",
  "application/json; charset=utf-16",
  "application/vnd.api+json",
  "application/xml",
  "APPLICATION/JSON",
  "application/json, text/plain",
];

type Mutator = (req: Request, rng: Rng) => void;

function pathMutation(req: Request, rng: Rng) {
  const names = Object.keys(req.params);
  const name = rng.pick(names);
  const foreign = req.op.auth === "bearer" ? [...Object.values(B.accounts), B.webhook] : [];
  const pool: Segment[] = [
    ...BAD_SEGMENTS,
    ...NASTY.map((value) => ({ value })),
    ...foreign.map((value) => ({ value })),
    ...(name === "platform"
      ? ["myspace", "TWITTER", "Twitter ", "twitter.com"].map((value) => ({ value }))
      : []),
  ];
  const segment = rng.pick(pool);
  req.params[name] = segment;
  req.note = `path ${name}=${JSON.stringify(segment.value.slice(0, 40))}`;
}

function queryMutation(req: Request, rng: Rng, only?: string) {
  const declared = req.op.params.filter((p) => p.in === "query");
  const param = only
    ? declared.find((p) => p.name === only)
    : declared.length && rng.chance(0.85)
      ? rng.pick(declared)
      : undefined;
  const name = param?.name ?? rng.pick(["unknown", "__proto__", "limit[]", "a".repeat(300)]);
  const schema = param?.schema ?? { type: "string" };
  const raw = rng.chance(0.2);
  let values: Segment[];
  if (raw) {
    values = [
      rng.pick(
        ["%ZZ", "%", "%E0%A4%A", "%00", "%FF%FE", "a&b", "=", "%26%3D"].map((value) => ({
          value,
          raw: true,
        })),
      ),
    ];
  } else {
    const candidates = [...wrongTypes(schema), ...boundaries(schema, rng)].filter(
      (v) => typeof v !== "object" || v === null,
    );
    const value = String(rng.pick(candidates));
    values = [{ value }];
    if (rng.chance(0.25)) values.push({ value: String(sample(schema, rng)) });
  }
  for (const v of values) req.query.push([name, v]);
  req.note = `query ${name.slice(0, 20)}=${values.map((v) => JSON.stringify(v.value.slice(0, 40))).join("&")}`;
}

type BodyMutation = "wrong-type" | "missing" | "boundary" | "extra" | "valid-optional" | "proto";

function bodyMutation(req: Request, rng: Rng, forced?: { property: string; kind: BodyMutation }) {
  const schema = req.op.body as Schema;
  const base = req.body && "json" in req.body ? req.body.json : {};
  const candidates = [{ path: [], schema, required: true, present: true }, ...slots(schema, base)];
  const slot = forced
    ? (candidates.find((c) => c.path.length === 1 && c.path[0] === forced.property) as Slot)
    : rng.pick(candidates);
  const where = slot.path.join(".") || "body";
  const kind =
    forced?.kind ??
    rng.pick(["wrong-type", "missing", "boundary", "extra", "valid-optional", "proto"] as const);
  let json = base;
  if (kind === "missing" && slot.path.length) {
    json = setAt(base, slot.path, undefined);
  } else if (kind === "extra") {
    const parent = slot.path.length && resolve(slot.schema).properties ? slot.path : [];
    json = setAt(base, [...parent, rng.pick(["unknown", "isAdmin", "workspaceId", "id"])], "fuzz");
  } else if (kind === "valid-optional") {
    json = setAt(base, slot.path, sample(slot.schema, rng));
  } else if (kind === "proto") {
    const text = JSON.stringify(base);
    req.body = {
      raw:
        text.startsWith("{") && text !== "{}"
          ? `{"__proto__":{"polluted":true},${text.slice(1)}`
          : '{"__proto__":{"x":1}}',
      contentType: "application/json",
    };
    req.note = "body __proto__ key";
    return;
  } else {
    const pool = kind === "wrong-type" ? wrongTypes(slot.schema) : boundaries(slot.schema, rng);
    json = setAt(base, slot.path, rng.pick(pool));
  }
  req.body = { json };
  req.note = `body ${kind} at ${where}`;
}

function rawBodyMutation(req: Request, rng: Rng) {
  if (rng.chance(0.2)) {
    const base = req.body && "json" in req.body ? req.body.json : {};
    const big =
      base && typeof base === "object" && !Array.isArray(base)
        ? { ...base, pad: "x".repeat(1_000_000) }
        : base;
    req.body = { raw: JSON.stringify(big), contentType: "application/json" };
    req.note = "1 MB body";
    return;
  }
  const raw = rng.pick(BAD_JSON);
  req.body = { raw, contentType: "application/json" };
  req.note = `bad JSON ${JSON.stringify(raw.slice(0, 30))}`;
}

function contentTypeMutation(req: Request, rng: Rng) {
  const type = rng.pick([...CONTENT_TYPES, "none"]);
  const text = req.body && "json" in req.body ? JSON.stringify(req.body.json) : "{}";
  req.body =
    type === "none"
      ? { raw: text }
      : { raw: type.includes("urlencoded") ? "name=x&a=1" : text, contentType: type };
  req.note = `content-type ${type}`;
}

function headerMutation(req: Request, rng: Rng) {
  const [name, value] = rng.pick([
    ["x-d1-bookmark", "not-a-bookmark"],
    ["x-d1-bookmark", "00000000-00000000-00000000-00000000000000000000000000000000"],
    ["x-d1-bookmark", "x".repeat(300)],
    ["x-request-id", "x".repeat(300)],
    ["x-request-id", "req_<script>"],
    ["accept", "application/xml"],
    ["accept-encoding", "gzip;q=abc"],
    ["origin", "https://evil.example"],
  ] as const);
  req.headers[name] = value;
  req.note = `header ${name}: ${value.slice(0, 40)}`;
}

/** A method the path does not document (HEAD answers no body, so it is held to the status only). */
function methodMutation(req: Request, rng: Rng) {
  const method = rng.pick(
    ["PUT", "OPTIONS", "HEAD", "PATCH", "DELETE", "POST"].filter((m) => m !== req.op.method),
  );
  req.method = method;
  if (method === "HEAD") req.body = undefined;
  req.note = `method ${method}`;
}

/** The mutators that apply to an operation, weighted by what it takes. */
function mutatorsOf(op: Operation): Mutator[] {
  const out: Mutator[] = [headerMutation, methodMutation];
  if (op.params.some((p) => p.in === "path")) out.push(pathMutation, pathMutation, pathMutation);
  out.push(queryMutation, ...(op.params.some((p) => p.in === "query") ? [queryMutation, queryMutation] : []));
  if (op.body)
    out.push(
      bodyMutation,
      bodyMutation,
      bodyMutation,
      bodyMutation,
      bodyMutation,
      rawBodyMutation,
      contentTypeMutation,
    );
  else if (op.method !== "GET") out.push(rawBodyMutation);
  return out;
}

/**
 * One case per input the operation names (each body property given a wrong type or a boundary
 * value, each query and path parameter a bad value), so none goes untried.
 */
function systematic(op: Operation, rng: Rng): Mutator[] {
  const out: Mutator[] = [];
  for (const property of Object.keys(resolve(op.body).properties ?? {})) {
    const kind = rng.pick(["wrong-type", "boundary"] as const);
    out.push((req, r) => bodyMutation(req, r, { property, kind }));
  }
  for (const p of op.params) {
    if (p.in === "query") out.push((req, r) => queryMutation(req, r, p.name));
    else out.push(pathMutation);
  }
  return out;
}

/**
 * The operation's cases, from the operation's own stream: its valid request, one case per input it
 * names, then random mutations (one or two each) up to `count`.
 */
function casesOf(op: Operation, count: number): Request[] {
  const rng = new Rng(SEED ^ hash32(op.id));
  const mutators = mutatorsOf(op);
  const planned = systematic(op, rng);
  const cases = [validRequest(op)];
  for (let i = 1; i < count; i++) {
    const req = validRequest(op);
    const first = planned.shift();
    const times = !first && rng.chance(0.2) ? 2 : 1;
    const notes: string[] = [];
    for (let t = 0; t < times; t++) {
      (t === 0 && first ? first : rng.pick(mutators))(req, rng);
      notes.push(req.note);
    }
    req.note = `#${i} ${notes.join(" + ")}`;
    cases.push(req);
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------

describe("fuzz: every operation of the OpenAPI document", () => {
  beforeEach(() => {
    violations.length = 0;
  });

  it("lists every operation with the scope it needs", () => {
    const ops = operationsOf(doc).map((op) => op.id);
    expect(ops.length).toBeGreaterThanOrEqual(30);
    expect(ops.sort()).toEqual(Object.keys(SCOPE_OF).sort());
    for (const op of operationsOf(doc)) {
      const scope = SCOPE_OF[op.id];
      expect(op.auth, op.id).toBe(scope === "admin" ? "admin" : scope === "public" ? "public" : "bearer");
    }
  });

  // First among the cases that send valid requests: the callback's state and the spare endpoint are single use.
  it("answers every operation's valid request with a status and body the document describes", async () => {
    for (const op of operationsOf(doc)) {
      const req = validRequest(op);
      const res = await send(req);
      if (check(req, res).length === 0 && answered(res) && res.status >= 400)
        violations.push(`${describeRequest(req)}: answered ${res.status} ${res.text.slice(0, 160)}`);
    }
    report("valid requests");
  }, 60_000);

  it("refuses every call without a valid key, and every call whose key lacks the scope", async () => {
    const noKey: [string, Record<string, string>][] = [
      ["no authorization", {}],
      ["empty bearer", { authorization: "Bearer" }],
      ["garbage bearer", { authorization: "Bearer not-a-key" }],
      ["basic auth", { authorization: `Basic ${btoa(`${A.ws.key}:`)}` }],
      ["unknown key", { authorization: `Bearer swb_live_${"A".repeat(43)}` }],
      ["revoked key", { authorization: `Bearer ${revokedKey}` }],
      ["expired key", { authorization: `Bearer ${expiredKey}` }],
      ["key with a suffix", { authorization: `Bearer ${A.ws.key}x` }],
      ["two keys", { authorization: `Bearer ${A.ws.key} ${A.ws.key}` }],
    ];
    const noAdmin: [string, Record<string, string>][] = [
      ["no authorization", {}],
      ["an API key", { authorization: `Bearer ${A.ws.key}` }],
      ["a wrong token", { authorization: `Bearer ${env.ADMIN_TOKEN}x` }],
      ["the token in other case", { authorization: `Bearer ${env.ADMIN_TOKEN.toUpperCase()}` }],
      ["the token as basic auth", { authorization: `Basic ${btoa(`admin:${env.ADMIN_TOKEN}`)}` }],
      ["the token without scheme", { authorization: env.ADMIN_TOKEN }],
    ];
    let refused = 0;
    for (const op of operationsOf(doc)) {
      const scope = SCOPE_OF[op.id];
      if (scope === undefined || scope === "public") continue;
      for (const [note, headers] of scope === "admin" ? noAdmin : noKey) {
        const req = { ...validRequest(op), key: undefined, headers, note };
        const res = await send(req);
        if (check(req, res).length === 0 && answered(res)) {
          if (res.status === 401 && res.json.error.code === "UNAUTHORIZED") refused += 1;
          else violations.push(`${describeRequest(req)}: answered ${res.status}, not 401 UNAUTHORIZED`);
        }
      }
      if (scope === "admin") continue;
      const scopes = scope === "any key" ? [...SCOPES] : [scope];
      for (const s of scopes) {
        const lacking = scope === "any key" ? undefined : allBut[s];
        if (lacking) {
          const req = { ...validRequest(op, lacking), note: `key without ${s}` };
          const res = await send(req);
          if (check(req, res).length === 0 && answered(res)) {
            const ok =
              res.status === 403 &&
              res.json.error.code === "INSUFFICIENT_SCOPE" &&
              res.json.error.message.includes(s);
            if (ok) refused += 1;
            else
              violations.push(
                `${describeRequest(req)}: answered ${res.status} ${res.text.slice(0, 120)}, not 403 INSUFFICIENT_SCOPE naming ${s}`,
              );
          }
        }
        const req = { ...validRequest(op, only[s]), note: `key with only ${s}` };
        const res = await send(req);
        if (check(req, res).length === 0 && answered(res) && (res.status === 401 || res.status === 403)) {
          if (res.json?.error?.code !== "PLATFORM_RESTRICTED")
            violations.push(
              `${describeRequest(req)}: the scope it needs was refused: ${res.text.slice(0, 120)}`,
            );
        }
      }
    }
    console.log(`fuzz auth: ${refused} refusals checked (seed ${SEED})`);
    report("auth");
    expect(refused).toBeGreaterThan(250);
  }, 60_000);

  it("answers another workspace's ids exactly like missing ones, and shows nothing of it", async () => {
    const pairs: { req: (value: string) => Request; foreign: string[]; missing: string }[] = [];
    for (const op of operationsOf(doc)) {
      if (op.auth !== "bearer") continue;
      if (op.params.some((p) => p.in === "path" && p.name === "id")) {
        const webhook = kindOf(op) === "webhook";
        pairs.push({
          req: (id) => {
            const req = validRequest(op);
            req.params.id = { value: id };
            return req;
          },
          foreign: webhook ? [B.webhook] : Object.values(B.accounts),
          missing: newId(webhook ? "wh" : "acc"),
        });
      }
      if (op.params.some((p) => p.name === "accountId")) {
        pairs.push({
          req: (id) => ({ ...validRequest(op), query: [["accountId", { value: id }]] }),
          foreign: Object.values(B.accounts),
          missing: newId("acc"),
        });
      }
      if (op.id === "POST /v1/accounts/callback/{platform}") {
        pairs.push({
          req: (state) => ({ ...validRequest(op), body: { json: { code: "fuzz-code", state } } }),
          foreign: [foreignState],
          missing: foreignState.replace(/^.{8}/, "AAAAAAAA"),
        });
      }
    }
    const [, bAccounts] = foreignSnapshot as [unknown, { username: string }[]];
    const list = operationsOf(doc).find((op) => op.id === "GET /v1/accounts") as Operation;
    pairs.push({
      req: (q) => ({ ...validRequest(list), query: [["q", { value: q }]] }),
      foreign: bAccounts.map((a) => a.username).filter(Boolean),
      missing: "nobody_by_this_name",
    });

    let compared = 0;
    const strip = (res: Answer) => {
      const { requestId: _id, ...error } = res.json?.error ?? {};
      return {
        status: res.status,
        body: res.json?.error ? { error } : res.json,
        names: [...res.headers.keys()].filter((n) => n !== "x-d1-bookmark").sort(),
      };
    };
    for (const pair of pairs) {
      const missingReq = pair.req(pair.missing);
      const missing = await send(missingReq);
      if (check(missingReq, missing).length || !answered(missing)) continue;
      for (const foreign of pair.foreign) {
        const req = pair.req(foreign);
        const res = await send(req);
        if (check(req, res).length || !answered(res)) continue;
        compared += 1;
        const a = strip(res);
        const b = strip(missing);
        if (JSON.stringify(a) !== JSON.stringify(b))
          violations.push(
            `${describeRequest(req)}: answered ${JSON.stringify(a)}, a missing id ${JSON.stringify(b)}`,
          );
      }
    }
    console.log(`fuzz cross-tenant: ${compared} foreign ids compared with missing ones (seed ${SEED})`);
    report("cross-tenant");
    expect(compared).toBeGreaterThanOrEqual(60);
    expect(await foreignRows()).toEqual(foreignSnapshot);
  }, 60_000);

  it(`keeps every invariant over ${CASES_PER_OPERATION} malformed and boundary cases per operation`, async () => {
    const started = Date.now();
    statuses.clear();
    const ops = operationsOf(doc);
    // Each hang costs HANG_MS: after a few, the rest of the run would only repeat the news.
    let hangs = 0;
    run: for (const op of ops) {
      for (const req of casesOf(op, CASES_PER_OPERATION)) {
        const res = await send(req);
        check(req, res);
        if (!answered(res) && ++hangs >= MAX_HANGS) {
          violations.push(`stopped after ${MAX_HANGS} requests without an answer`);
          break run;
        }
      }
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const summary = [...statuses].map(
      ([op, counts]) => `${op} ${[...counts].map(([s, n]) => `${s}x${n}`).join(" ")}`,
    );
    console.log(
      `fuzz: ${ops.length * CASES_PER_OPERATION} cases over ${ops.length} operations in ${seconds} s, ${sent} requests in this file (seed ${SEED})`,
    );
    report("fuzz", `\nstatuses per operation:\n${summary.join("\n")}`);
    expect(await foreignRows()).toEqual(foreignSnapshot);
    // Deliberate bounds, far above the ~3 s this takes: a loaded machine must not fail it, and a
    // hang is caught per request (HANG_MS) long before.
  }, 120_000);
});
