import { call, type TestWorkspace } from "./api";
import type { FakePlatform, FakeProfile } from "./fake-provider";

export const CALLBACK = "https://app.example.com/oauth/callback";

/** Starts a connect and plays the consent screen: answers the state and the code the platform issued. */
export async function consent(
  ws: TestWorkspace,
  fake: FakePlatform,
  profile: FakeProfile,
  options: { body?: Record<string, unknown>; scopes?: string[]; path?: string } = {},
) {
  const started = await call(options.path ?? `/v1/accounts/connect/${fake.platform}`, {
    method: "POST",
    key: ws.key,
    body: { callbackUrl: CALLBACK, ...options.body },
  });
  if (started.status !== 200) throw new Error(`connect: ${started.status} ${started.text}`);
  const url = new URL(started.json.authorizationUrl);
  const code = fake.issueCode(profile, {
    scopes: options.scopes ?? url.searchParams.get("scope")?.split(/[ ,]/) ?? [],
    challenge: url.searchParams.get("code_challenge") ?? undefined,
    redirectUri: url.searchParams.get("redirect_uri") ?? undefined,
  });
  return { state: started.json.state as string, code, url, started };
}

/** The whole OAuth dance for one platform user; answers the callback response. */
export async function connectAccount(
  ws: TestWorkspace,
  fake: FakePlatform,
  profile: FakeProfile,
  options: Parameters<typeof consent>[3] = {},
) {
  const { state, code } = await consent(ws, fake, profile, options);
  return call(`/v1/accounts/callback/${fake.platform}`, {
    method: "POST",
    key: ws.key,
    body: { code, state },
  });
}
