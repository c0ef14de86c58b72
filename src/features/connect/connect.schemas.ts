import { z } from "@hono/zod-openapi";
import { PLATFORMS } from "../../lib/domain";

export const PlatformParamsSchema = z.object({
  platform: z
    .string()
    .transform((v) => v.toLowerCase())
    .pipe(z.enum(PLATFORMS, { error: `Must be one of ${PLATFORMS.join(", ")}` }))
    .openapi({ param: { name: "platform", in: "path" }, example: "twitter" }),
});

const callbackUrl = z.string().min(1).max(2048).openapi({
  description: "Where the user lands after consent: https on an allowed domain (http only on localhost)",
  example: "https://yourapp.com/oauth/callback",
});

export const ConnectBodySchema = z
  .object({
    callbackUrl,
    forcePrompt: z.boolean().optional().openapi({ description: "Show the consent screen again" }),
    pageMode: z
      .boolean()
      .optional()
      .openapi({ description: "LinkedIn: connect as a Page (organisation scopes)" }),
    instance: z
      .string()
      .min(1)
      .max(253)
      .optional()
      .openapi({ description: "Mastodon: the instance, e.g. mastodon.social" }),
    facebookLogin: z.boolean().optional().openapi({
      description:
        "Instagram: connect through Facebook Login (a Facebook user token; pick the business account with select-page) instead of Instagram Login",
    }),
    tiktokBusiness: z.boolean().optional().openapi({
      description:
        "TikTok: connect a Business account through the TikTok API for Business (its own app, TIKTOK_BUSINESS_CLIENT_ID) instead of Login Kit",
    }),
    handle: z.string().min(1).max(2048).optional().openapi({
      description:
        "Bluesky: the account's handle or DID (alice.bsky.social, did:plc:…), resolved to its own PDS and authorization server; without it the user picks an account at bsky.social",
      example: "alice.bsky.social",
    }),
  })
  .strict()
  .openapi("ConnectRequest");

/** A reconnect keeps the account's instance and login flow. */
export const ReconnectBodySchema = ConnectBodySchema.omit({
  instance: true,
  facebookLogin: true,
  tiktokBusiness: true,
  handle: true,
}).openapi("ReconnectRequest");

export const AuthorizationSchema = z
  .object({
    authorizationUrl: z.string(),
    state: z.string(),
    expiresAt: z.string().openapi({ description: "The state expires ten minutes after it is issued" }),
  })
  .openapi("Authorization");

export const CallbackBodySchema = z
  .object({
    code: z.string().min(1).max(4096).optional().openapi({ description: "Required unless error is set" }),
    state: z.string().min(1).max(200),
    error: z.string().min(1).max(200).optional().openapi({
      description: "The platform's error from the redirect (access_denied when the user pressed Deny)",
    }),
    error_description: z.string().max(2048).optional(),
  })
  .strict()
  .refine((body) => body.code !== undefined || body.error !== undefined, {
    message: "Required",
    path: ["code"],
  })
  .openapi("CallbackRequest");

const graphId = (description: string) =>
  z
    .string()
    .regex(/^\d{1,20}$/, "Must be a numeric Graph id")
    .optional()
    .openapi({ description });

export const EmbeddedSignupBodySchema = z
  .object({
    code: z.string().min(1).max(4096).openapi({
      description: "authResponse.code from FB.login with your Embedded Signup configuration; send it at once",
    }),
    wabaId: graphId("waba_id of the WA_EMBEDDED_SIGNUP message: checked against what the signup shared"),
    phoneNumberId: graphId(
      "phone_number_id of the WA_EMBEDDED_SIGNUP message: selected when it is one of the shared numbers",
    ),
  })
  .strict()
  .openapi("EmbeddedSignupRequest");

/** Loose on purpose: platforms append parameters of their own (Google's scope, authuser, prompt…). */
export const RedirectQuerySchema = z
  .object({
    state: z.string().max(200).optional(),
    code: z.string().max(4096).optional(),
    error: z.string().max(200).optional(),
    error_description: z.string().max(2048).optional(),
  })
  .loose();
