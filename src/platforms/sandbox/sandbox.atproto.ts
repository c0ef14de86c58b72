import { currentKeyEntry, getConfig } from "../../lib/config";
import { toBase64Url, utf8 } from "../../lib/encoding";
import { DAY, MINUTE } from "../../lib/time";
import { atprotoClient } from "../atproto/client";
import { clientKeys } from "../atproto/keys";
import { verifyClientAssertion, verifyDpopProof } from "../atproto/verify";
import {
  atprotoTokens,
  authorizationServerMetadata,
  blueskyDidDocument,
  protectedResourceMetadata,
  xrpcError,
} from "../wire/bluesky";
import { consentPage, errorPage, PAGE_HEADERS } from "./sandbox.page";
import { SANDBOX_SPECS, sandboxUser } from "./sandbox.profiles";
import {
  CODE_TTL_MS,
  grantBase,
  issueTokens,
  json,
  REQUEST_TTL_MS,
  useRefreshToken,
} from "./sandbox.service";
import {
  type GrantClaims,
  liveToken,
  newTokenId,
  revokeGrant,
  seconds,
  signToken,
  spend,
  verifyToken,
} from "./sandbox.tokens";

/**
 * The sandbox's AT Protocol network for Bluesky, under /sandbox/bluesky/api: identity resolution
 * (com.atproto.identity.resolveHandle and resolveDid, standing in for DNS and the PLC directory),
 * the PDS's protected-resource metadata, and an authorization server at …/api/oauth with PAR,
 * a consent page, DPoP proofs checked against server nonces, private_key_jwt client assertions
 * checked against the Worker's own JWKS, and rotating DPoP-bound refresh tokens.
 */

const NONCE_WINDOW_MS = 3 * MINUTE;
const REQUEST_URI_PREFIX = "urn:ietf:params:oauth:request_uri:";
const ALLOWED_SCOPES = new Set(["atproto", "transition:generic", "transition:chat.bsky"]);
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/;
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

const urls = (env: Env) => {
  const pds = `${getConfig(env).publicUrl}/sandbox/bluesky/api`;
  return { pds, issuer: `${pds}/oauth` };
};

/** KV: the handle a sandbox DID was last resolved from, so its DID document can claim it back. TTL 1 day. */
export const sandboxHandleKey = (did: string) => `sandbox:handle:${did}`;

/** The nonce of a time window, derived from the deployment's key: nothing stored, every isolate agrees. */
async function nonceAt(env: Env, window: number): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", utf8(`${currentKeyEntry(env)}:dpop-nonce:${window}`));
  return toBase64Url(new Uint8Array(digest)).slice(0, 22);
}

async function nonces(env: Env, now: number) {
  const window = Math.floor(now / NONCE_WINDOW_MS);
  return { current: await nonceAt(env, window), previous: await nonceAt(env, window - 1) };
}

async function nonceCheck(env: Env, now: number) {
  const n = await nonces(env, now);
  return {
    current: n.current,
    valid: (nonce: string | undefined) => nonce === n.current || nonce === n.previous,
  };
}

const withNonce = (response: Response, nonce: string) => {
  response.headers.set("dpop-nonce", nonce);
  response.headers.set("access-control-expose-headers", "DPoP-Nonce");
  return response;
};

const oauthError = (status: number, error: string, description: string, nonce: string) =>
  withNonce(json({ error, error_description: description }, status), nonce);

async function form(request: Request): Promise<URLSearchParams | undefined> {
  if (!request.headers.get("content-type")?.includes("application/x-www-form-urlencoded")) return undefined;
  return new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer()));
}

/** The client assertion, checked against the JWKS the Worker publishes (read in-process, as an AS would fetch it). */
async function clientCheck(env: Env, body: URLSearchParams, issuer: string, now: number) {
  const client = atprotoClient(env);
  if (!client.keys)
    return { ok: false as const, error: "invalid_client", description: "The client has no keys" };
  const keys = await clientKeys(client.keys);
  return verifyClientAssertion(body, {
    clientId: client.clientId,
    issuer,
    keys: keys.map((k) => k.publicJwk),
    now,
  });
}

async function page(view: ReturnType<typeof consentPage>, status: number): Promise<Response> {
  return new Response(await view, {
    status,
    headers: { "content-type": "text/html; charset=UTF-8", ...PAGE_HEADERS },
  });
}

