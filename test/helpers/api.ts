import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import createClient, { type Middleware } from "openapi-fetch";
import type { paths } from "../../client/src/openapi";
import { createApp } from "../../src/app";
import type { Plan, Scope } from "../../src/lib/domain";
import { SCOPES } from "../../src/lib/domain";
import { responseChecker } from "./openapi";

export const BASE = "http://switchboard.test";

export interface CallOptions {
  method?: string;
  key?: string;
  body?: unknown;
  rawBody?: string;
  headers?: Record<string, string>;
}

function requestInit(options: CallOptions): RequestInit {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key) headers.authorization = `Bearer ${options.key}`;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    headers["content-type"] ??= "application/json";
  }
  return { method: options.method ?? "GET", headers, body, redirect: "manual" };
}

async function answer(res: Response) {
  const text = await res.text();
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary JSON answers
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

/** Calls the Worker's own fetch handler, as a client would over HTTP. */
export async function call(path: string, options: CallOptions = {}) {
  return answer(await exports.default.fetch(`${BASE}${path}`, requestInit(options)));
}

let checker: Promise<ReturnType<typeof responseChecker>> | undefined;

/** Fails the call whose answer the served document does not describe (status, content type, body). */
const asDocumented: Middleware = {
  async onResponse({ request, response, schemaPath }) {
    checker ??= call("/v1/openapi.json").then((res) => responseChecker(res.json));
    const text = await response.clone().text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    const problem = (await checker)(request.method, schemaPath, {
      status: response.status,
      headers: response.headers,
      json,
      text,
    });
    if (problem) throw new Error(`${request.method} ${schemaPath} answered ${response.status}: ${problem}`);
  },
};

/**
 * A client typed by the committed document (client/src/openapi.ts), calling the Worker's fetch
 * handler as call() does; each answer must match the served document. With `key`, an API key's
 * bearer header (or the admin token's, for /v1/admin).
 */
export function api(key?: string) {
  const client = createClient<paths>({
    baseUrl: BASE,
    fetch: (request) => exports.default.fetch(request),
    headers: key ? { authorization: `Bearer ${key}` } : {},
  });
  client.use(asDocumented);
  return client;
}

/** The typed client with the deployment's admin token. */
export const adminApi = () => api(env.ADMIN_TOKEN);

/**
 * The body of a call that answered `status` (200 unless given), typed as the document says; fails
 * with what it answered otherwise.
 */
export async function ok<T>(
  pending: Promise<{ data?: T; error?: unknown; response: Response }>,
  status = 200,
): Promise<T> {
  const { data, error, response } = await pending;
  if (response.status !== status || data === undefined) {
    throw new Error(`expected ${status}, answered ${response.status}: ${JSON.stringify(error ?? data)}`);
  }
  return data;
}

const app = createApp();

/** Like call(), with other bindings than the test's own (a feature flag turned on, say). */
export async function callWith(bindings: Env, path: string, options: CallOptions = {}) {
  return callApp(app, bindings, path, options);
}

/** Like callWith(), through an app built with other options (createApp's timeouts, say). */
export async function callApp(
  built: ReturnType<typeof createApp>,
  bindings: Env,
  path: string,
  options: CallOptions = {},
) {
  return answer(
    await built.request(`${BASE}${path}`, requestInit(options), bindings, createExecutionContext()),
  );
}

export const admin = (path: string, options: CallOptions = {}) =>
  call(`/v1/admin${path}`, { ...options, key: env.ADMIN_TOKEN });

export interface TestWorkspace {
  id: string;
  key: string;
  keyId: string;
}

type AdminAccountBody =
  paths["/v1/admin/workspaces/{id}/accounts"]["post"]["requestBody"]["content"]["application/json"];

/** A fresh workspace with one key holding `scopes` (all of them by default). */
export async function createWorkspace(
  options: { scopes?: Scope[]; plan?: Plan; sandbox?: boolean } = {},
): Promise<TestWorkspace> {
  const ws = await ok(
    adminApi().POST("/v1/admin/workspaces", {
      body: {
        name: "Test workspace",
        plan: options.plan ?? "enterprise",
        sandbox: options.sandbox ?? false,
        allowedCallbackDomains: ["app.example.com", "localhost"],
      },
    }),
    201,
  );
  const key = await issueKey(ws.id, options.scopes ?? [...SCOPES]);
  return { id: ws.id, key: key.key, keyId: key.id };
}

export async function issueKey(workspaceId: string, scopes: Scope[]) {
  const issued = await ok(
    adminApi().POST("/v1/admin/workspaces/{id}/keys", {
      params: { path: { id: workspaceId } },
      body: { name: "test", scopes },
    }),
    201,
  );
  return { key: issued.key, id: issued.apiKey.id };
}

let counter = 0;

/**
 * Inserts an account with tokens through the admin API; fields override the defaults (any field,
 * for tests that send what the schema refuses on purpose).
 */
export async function insertAccount(workspaceId: string, fields: Record<string, unknown> = {}) {
  counter += 1;
  const body = {
    platform: "twitter",
    platformUserId: `user-${counter}-${crypto.randomUUID()}`,
    username: `@user${counter}`,
    displayName: `User ${counter}`,
    credentials: {
      accessToken: `at-secret-${crypto.randomUUID()}`,
      refreshToken: `rt-secret-${crypto.randomUUID()}`,
    },
    ...fields,
  } as AdminAccountBody;
  const { account } = await ok(
    adminApi().POST("/v1/admin/workspaces/{id}/accounts", { params: { path: { id: workspaceId } }, body }),
    201,
  );
  return account;
}
