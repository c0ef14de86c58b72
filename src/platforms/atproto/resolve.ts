import { ApiError } from "../../lib/errors";
import { ProviderError } from "../http";
import type { PlatformContext } from "../types";

/**
 * AT Protocol identity and server discovery (atproto.com/specs/handle, /specs/did, /specs/oauth;
 * checked 2026-12-06): handle → DID (DNS TXT `_atproto.<handle>` over DNS-over-HTTPS, else
 * https://<handle>/.well-known/atproto-did) → DID document (plc.directory, or did:web's
 * /.well-known/did.json) → PDS → its protected-resource metadata → the authorization server's
 * metadata. Every step is checked; a failure the user can fix is INVALID_PARAM naming `field`.
 */

export const DOH_URL = "https://cloudflare-dns.com/dns-query";
export const PLC_URL = "https://plc.directory";
/** Identity answers are small; anything bigger is refused unread. */
const MAX_BODY = 64 * 1024;

const HANDLE = /^(?=.{3,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const DID = /^did:(?:plc|web):[A-Za-z0-9._:%-]{1,2000}$/;

export type Identifier = { kind: "handle"; handle: string } | { kind: "did"; did: string };

/** A handle (with or without @, any case) or a did:plc/did:web; undefined for anything else. */
export function parseIdentifier(input: string): Identifier | undefined {
  const value = input.trim().replace(/^@/, "");
  if (DID.test(value)) return { kind: "did", did: value };
  const handle = value.toLowerCase();
  return HANDLE.test(handle) ? { kind: "handle", handle } : undefined;
}

export interface ResolvedIdentity {
  did: string;
  /** The handle the DID document claims, when it confirms the one asked for (or names one). */
  handle: string | null;
  pds: string;
}

/** The metadata of an authorization server, as checked here. */
export interface AuthServerMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  pushed_authorization_request_endpoint: string;
  revocation_endpoint?: string;
  [key: string]: unknown;
}

const invalid = (field: string, message: string) =>
  new ApiError("INVALID_PARAM", message, [{ field, message: "Not resolvable" }]);

/** http:// only for local servers outside production, as elsewhere. */
export function allowedUrl(ctx: Pick<PlatformContext, "allowHttp">, value: unknown): URL | undefined {
  if (typeof value !== "string") return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return undefined;
  }
  if (url.username || url.password || url.search || url.hash) return undefined;
  if (url.protocol === "https:") return url;
  const local = ["localhost", "127.0.0.1", "[::1]"].includes(url.hostname);
  return ctx.allowHttp && url.protocol === "http:" && local ? url : undefined;
}

/** A base URL without its trailing slash, so paths append. */
const base = (url: URL) => url.toString().replace(/\/+$/, "");

/** GET a small JSON (or text) document; undefined on 404/410, transient on 5xx and network failures. */
async function fetchSmall(
  ctx: PlatformContext,
  url: string,
  accept: string,
): Promise<{ status: number; text: string } | undefined> {
  const res = await ctx.fetch(url, { headers: { accept } });
  if (res.status === 404 || res.status === 410) return undefined;
  if (res.status >= 500 || res.status === 429)
    throw new ProviderError("transient", `${new URL(url).host} answered HTTP ${res.status}`, {
      status: res.status,
    });
  const length = Number(res.headers.get("content-length") ?? 0);
  if (length > MAX_BODY) {
    await res.body?.cancel();
    return { status: 413, text: "" };
  }
  const text = await res.text();
  return { status: res.status, text: text.length > MAX_BODY ? "" : text };
}