function redirect(target: string, params: Record<string, string | undefined>): Response {
  const url = new URL(target);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return new Response(null, {
    status: 302,
    headers: { location: url.toString(), "cache-control": "no-store" },
  });
}

async function s256(verifier: string): Promise<string> {
  return toBase64Url(new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(verifier))));
}

/** The pushed request a request_uri stands for (a signed token, so nothing is stored). */
function pushedRequest(env: Env, requestUri: string | null, now: number) {
  if (!requestUri?.startsWith(REQUEST_URI_PREFIX)) return Promise.resolve(undefined);
  return verifyToken(env, requestUri.slice(REQUEST_URI_PREFIX.length), "req", "bluesky", now);
}

type Proof = Extract<Awaited<ReturnType<typeof verifyDpopProof>>, { ok: true }>;
type ClientCall = {
  nonce: Awaited<ReturnType<typeof nonceCheck>>;
  body: URLSearchParams;
  proof: Proof;
};

/** What PAR and the token endpoint both check first: a form body, the client's assertion, a DPoP proof under a live nonce. */
async function clientCall(env: Env, request: Request, now: number): Promise<ClientCall | Response> {
  const { issuer } = urls(env);
  const nonce = await nonceCheck(env, now);
  const body = await form(request);
  if (!body) return oauthError(400, "invalid_request", "The body must be form-encoded", nonce.current);
  const client = await clientCheck(env, body, issuer, now);
  if (!client.ok) return oauthError(401, client.error, client.description, nonce.current);
  const proof = await verifyDpopProof(request.headers.get("dpop"), {
    method: "POST",
    url: request.url,
    now,
    nonceValid: nonce.valid,
  });
  if (!proof.ok) return oauthError(400, proof.error, proof.description, nonce.current);
  return { nonce, body, proof };
}

async function par(env: Env, request: Request, now: number): Promise<Response> {
  const call = await clientCall(env, request, now);
  if (call instanceof Response) return call;
  const { nonce, body, proof } = call;
  if (body.get("response_type") !== "code")
    return oauthError(400, "unsupported_response_type", "Only response_type=code", nonce.current);
  if (body.get("redirect_uri") !== atprotoClient(env).redirectUri)
    return oauthError(400, "invalid_request", "redirect_uri is not one of the client's", nonce.current);
  const challenge = body.get("code_challenge") ?? "";
  if (body.get("code_challenge_method") !== "S256" || !S256_CHALLENGE.test(challenge))
    return oauthError(400, "invalid_request", "PKCE with S256 is required", nonce.current);
  const scopes = (body.get("scope") ?? "").split(" ").filter(Boolean);
  if (!scopes.includes("atproto") || scopes.some((s) => !ALLOWED_SCOPES.has(s)))
    return oauthError(
      400,
      "invalid_scope",
      "The scope must include atproto and name known scopes only",
      nonce.current,
    );
  const state = body.get("state");
  if (!state || state.length > 1024)
    return oauthError(400, "invalid_request", "state is required", nonce.current);
  const hint = body.get("login_hint") ?? undefined;
  const token = await signToken(env, {
    k: "req",
    p: "bluesky",
    j: newTokenId(),
    s: [...new Set(scopes)],
    st: state,
    c: challenge,
    o: 1,
    cnf: proof.jkt,
    ...(hint ? { lh: hint.slice(0, 253) } : {}),
    iat: seconds(now),
    exp: seconds(now + REQUEST_TTL_MS),
  });
  return withNonce(
    json({ request_uri: `${REQUEST_URI_PREFIX}${token}`, expires_in: REQUEST_TTL_MS / 1000 }, 201),
    nonce.current,
  );
}

function consentView(env: Env, request: string, scopes: string[], username: string, error?: string) {
  return consentPage({
    platformName: "Bluesky",
    clientId: atprotoClient(env).clientId,
    scopes,
    request,
    username,
    usernameHint: "A handle such as alice.bsky.social: each handle is its own sandbox account.",
    error,
  });
}

async function authorizePage(env: Env, query: URLSearchParams, now: number): Promise<Response> {
  if (query.get("client_id") !== atprotoClient(env).clientId)
    return page(errorPage("Unknown client", "The sandbox knows only this deployment's client_id."), 400);
  const requestUri = query.get("request_uri");
  const request = await pushedRequest(env, requestUri, now);
  if (!request)
    return page(
      errorPage("This sign-in request has expired", "Go back to the app and start connecting again."),
      400,
    );
  const hint = request.lh && !request.lh.startsWith("did:") ? request.lh : SANDBOX_SPECS.bluesky.username;
  return page(consentView(env, requestUri?.slice(REQUEST_URI_PREFIX.length) ?? "", request.s, hint), 200);
}

