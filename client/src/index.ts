import createFetchClient from "openapi-fetch";
import type { components, operations, paths } from "./openapi";

export type { components, operations, paths } from "./openapi";
export type Schemas = components["schemas"];
export type Account = Schemas["Account"];
export type Platform = Schemas["Platform"];
export type Webhook = Schemas["Webhook"];
export type Delivery = Schemas["Delivery"];
export type ErrorCode = Schemas["Error"]["error"]["code"];

type JsonOf<T> = T extends { content: { "application/json": infer B } } ? B : never;
/** The JSON body an operation takes. */
export type BodyOf<Op extends keyof operations> = operations[Op] extends { requestBody?: infer R }
  ? JsonOf<NonNullable<R>>
  : never;
/** The query an operation takes. */
export type QueryOf<Op extends keyof operations> = operations[Op] extends { parameters: { query?: infer Q } }
  ? NonNullable<Q>
  : never;

/**
 * Every failure the API answers, as one error: the envelope's code, message, field details and
 * request id (quote it when reporting a problem), with the HTTP status and, on 429 and 503, how
 * long the API asked to wait.
 */
export class SwitchboardError extends Error {
  override readonly name = "SwitchboardError";
  constructor(
    readonly status: number,
    readonly code: ErrorCode | "UNEXPECTED_RESPONSE",
    message: string,
    readonly details: { field: string; message: string }[] = [],
    readonly requestId: string | null = null,
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
  }
}

export interface ClientOptions {
  /** The deployment's origin, e.g. https://switchboard.example.com. */
  baseUrl: string;
  /** A workspace API key (swb_live_… or swb_test_…). */
  apiKey: string;
  /** Another fetch (a test's, a Worker service binding's); the global one by default. */
  fetch?: (request: Request) => Promise<Response>;
  /** How many times a 429 is retried after its Retry-After (0 turns retries off). */
  maxRetries?: number;
  /** The longest Retry-After honoured, in seconds; a longer one is answered as the error. */
  maxRetryAfterSeconds?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function retryAfterSeconds(response: Response): number | null {
  const header = response.headers.get("retry-after");
  if (header === null) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

async function toError(response: Response, error: unknown): Promise<SwitchboardError> {
  const envelope = (error as { error?: Partial<Schemas["Error"]["error"]> } | undefined)?.error;
  if (envelope?.code && envelope.message) {
    return new SwitchboardError(
      response.status,
      envelope.code,
      envelope.message,
      envelope.details ?? [],
      envelope.requestId ?? null,
      retryAfterSeconds(response),
    );
  }
  return new SwitchboardError(
    response.status,
    "UNEXPECTED_RESPONSE",
    `Unexpected answer ${response.status} ${response.statusText}`.trim(),
  );
}

/** What openapi-fetch answers: the typed body, or the error body, with the response. */
type Answer<T> = { data?: T; error?: unknown; response: Response };

async function unwrap<T>(pending: Promise<Answer<T>>): Promise<T> {
  const { data, error, response } = await pending;
  if (!response.ok || data === undefined) throw await toError(response, error);
  return data;
}

interface Page<T> {
  data: T[];
  pagination: { has_more: boolean; next_cursor: string | null };
}

/** Every item of a cursor-paged list, page after page, fetched as the iteration reaches it. */
async function* everyItem<T>(page: (cursor: string | undefined) => Promise<Page<T>>): AsyncGenerator<T> {
  let cursor: string | undefined;
  do {
    const answer = await page(cursor);
    yield* answer.data;
    cursor = answer.pagination.has_more ? (answer.pagination.next_cursor ?? undefined) : undefined;
  } while (cursor);
}

/**
 * A client for every public route, typed by the API's OpenAPI document. Methods answer the
 * documented body or throw a SwitchboardError; lists iterate every page:
 * `for await (const account of client.accounts.list({ status: "ACTIVE" }))`.
 */
export function createSwitchboard(options: ClientOptions) {
  const maxRetries = options.maxRetries ?? 2;
  const maxWait = options.maxRetryAfterSeconds ?? 60;
  const send = options.fetch ?? ((request: Request) => globalThis.fetch(request));
  // A 429 is sent again after the Retry-After it carries, a bounded number of times.
  const fetchWithRetries = async (request: Request): Promise<Response> => {
    for (let attempt = 0; ; attempt++) {
      const response = await send(attempt < maxRetries ? request.clone() : request);
      const wait = retryAfterSeconds(response);
      if (response.status !== 429 || attempt >= maxRetries || wait === null || wait > maxWait)
        return response;
      await response.body?.cancel();
      await sleep(wait * 1000);
    }
  };
  const raw = createFetchClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    fetch: fetchWithRetries,
    headers: { authorization: `Bearer ${options.apiKey}` },
  });
  const id = (value: string) => ({ params: { path: { id: value } } });