function jsonOf(answer: { status: number; text: string } | undefined): Record<string, unknown> | undefined {
  if (answer?.status !== 200) return undefined;
  try {
    const value = JSON.parse(answer.text) as unknown;
    return value && typeof value === "object" && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** A transient failure of one resolution path counts as that path not answering. */
async function quietly<T>(step: () => Promise<T | undefined>): Promise<T | undefined> {
  try {
    return await step();
  } catch (err) {
    if (err instanceof ProviderError && err.kind === "transient") return undefined;
    throw err;
  }
}

async function handleByDns(ctx: PlatformContext, handle: string): Promise<string[]> {
  const url = new URL(DOH_URL);
  url.searchParams.set("name", `_atproto.${handle}`);
  url.searchParams.set("type", "TXT");
  const body = jsonOf(await fetchSmall(ctx, url.toString(), "application/dns-json"));
  const answers = Array.isArray(body?.Answer) ? (body.Answer as { type?: unknown; data?: unknown }[]) : [];
  return answers
    .filter((a) => a?.type === 16 && typeof a.data === "string")
    .map((a) => (a.data as string).replace(/^"|"$/g, "").replace(/"\s*"/g, ""))
    .filter((txt) => txt.startsWith("did="))
    .map((txt) => txt.slice(4));
}

async function handleByHttps(ctx: PlatformContext, handle: string): Promise<string | undefined> {
  const answer = await fetchSmall(ctx, `https://${handle}/.well-known/atproto-did`, "text/plain");
  const did = answer?.status === 200 ? answer.text.trim() : "";
  return did || undefined;
}

/** handle → DID: through the resolver when one is configured, else DNS first, then HTTPS. */
export async function resolveHandle(ctx: PlatformContext, handle: string, field: string): Promise<string> {
  let did: string | undefined;
  if (ctx.endpoints.resolverUrl) {
    const url = new URL(
      `${ctx.endpoints.resolverUrl.replace(/\/+$/, "")}/xrpc/com.atproto.identity.resolveHandle`,
    );
    url.searchParams.set("handle", handle);
    const body = jsonOf(await fetchSmall(ctx, url.toString(), "application/json"));
    did = typeof body?.did === "string" ? body.did : undefined;
  } else {
    const txt = await quietly(() => handleByDns(ctx, handle));
    // More than one did= record is a misconfigured domain: the spec says not to pick one.
    if (txt && txt.length > 1)
      throw invalid(field, `The handle ${handle} has more than one _atproto DID record`);
    did = txt?.[0] ?? (await quietly(() => handleByHttps(ctx, handle)));
  }
  if (!did) throw invalid(field, `The handle ${handle} does not resolve to an AT Protocol account`);
  if (!DID.test(did)) throw invalid(field, `The handle ${handle} resolves to something that is not a DID`);
  return did;
}

async function didDocument(
  ctx: PlatformContext,
  did: string,
  field: string,
): Promise<Record<string, unknown>> {
  let url: string;
  if (ctx.endpoints.resolverUrl) {
    const u = new URL(
      `${ctx.endpoints.resolverUrl.replace(/\/+$/, "")}/xrpc/com.atproto.identity.resolveDid`,
    );
    u.searchParams.set("did", did);
    const body = jsonOf(await fetchSmall(ctx, u.toString(), "application/json"));
    const doc = body?.didDoc;
    if (!doc || typeof doc !== "object") throw invalid(field, `No DID document was found for ${did}`);
    return doc as Record<string, unknown>;
  }
  if (did.startsWith("did:plc:")) url = `${PLC_URL}/${did}`;
  else {
    // did:web names a host (a percent-encoded port allowed) and, in atproto, no path.
    const host = decodeURIComponent(did.slice("did:web:".length));
    if (!/^[a-z0-9.-]+(?::\d{1,5})?$/i.test(host)) throw invalid(field, `Unsupported DID ${did}`);
    url = `https://${host}/.well-known/did.json`;
  }
  const doc = jsonOf(await fetchSmall(ctx, url, "application/did+ld+json, application/json"));
  if (!doc) throw invalid(field, `No DID document was found for ${did}`);
  return doc;
}

/** The PDS a DID document names (service #atproto_pds), as a base URL. */
export function pdsOf(ctx: Pick<PlatformContext, "allowHttp">, doc: unknown): string | undefined {
  const services = (doc as { service?: unknown } | null)?.service;
  if (!Array.isArray(services)) return undefined;
  const id = (doc as { id?: unknown }).id;
  for (const s of services as { id?: unknown; type?: unknown; serviceEndpoint?: unknown }[]) {
    const named = s?.id === "#atproto_pds" || (typeof id === "string" && s?.id === `${id}#atproto_pds`);
    if (!named || s.type !== "AtprotoPersonalDataServer") continue;
    const url = allowedUrl(ctx, s.serviceEndpoint);
    return url ? base(url) : undefined;
  }
  return undefined;
}

/** The handle a DID document claims (its first at:// alias). */
function claimedHandle(doc: Record<string, unknown>): string | null {
  const aliases = Array.isArray(doc.alsoKnownAs) ? doc.alsoKnownAs : [];
  const first = aliases.find((a): a is string => typeof a === "string" && a.startsWith("at://"));
  return first ? first.slice(5).toLowerCase() : null;
}

/** DID → its document → its PDS; a handle asked for must be one the document claims back. */
export async function resolveDid(
  ctx: PlatformContext,
  did: string,
  field: string,
  expectedHandle?: string,
): Promise<ResolvedIdentity> {
  const doc = await didDocument(ctx, did, field);
  if (doc.id !== did) throw invalid(field, `The DID document of ${did} names another DID`);
  const handle = claimedHandle(doc);
  if (expectedHandle && handle !== expectedHandle)
    throw invalid(field, `The account ${did} does not confirm the handle ${expectedHandle}`);
  const pds = pdsOf(ctx, doc);
  if (!pds) throw invalid(field, `The DID document of ${did} names no usable PDS`);
  return { did, handle: handle && HANDLE.test(handle) ? handle : null, pds };
}

/** Handle or DID → the account's DID, handle and PDS. */
export async function resolveIdentity(
  ctx: PlatformContext,
  identifier: Identifier,
  field: string,
): Promise<ResolvedIdentity> {
  if (identifier.kind === "did") return resolveDid(ctx, identifier.did, field);
  const did = await resolveHandle(ctx, identifier.handle, field);
  return resolveDid(ctx, did, field, identifier.handle);
}

/** The authorization server a PDS (resource server) names in its protected-resource metadata (RFC 9728). */
async function authServerOfResource(ctx: PlatformContext, resource: string, field: string) {
  const body = jsonOf(
    await fetchSmall(ctx, `${resource}/.well-known/oauth-protected-resource`, "application/json"),
  );
  if (!body) return undefined;
  const named = allowedUrl(ctx, body.resource);
  if (!named || base(named) !== resource)
    throw invalid(field, `The server ${resource} describes another resource in its metadata`);
  const servers = Array.isArray(body.authorization_servers) ? body.authorization_servers : [];
  const issuer = allowedUrl(ctx, servers[0]);
  if (!issuer) throw invalid(field, `The server ${resource} names no authorization server`);
  return base(issuer);
}

const includes = (list: unknown, value: string) => Array.isArray(list) && list.includes(value);

/** The authorization server's metadata (RFC 8414), checked against what AT Protocol OAuth requires. */
export async function authServerMetadata(
  ctx: PlatformContext,
  issuer: string,
  field: string,
): Promise<AuthServerMetadata> {
  const body = jsonOf(
    await fetchSmall(ctx, `${issuer}/.well-known/oauth-authorization-server`, "application/json"),
  );
  if (!body) throw invalid(field, `The authorization server ${issuer} publishes no metadata`);
  if (body.issuer !== issuer) throw invalid(field, `The authorization server ${issuer} names another issuer`);
  const endpoints = ["authorization_endpoint", "token_endpoint", "pushed_authorization_request_endpoint"];
  for (const name of endpoints)
    if (!allowedUrl(ctx, body[name]))
      throw invalid(field, `The authorization server ${issuer} has no ${name}`);
  if (body.revocation_endpoint !== undefined && !allowedUrl(ctx, body.revocation_endpoint))
    throw invalid(field, `The authorization server ${issuer} has an unusable revocation_endpoint`);
  const missing = [
    includes(body.dpop_signing_alg_values_supported, "ES256") ? null : "DPoP with ES256",
    includes(body.token_endpoint_auth_methods_supported, "private_key_jwt") ? null : "private_key_jwt",
    includes(body.code_challenge_methods_supported, "S256") ? null : "PKCE S256",
    includes(body.scopes_supported, "atproto") ? null : "the atproto scope",
    body.authorization_response_iss_parameter_supported === true ? null : "the iss parameter",
    body.client_id_metadata_document_supported === true ? null : "client metadata documents",
  ].filter(Boolean);
  if (missing.length)
    throw invalid(field, `The authorization server ${issuer} does not support ${missing.join(", ")}`);
  return body as AuthServerMetadata;
}

/** The authorization server for a PDS, or for an entryway that is its own authorization server. */
export async function authServerFor(
  ctx: PlatformContext,
  server: string,
  field: string,
  { entryway = false } = {},
): Promise<AuthServerMetadata> {
  const issuer = await authServerOfResource(ctx, server, field);
  if (!issuer && !entryway) throw invalid(field, `The server ${server} publishes no OAuth resource metadata`);
  return authServerMetadata(ctx, issuer ?? server, field);
}
