/** A failure to reach the server at all (as opposed to an error answer from it). */
export class NetworkError extends Error {
  constructor(url, cause) {
    super(`Cannot reach ${url}: ${cause?.cause?.code ?? cause?.message ?? cause}`);
    this.name = "NetworkError";
  }
}

/**
 * Calls the API with a bearer token and answers `{ status, body }`, the body parsed as JSON when
 * it is JSON. Throws NetworkError when nothing answers. The token never appears in an error.
 */
export async function callApi(baseUrl, { method = "GET", path, token, body, timeoutMs = 15_000 }) {
  const url = new URL(path, baseUrl);
  const headers = { accept: "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let res;
  try {
    res = await fetch(url, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new NetworkError(url.origin, err);
  }
  const text = await res.text();
  let parsed = text;
  if ((res.headers.get("content-type") ?? "").includes("json")) {
    try {
      parsed = JSON.parse(text);
    } catch {}
  }
  return { status: res.status, ok: res.ok, body: parsed };
}

/** `CODE: message` for an error envelope (with field details), else the status and a text excerpt. */
export function describeError({ status, body }) {
  const error = body && typeof body === "object" ? body.error : undefined;
  if (error?.code) {
    const lines = [`${error.code}: ${error.message}`];
    for (const detail of error.details ?? []) lines.push(`  ${detail.field}: ${detail.message}`);
    if (error.requestId) lines.push(`  requestId: ${error.requestId}`);
    return lines.join("\n");
  }
  const excerpt = typeof body === "string" ? body.slice(0, 200).trim() : JSON.stringify(body);
  return `HTTP ${status}${excerpt ? `: ${excerpt}` : ""}`;
}

/** Every API key scope, as the server's own OpenAPI document lists them (src/lib/domain.ts SCOPES). */
export async function allScopes(baseUrl) {
  const doc = await callApi(baseUrl, { path: "/v1/openapi.json" });
  const scopes = doc.body?.components?.schemas?.CreateKey?.properties?.scopes?.items?.enum;
  if (!doc.ok || !Array.isArray(scopes) || scopes.length === 0) {
    throw new Error(`Could not read the API key scopes from ${baseUrl}/v1/openapi.json`);
  }
  return scopes;
}
