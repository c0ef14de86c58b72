import { createRoute, z } from "@hono/zod-openapi";
import { ApiError } from "../../lib/errors";
import { createRouter, errorResponse, json } from "../../lib/router";
import { atprotoClient, clientMetadata } from "../../platforms/atproto/client";
import { clientKeys } from "../../platforms/atproto/keys";

const tags = ["Connect"];
/** Authorization servers fetch these on every flow; a short cache spares the Worker, a rotation shows within minutes. */
const CACHE = { "cache-control": "public, max-age=300" };

const ClientMetadataSchema = z
  .object({
    client_id: z.string(),
    client_name: z.string(),
    client_uri: z.string(),
    application_type: z.literal("web"),
    grant_types: z.array(z.string()),
    response_types: z.array(z.string()),
    scope: z.string(),
    redirect_uris: z.array(z.string()),
    dpop_bound_access_tokens: z.literal(true),
    token_endpoint_auth_method: z.literal("private_key_jwt"),
    token_endpoint_auth_signing_alg: z.literal("ES256"),
    jwks_uri: z.string(),
  })
  .openapi("BlueskyClientMetadata");

const JwksSchema = z
  .object({
    keys: z.array(
      z.object({
        kty: z.literal("EC"),
        crv: z.literal("P-256"),
        x: z.string(),
        y: z.string(),
        kid: z.string(),
        alg: z.literal("ES256"),
        use: z.literal("sig"),
      }),
    ),
  })
  .openapi("BlueskyClientJwks");

const notConfigured = {
  400: errorResponse(400, {
    description: "The deployment has no Bluesky OAuth signing keys (PLATFORM_NOT_CONFIGURED)",
    code: "PLATFORM_NOT_CONFIGURED",
    message: "Bluesky OAuth is not configured: set BLUESKY_OAUTH_KEYS",
  }),
};

export const getBlueskyClientMetadata = createRoute({
  operationId: "getBlueskyClientMetadata",
  method: "get",
  path: "/client-metadata.json",
  tags,
  security: [],
  summary: "Bluesky OAuth client metadata",
  description:
    "Public. The AT Protocol OAuth client metadata document: its URL is the client_id authorization servers fetch.",
  responses: { 200: json(ClientMetadataSchema, "The client metadata document"), ...notConfigured },
});

export const getBlueskyClientJwks = createRoute({
  operationId: "getBlueskyClientJwks",
  method: "get",
  path: "/jwks.json",
  tags,
  security: [],
  summary: "Bluesky OAuth client keys",
  description:
    "Public. The client's signing keys (public halves) that verify its private_key_jwt assertions.",
  responses: { 200: json(JwksSchema, "The client's JWKS"), ...notConfigured },
});

function configuredClient(env: Env) {
  const client = atprotoClient(env);
  if (!client.keys)
    throw new ApiError("PLATFORM_NOT_CONFIGURED", "Bluesky OAuth is not configured: set BLUESKY_OAUTH_KEYS");
  return { ...client, keys: client.keys };
}

/** Mounted at /v1/oauth/bluesky: the client metadata document and its JWKS. */
export const blueskyClientRouter = createRouter()
  .openapi(getBlueskyClientMetadata, (c) => {
    return c.json(clientMetadata(configuredClient(c.env)), 200, CACHE);
  })
  .openapi(getBlueskyClientJwks, async (c) => {
    const keys = await clientKeys(configuredClient(c.env).keys);
    return c.json({ keys: keys.map((k) => k.publicJwk) }, 200, CACHE);
  });
