import { ApiError } from "../lib/errors";
import { ProviderError } from "./http";

/** Platform failures that are not the caller's fault answer 502 PROVIDER_ERROR (or 429 when rate limited). */
export function providerFailure(err: unknown): unknown {
  if (!(err instanceof ProviderError)) return err;
  if (err.details.status === 429) {
    const seconds =
      err.details.retryAfterMs === undefined ? undefined : Math.ceil(err.details.retryAfterMs / 1000);
    return new ApiError(
      "RATE_LIMITED",
      `The platform is rate limiting: ${err.message}`,
      undefined,
      seconds === undefined ? undefined : { "retry-after": String(seconds) },
    );
  }
  return new ApiError("PROVIDER_ERROR", err.message);
}
