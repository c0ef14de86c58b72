import { env } from "cloudflare:workers";
import type { Platform } from "../../src/lib/domain";
import { type ContextOptions, platformContext } from "../../src/platforms/catalogue";
import { type AuthorizeRequest, buildAuthorizationUrl, exchangeCode } from "../../src/platforms/oauth";
import type { Grant, PlatformContext, PlatformModule, TokenSet } from "../../src/platforms/types";

/** The instant platform unit tests run at, unless a test moves the clock. */
export const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);

/**
 * What the catalogue builds for `platform` at `now` under test: PROVIDER_OVERRIDES points it at the
 * fake provider and the `<PLATFORM>_CLIENT_*` bindings give it client credentials.
 */
export function platformTestContext(
  platform: Platform,
  now = NOW,
  options: ContextOptions = {},
): PlatformContext {
  return platformContext(env, platform, now, options);
}

/** A stored grant as the platform code sees it: no refresh token and no extras unless given. */
export function grantOf(
  accessToken: string,
  refreshToken: string | null = null,
  more: Partial<Grant> = {},
): Grant {
  return { accessToken, refreshToken, extras: {}, ...more };
}

/** Where Switchboard asks `platform` to send the user back after consent. */
export const redirectUriFor = (platform: Platform) =>
  `https://switchboard.test/v1/oauth/redirect/${platform}`;

/** The authorization URL `module` sends the user to, parsed; the request defaults to fixed test values. */
export async function authorizeUrl(
  module: PlatformModule,
  request: Partial<AuthorizeRequest> = {},
  ctx = platformTestContext(module.id),
): Promise<URL> {
  return new URL(
    await buildAuthorizationUrl(ctx, module, {
      state: "state-1",
      codeVerifier: "v".repeat(43),
      redirectUri: redirectUriFor(module.id),
      ...request,
    }),
  );
}

/** Exchanges `code` as the redirect handler would; the verifier and redirect default as in authorizeUrl(). */
export function exchangeTestCode(
  module: PlatformModule,
  code: string,
  request: { codeVerifier?: string; redirectUri?: string } = {},
  ctx = platformTestContext(module.id),
): Promise<TokenSet> {
  return exchangeCode(ctx, module, {
    code,
    codeVerifier: "v".repeat(43),
    redirectUri: redirectUriFor(module.id),
    ...request,
  });
}