async function decide(env: Env, request: Request, now: number): Promise<Response> {
  const { issuer } = urls(env);
  const body = await form(request);
  const claims = await verifyToken(env, body?.get("request"), "req", "bluesky", now);
  if (!body || !claims)
    return page(
      errorPage("This sign-in request has expired", "Go back to the app and start connecting again."),
      400,
    );
  const redirectUri = atprotoClient(env).redirectUri;
  if (body.get("decision") === "deny")
    return redirect(redirectUri, {
      error: "access_denied",
      error_description: "The user denied the request",
      state: claims.st,
      iss: issuer,
    });
  if (body.get("decision") !== "approve")
    return page(errorPage("Nothing decided", "Choose Approve or Deny."), 400);
  const user = await sandboxUser("bluesky", body.get("username") ?? "");
  if (!user)
    return page(
      consentView(
        env,
        body.get("request") ?? "",
        claims.s,
        (body.get("username") ?? "").slice(0, 253),
        "A handle looks like alice.bsky.social.",
      ),
      400,
    );
  await env.OAUTH_STATE.put(sandboxHandleKey(user.id), user.username, { expirationTtl: seconds(DAY) });
  const code = await signToken(env, {
    ...grantBase("bluesky", user, claims.s, now),
    k: "code",
    j: newTokenId(),
    iat: seconds(now),
    exp: seconds(now + CODE_TTL_MS),
    ...(claims.c ? { c: claims.c } : {}),
    o: 1,
    ...(claims.cnf ? { cnf: claims.cnf } : {}),
  });
  return redirect(redirectUri, { code, state: claims.st, iss: issuer });
}

async function tokenEndpoint(env: Env, request: Request, now: number): Promise<Response> {
  const call = await clientCall(env, request, now);
  if (call instanceof Response) return call;
  const { nonce, body, proof } = call;
  const answer = (issued: {
    accessToken: string;
    refreshToken?: string;
    accessTtl: number | null;
    scopes: string[];
    userId: string;
  }) =>
    withNonce(
      json(
        atprotoTokens({
          accessToken: issued.accessToken,
          refreshToken: issued.refreshToken ?? "",
          expiresIn: issued.accessTtl ?? 0,
          scope: issued.scopes.join(" "),
          sub: issued.userId,
        }),
      ),
      nonce.current,
    );
  const grantType = body.get("grant_type");
  if (grantType === "authorization_code") {
    const code = await verifyToken(env, body.get("code"), "code", "bluesky", now);
    if (!code) return oauthError(400, "invalid_grant", "The code is invalid or has expired", nonce.current);
    if (!(await spend(env, code, now))) {
      await revokeGrant(env, code, now);
      return oauthError(400, "invalid_grant", "The code was already used", nonce.current);
    }
    if (body.get("redirect_uri") !== atprotoClient(env).redirectUri)
      return oauthError(400, "invalid_grant", "redirect_uri does not match", nonce.current);
    const verifier = body.get("code_verifier") ?? "";
    if (!code.c || !VERIFIER.test(verifier) || (await s256(verifier)) !== code.c)
      return oauthError(400, "invalid_grant", "PKCE verification failed", nonce.current);
    if (code.cnf !== proof.jkt)
      return oauthError(
        400,
        "invalid_dpop_proof",
        "The proof's key is not the one the request was pushed with",
        nonce.current,
      );
    return answer(await issueTokens(env, code, "authorization_code", now, { refresh: true }));
  }
  if (grantType === "refresh_token") {
    const presented = body.get("refresh_token");
    const claims = await verifyToken(env, presented, "rt", "bluesky", now);
    if (claims?.cnf && claims.cnf !== proof.jkt)
      return oauthError(
        400,
        "invalid_dpop_proof",
        "The refresh token is bound to another DPoP key",
        nonce.current,
      );
    const result = await useRefreshToken(env, "bluesky", presented, now);
    if ("refused" in result)
      return oauthError(400, "invalid_grant", `The refresh token is ${result.refused}`, nonce.current);
    return answer(result.issued);
  }
  return oauthError(
    400,
    "unsupported_grant_type",
    "grant_type must be authorization_code or refresh_token",
    nonce.current,
  );
}

