import { z } from "@hono/zod-openapi";

export const Ga4ClientIdBodySchema = z
  .object({
    clientId: z
      .string({ error: "Required" })
      .max(64, "At most 64 characters")
      .regex(/^\d+\.\d+$/, "Must be two numeric segments separated by a dot, e.g. 1234567890.9876543210")
      .openapi({ example: "1234567890.9876543210", description: "The browser's GA4 client id" }),
  })
  .strict()
  .openapi("Ga4ClientIdRequest");

export const OkSchema = z.object({ ok: z.literal(true) }).openapi("Ok");
