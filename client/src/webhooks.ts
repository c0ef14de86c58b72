import { Webhook, WebhookVerificationError } from "standardwebhooks";
import type { components } from "./openapi";

type Schemas = components["schemas"];

/** Every event Switchboard delivers, told apart by `type`. */
export type WebhookEvent =
  | Schemas["AccountConnectedEvent"]
  | Schemas["AccountErrorEvent"]
  | Schemas["AccountDisconnectedEvent"]
  | Schemas["AccountRecoveredEvent"]
  | Schemas["AccountExpiringEvent"]
  | Schemas["WebhookTestEvent"];
export type WebhookEventType = WebhookEvent["type"];

export { WebhookVerificationError };

/**
 * Verifies a delivery with the standardwebhooks package (signature, and a timestamp within five
 * minutes) and answers its event. Pass the raw body as received, and during a secret rotation both
 * secrets: the delivery verifies if either signed it. Throws WebhookVerificationError otherwise.
 */
export function verifyWebhook(
  secrets: string | string[],
  body: string,
  headers: Headers | Record<string, string>,
): WebhookEvent {
  const plain = headers instanceof Headers ? Object.fromEntries(headers) : headers;
  let failure: unknown;
  for (const secret of Array.isArray(secrets) ? secrets : [secrets]) {
    try {
      return new Webhook(secret).verify(body, plain) as WebhookEvent;
    } catch (err) {
      failure = err;
    }
  }
  throw failure instanceof Error ? failure : new WebhookVerificationError("No secret to verify with");
}