async function revokeEndpoint(env: Env, request: Request, now: number): Promise<Response> {
  const { issuer } = urls(env);
  const nonce = await nonceCheck(env, now);
  const body = await form(request);
  if (!body) return oauthError(400, "invalid_request", "The body must be form-encoded", nonce.current);
  const client = await clientCheck(env, body, issuer, now);
  if (!client.ok) return oauthError(401, client.error, client.description, nonce.current);
  const value = body.get("token");
  const claims =
    (await verifyToken(env, value, "rt", "bluesky", now, { allowExpired: true })) ??
    (await verifyToken(env, value, "at", "bluesky", now, { allowExpired: true }));
  if (claims) await revokeGrant(env, claims, now);
  return withNonce(new Response(null, { status: 200 }), nonce.current);
}

/**
 * The caller of an XRPC call: a live sandbox access token, its DPoP proof checked when the token is
 * DPoP-bound; answers the token's claims, or the PDS's refusal, or undefined for no token at all.
 */
export async function xrpcCaller(
  env: Env,
  request: Request,
  now: number,
): Promise<{ user?: GrantClaims; refusal?: Response }> {
  const header = request.headers.get("authorization") ?? "";
  const space = header.indexOf(" ");
  const scheme = header.slice(0, space).toLowerCase();
  const token = header.slice(space + 1).trim();
  if (space < 0 || !token) return {};
  const user = await liveToken(env, token, "at", "bluesky", now);
  if (!user?.cnf) return scheme === "bearer" ? { user } : {};
  const nonce = await nonceCheck(env, now);
  const challenge = (error: string, description: string) =>
    withNonce(
      json(
        xrpcError(401, error === "use_dpop_nonce" ? "use_dpop_nonce" : "InvalidToken", description).body,
        401,
        {
          "www-authenticate": `DPoP error="${error}", error_description="${description}"`,
        },
      ),
      nonce.current,
    );
  if (scheme !== "dpop") return { refusal: challenge("invalid_token", "DPoP-bound token sent without DPoP") };
  const proof = await verifyDpopProof(request.headers.get("dpop"), {
    method: request.method,
    url: request.url,
    now,
    accessToken: token,
    nonceValid: nonce.valid,
  });
  if (!proof.ok) return { refusal: challenge(proof.error, proof.description) };
  if (proof.jkt !== user.cnf)
    return { refusal: challenge("invalid_token", "The token is bound to another key") };
  return { user };
}

/** Identity resolution and the OAuth endpoints; undefined for any other path (the PDS's XRPC). */
export async function handleAtproto(
  env: Env,
  request: Request,
  path: string,
  query: URLSearchParams,
  now: number,
): Promise<Response | undefined> {
  const { pds, issuer } = urls(env);
  const method = request.method;
  if (method === "GET" && path === "/xrpc/com.atproto.identity.resolveHandle") {
    const user = await sandboxUser("bluesky", query.get("handle") ?? "");
    if (!user || !(query.get("handle") ?? "").includes("."))
      return json(xrpcError(400, "InvalidRequest", "Unable to resolve handle").body, 400);
    await env.OAUTH_STATE.put(sandboxHandleKey(user.id), user.username, { expirationTtl: seconds(DAY) });
    return json({ did: user.id });
  }
  if (method === "GET" && path === "/xrpc/com.atproto.identity.resolveDid") {
    const did = query.get("did") ?? "";
    if (!did.startsWith("did:plc:sbx-bluesky-"))
      return json(xrpcError(400, "DidNotFound", "DID not found").body, 400);
    const handle =
      (await env.OAUTH_STATE.get(sandboxHandleKey(did))) ??
      (did === (await sandboxUser("bluesky"))?.id ? SANDBOX_SPECS.bluesky.username : null);
    return json({ didDoc: blueskyDidDocument({ did, handle, pds }) });
  }
  if (method === "GET" && path === "/.well-known/oauth-protected-resource")
    return json(protectedResourceMetadata(pds, issuer));
  if (method === "GET" && path === "/oauth/.well-known/oauth-authorization-server")
    return json(authorizationServerMetadata(issuer));
  if (method === "POST" && path === "/oauth/par") return par(env, request, now);
  if (method === "GET" && path === "/oauth/authorize") return authorizePage(env, query, now);
  if (method === "POST" && path === "/oauth/authorize") return decide(env, request, now);
  if (method === "POST" && path === "/oauth/token") return tokenEndpoint(env, request, now);
  if (method === "POST" && path === "/oauth/revoke") return revokeEndpoint(env, request, now);
  return undefined;
}