  const accounts = {
    /** Every account the filter matches, newest first, across all pages. */
    list: (query: Omit<QueryOf<"listAccounts">, "cursor"> = {}) =>
      everyItem((cursor) => accounts.page({ ...query, cursor })),
    /** One page of accounts, with its pagination. */
    page: (query: QueryOf<"listAccounts"> = {}) => unwrap(raw.GET("/v1/accounts", { params: { query } })),
    get: (accountId: string) => unwrap(raw.GET("/v1/accounts/{id}", id(accountId))),
    getByPlatform: (platform: Platform, platformAccountId: string) =>
      unwrap(
        raw.GET("/v1/accounts/by-platform/{platform}/{platformAccountId}", {
          params: { path: { platform, platformAccountId } },
        }),
      ),
    /** Connects with credentials or a token of your own (no OAuth). */
    create: (body: BodyOf<"createAccount">) => unwrap(raw.POST("/v1/accounts", { body })),
    update: (accountId: string, body: BodyOf<"updateAccount">) =>
      unwrap(raw.PATCH("/v1/accounts/{id}", { ...id(accountId), body })),
    /** Disconnects (archives) the account; `erase: true` removes it and its data for good. */
    delete: (accountId: string, query: QueryOf<"deleteAccount"> = {}) =>
      unwrap(raw.DELETE("/v1/accounts/{id}", { params: { path: { id: accountId }, query } })),
    deleteByPlatform: (platform: Platform, platformAccountId: string) =>
      unwrap(
        raw.DELETE("/v1/accounts/by-platform/{platform}/{platformAccountId}", {
          params: { path: { platform, platformAccountId } },
        }),
      ),
    /** Replaces the credentials of an account connected without OAuth, verified at the platform first. */
    updateCredentials: (accountId: string, body: BodyOf<"updateAccountCredentials">) =>
      unwrap(raw.POST("/v1/accounts/{id}/credentials", { ...id(accountId), body })),
    health: (query: QueryOf<"getAccountHealth"> = {}) =>
      unwrap(raw.GET("/v1/accounts/health", { params: { query } })),
    test: (accountId: string) => unwrap(raw.POST("/v1/accounts/{id}/test", id(accountId))),
    refresh: (accountId: string) => unwrap(raw.POST("/v1/accounts/{id}/refresh", id(accountId))),
    /** Starts OAuth: an authorization URL to send the user to. */
    connect: (platform: Platform, body: BodyOf<"connectAccount">) =>
      unwrap(raw.POST("/v1/accounts/connect/{platform}", { params: { path: { platform } }, body })),
    /** Finishes OAuth with the code and state your callback received. */
    completeCallback: (platform: Platform, body: BodyOf<"completeOAuthCallback">) =>
      unwrap(raw.POST("/v1/accounts/callback/{platform}", { params: { path: { platform } }, body })),
    /** Connects WhatsApp from Embedded Signup run with Meta's JavaScript SDK on your page (its code and message ids). */
    completeWhatsAppEmbeddedSignup: (body: BodyOf<"completeWhatsAppEmbeddedSignup">) =>
      unwrap(raw.POST("/v1/accounts/connect/whatsapp/embedded-signup", { body })),
    reconnect: (accountId: string, body: BodyOf<"reconnectAccount">) =>
      unwrap(raw.POST("/v1/accounts/{id}/reconnect", { ...id(accountId), body })),
    pages: (accountId: string) => unwrap(raw.GET("/v1/accounts/{id}/pages", id(accountId))),
    selectPage: (accountId: string, body: BodyOf<"selectAccountPage">) =>
      unwrap(raw.POST("/v1/accounts/{id}/select-page", { ...id(accountId), body })),
    youtubePlaylists: (accountId: string) =>
      unwrap(raw.GET("/v1/accounts/{id}/youtube/playlists", id(accountId))),
    startBackfill: (accountId: string) => unwrap(raw.POST("/v1/accounts/{id}/backfill", id(accountId))),
    backfill: (accountId: string) => unwrap(raw.GET("/v1/accounts/{id}/backfill", id(accountId))),
    optimalTimes: (accountId: string, query: QueryOf<"getOptimalTimes"> = {}) =>
      unwrap(raw.GET("/v1/accounts/{id}/optimal-times", { params: { path: { id: accountId }, query } })),
  };

  const webhooks = {
    list: async () => (await unwrap(raw.GET("/v1/webhooks"))).data,
    create: (body: BodyOf<"createWebhook">) => unwrap(raw.POST("/v1/webhooks", { body })),
    get: (webhookId: string) => unwrap(raw.GET("/v1/webhooks/{id}", id(webhookId))),
    update: (webhookId: string, body: BodyOf<"updateWebhook">) =>
      unwrap(raw.PATCH("/v1/webhooks/{id}", { ...id(webhookId), body })),
    delete: (webhookId: string) => unwrap(raw.DELETE("/v1/webhooks/{id}", id(webhookId))),
    rotateSecret: (webhookId: string) => unwrap(raw.POST("/v1/webhooks/{id}/rotate-secret", id(webhookId))),
    test: (webhookId: string) => unwrap(raw.POST("/v1/webhooks/{id}/test", id(webhookId))),
    /** Every delivery of the endpoint the filter matches, newest first, across all pages. */
    deliveries: (webhookId: string, query: Omit<QueryOf<"listWebhookDeliveries">, "cursor"> = {}) =>
      everyItem((cursor) =>
        unwrap(
          raw.GET("/v1/webhooks/{id}/deliveries", {
            params: { path: { id: webhookId }, query: { ...query, cursor } },
          }),
        ),
      ),
    recover: (webhookId: string, body: BodyOf<"recoverWebhook">) =>
      unwrap(raw.POST("/v1/webhooks/{id}/recover", { ...id(webhookId), body })),
  };

  const connectSessions = {
    /** A hosted connect page for one end user: hand them `url`. */
    create: (body: BodyOf<"createConnectSession">) => unwrap(raw.POST("/v1/connect/sessions", { body })),
    get: (sessionId: string) => unwrap(raw.GET("/v1/connect/sessions/{id}", id(sessionId))),
  };

  const instagram = {
    searchAudio: (query: QueryOf<"searchAudioTracks">) =>
      unwrap(raw.GET("/v1/instagram/audio/search", { params: { query } })),
  };

  const users = {
    storeGa4ClientId: (body: BodyOf<"storeGa4ClientId">) =>
      unwrap(raw.POST("/v1/users/me/ga4-client-id", { body })),
  };

  return { accounts, webhooks, connectSessions, instagram, users, raw };
}

export type Switchboard = ReturnType<typeof createSwitchboard>;
