import { z } from "@hono/zod-openapi";

/** The answer of an operation that has nothing else to say (a delete). */
export const SuccessSchema = z.object({ success: z.literal(true) }).openapi("Success");
