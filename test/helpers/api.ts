import { createExecutionContext } from "cloudflare:test";
import { env, exports } from "cloudflare:workers";
import { createApp } from "../../src/app";
import type { Scope } from "../../src/lib/domain";
import { SCOPES } from "../../src/lib/domain";

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

/** A fresh workspace with one key holding `scopes` (all of them by default). */
export async function createWorkspace(
  options: { scopes?: Scope[]; plan?: string; sandbox?: boolean } = {},
): Promise<TestWorkspace> {
  const ws = await admin("/workspaces", {
    method: "POST",
    body: {
      name: "Test workspace",
      plan: options.plan ?? "enterprise",
      sandbox: options.sandbox ?? false,
      allowedCallbackDomains: ["app.example.com", "localhost"],
    },
  });
  if (ws.status !== 201) throw new Error(`workspace: ${ws.status} ${ws.text}`);
  const key = await issueKey(ws.json.id, options.scopes ?? [...SCOPES]);
  return { id: ws.json.id, key: key.key, keyId: key.id };
}

export async function issueKey(workspaceId: string, scopes: Scope[]) {
  const res = await admin(`/workspaces/${workspaceId}/keys`, {
    method: "POST",
    body: { name: "test", scopes },
  });
  if (res.status !== 201) throw new Error(`key: ${res.status} ${res.text}`);
  return { key: res.json.key as string, id: res.json.apiKey.id as string };
}

let counter = 0;

/** Inserts an account with tokens through the admin API; fields override the defaults. */
export async function insertAccount(workspaceId: string, fields: Record<string, unknown> = {}) {
  counter += 1;
  const res = await admin(`/workspaces/${workspaceId}/accounts`, {
    method: "POST",
    body: {
      platform: "twitter",
      platformUserId: `user-${counter}-${crypto.randomUUID()}`,
      username: `@user${counter}`,
      displayName: `User ${counter}`,
      credentials: {
        accessToken: `at-secret-${crypto.randomUUID()}`,
        refreshToken: `rt-secret-${crypto.randomUUID()}`,
      },
      ...fields,
    },
  });
  if (res.status !== 201) throw new Error(`account: ${res.status} ${res.text}`);
  return res.json.account as { id: string; status: string; platform: string; username: string };
}
