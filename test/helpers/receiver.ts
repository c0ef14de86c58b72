import { env } from "cloudflare:workers";
import { http } from "msw";
import { Webhook } from "standardwebhooks";
import document from "../../openapi.json";
import { fakeServer } from "./fake-provider";
import { eventChecker } from "./openapi";

/** Where test webhook endpoints point; each receiver listens on its own path under it. */
export const RECEIVER_ORIGIN = "https://receiver.test";

export interface Received {
  path: string;
  body: string;
  headers: Record<string, string>;
  /** webhook-id, webhook-timestamp (seconds) and the space-separated signatures. */
  id: string;
  timestamp: number;
  signatures: string[];
  /** The status this receiver answered. */
  status: number;
  /** Whether `new Webhook(secret).verify(body, headers)` passed at receive time, per secret in `secrets`. */
  verified: boolean[];
}

type Reply = (req: Omit<Received, "status" | "verified">) => Response | Promise<Response>;

const asDocumented = eventChecker(document);
const undocumented: string[] = [];

/** The deliveries received since the last call whose body the committed document does not describe. */
export function undocumentedDeliveries(): string[] {
  return undocumented.splice(0);
}

/**
 * A customer's webhook receiver on the MSW server: records every request, answers through `reply`
 * (204 by default), and verifies each one with the standardwebhooks package as it arrives.
 */
export class Receiver {
  readonly requests: Received[] = [];
  readonly path = `/hooks/${crypto.randomUUID()}`;
  reply: Reply = () => new Response(null, { status: 204 });
  /** Secrets to verify with at receive time (real clock, so only for deliveries made at real time). */
  secrets: string[] = [];

  constructor() {
    fakeServer.use(
      http.post(`${RECEIVER_ORIGIN}${this.path}`, async ({ request }) => {
        const body = await request.text();
        let problem: string | undefined;
        try {
          problem = asDocumented(JSON.parse(body));
        } catch {
          problem = "the body is not JSON";
        }
        if (problem) undocumented.push(`${this.path}: ${problem}: ${body.slice(0, 300)}`);
        const headers = Object.fromEntries(request.headers);
        const req = {
          path: new URL(request.url).pathname,
          body,
          headers,
          id: headers["webhook-id"] ?? "",
          timestamp: Number(headers["webhook-timestamp"]),
          signatures: (headers["webhook-signature"] ?? "").split(" "),
        };
        const verified = this.secrets.map((secret) => {
          try {
            new Webhook(secret).verify(body, headers);
            return true;
          } catch {
            return false;
          }
        });
        const res = await this.reply(req);
        this.requests.push({ ...req, status: res.status, verified });
        return res;
      }),
    );
  }

  get url() {
    return `${RECEIVER_ORIGIN}${this.path}`;
  }

  /** Requests answered 2xx. */
  get delivered() {
    return this.requests.filter((r) => r.status >= 200 && r.status < 300);
  }

  /** Requests carrying this event type. */
  ofType(type: string) {
    return this.requests.filter((r) => (JSON.parse(r.body) as { type: string }).type === type);
  }
}

/**
 * Whether `secret` signed this request, by the standardwebhooks package's own signer at the
 * request's timestamp (verify() would compare that timestamp with the real clock).
 */
export function signedBy(secret: string, req: Pick<Received, "id" | "timestamp" | "body" | "signatures">) {
  const expected = new Webhook(secret).sign(req.id, new Date(req.timestamp * 1000), req.body);
  return req.signatures.includes(expected);
}

/** Fails every delivery still pending, so no test leaves work for another's cron pass. */
export async function settleDeliveries() {
  await env.DB.prepare(
    "UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, lease_id = NULL, lease_until = NULL WHERE status = 'pending'",
  ).run();
}

export interface DeliveryRowRaw {
  id: string;
  event_id: string;
  endpoint_id: string;
  status: "pending" | "succeeded" | "failed";
  attempts: number;
  next_attempt_at: number | null;
  lease_id: string | null;
  lease_until: number | null;
  last_attempt_at: number | null;
  last_status_code: number | null;
  last_error: string | null;
  created_at: number;
}

export async function deliveriesOf(endpointId: string): Promise<DeliveryRowRaw[]> {
  const { results } = await env.DB.prepare("SELECT * FROM deliveries WHERE endpoint_id = ? ORDER BY id")
    .bind(endpointId)
    .all<DeliveryRowRaw>();
  return results;
}

export async function endpointRow(id: string) {
  return env.DB.prepare("SELECT * FROM webhook_endpoints WHERE id = ?")
    .bind(id)
    .first<Record<string, unknown>>();
}
