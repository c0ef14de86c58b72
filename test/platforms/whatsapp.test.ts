import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../../src/lib/errors";
import { ProviderError, timedFetch } from "../../src/platforms/http";
import type { PlatformContext } from "../../src/platforms/types";
import { whatsapp } from "../../src/platforms/whatsapp";
import { type FakePlatform, fakePlatform } from "../helpers/fake-provider";

const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const vars = env as unknown as Record<string, string>;
const PHONE_NUMBER_ID = "106540352242922";

/** What platformContext builds for WhatsApp once it is in the catalogue: no client credentials needed. */
function context(now = NOW): PlatformContext {
  return {
    platform: "whatsapp",
    endpoints: { ...whatsapp.endpoints, ...JSON.parse(vars.PROVIDER_OVERRIDES ?? "{}").whatsapp },
    clientId: "",
    clientSecret: "",
    allowHttp: true,
    fetch: timedFetch(),
    now,
  };
}

function graphError(code: number, status = 400, message = "Error validating access token", subcode?: number) {
  return Response.json(
    {
      error: {
        message,
        type: "OAuthException",
        code,
        ...(subcode ? { error_subcode: subcode } : {}),
        fbtrace_id: "AbCdEfGhIjK",
      },
    },
    { status },
  );
}

const business = { id: "system-user-1", username: "unused", name: "Jasper's Market" };

let fake: FakePlatform;
let fields: string | null;

beforeEach(() => {
  fake = fakePlatform("whatsapp");
  fields = null;
  // GET /{phone-number-id}: the Cloud API's phone number node.
  fake.api(`GET /${PHONE_NUMBER_ID}`, ({ grant, url }) => {
    fields = url.searchParams.get("fields");
    if (!grant) return graphError(190, 401, "Invalid OAuth access token - Cannot parse access token");
    return Response.json({
      verified_name: grant.profile.name,
      code_verification_status: "VERIFIED",
      display_phone_number: "+1 631-555-5555",
      quality_rating: "GREEN",
      id: PHONE_NUMBER_ID,
    });
  });
});

describe("whatsapp module", () => {
  it("is connected with credentials only, on Graph v21.0, with nothing to refresh", () => {
    expect(whatsapp.oauth).toBeUndefined();
    expect(whatsapp.needsClientCredentials).toBe(false);
    expect(whatsapp.refresh).toEqual({ kind: "none" });
    expect(whatsapp.endpoints).toEqual({ apiBaseUrl: "https://graph.facebook.com/v21.0" });
    expect(whatsapp.revoke).toBeUndefined();
  });
});

describe("whatsapp connectWithCredentials", () => {
  it("verifies the phone number with the system-user token and keeps its ids", async () => {
    const grant = fake.newGrant(business);
    const result = await whatsapp.connectWithCredentials?.(context(), {
      platformAccountId: PHONE_NUMBER_ID,
      accessToken: grant.accessToken,
      extras: { wabaId: "102290129340398" },
    });
    expect(result).toEqual({
      tokens: {
        accessToken: grant.accessToken,
        refreshToken: null,
        expiresAt: null,
        extras: { phoneNumberId: PHONE_NUMBER_ID, wabaId: "102290129340398" },
      },
      profile: {
        platformUserId: PHONE_NUMBER_ID,
        username: "+1 631-555-5555",
        displayName: "Jasper's Market",
        avatarUrl: null,
        accountType: "business",
      },
    });
    expect(fields).toBe("id,display_phone_number,verified_name");
    expect(fake.calls.at(-1)?.headers.get("authorization")).toBe(`Bearer ${grant.accessToken}`);
  });

  it("asks for the phone number id and the token before calling", async () => {
    const err = await whatsapp
      .connectWithCredentials?.(context(), { accessToken: "EAAtoken" })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe("INVALID_PARAM");
    expect(err.details).toEqual([
      { field: "credentials.phoneNumberId", message: "The WhatsApp phone number id" },
    ]);
    expect(fake.calls).toHaveLength(0);
  });

  it("refuses an invalid token (code 190)", async () => {
    const err = await whatsapp
      .connectWithCredentials?.(context(), { platformAccountId: PHONE_NUMBER_ID, accessToken: "EAAbogus" })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
    expect(err.details).toMatchObject({ status: 401, code: "190" });
  });

  it("refuses a phone number id the token cannot see", async () => {
    const grant = fake.newGrant(business);
    fake.api("GET /999", () =>
      graphError(
        100,
        400,
        "Unsupported get request. Object with ID '999' does not exist, cannot be loaded due to missing permissions, or does not support this operation.",
        33,
      ),
    );
    const err = await whatsapp
      .connectWithCredentials?.(context(), { platformAccountId: "999", accessToken: grant.accessToken })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
  });

  it.each([
    [80008, "There have been too many calls to this WhatsApp Business account."],
    [130429, "Rate limit hit"],
    [4, "Application request limit reached"],
  ])("treats Graph code %i as transient", async (code, message) => {
    const grant = fake.newGrant(business);
    fake.api(`GET /${PHONE_NUMBER_ID}`, () => graphError(code, 400, message));
    const err = await whatsapp
      .connectWithCredentials?.(context(), {
        platformAccountId: PHONE_NUMBER_ID,
        accessToken: grant.accessToken,
      })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("transient");
  });
});

describe("whatsapp profile", () => {
  it("reads the phone number stored in extras", async () => {
    const grant = fake.newGrant(business);
    const profile = await whatsapp.profile(context(), {
      accessToken: grant.accessToken,
      refreshToken: null,
      extras: { phoneNumberId: PHONE_NUMBER_ID },
    });
    expect(profile).toMatchObject({ platformUserId: PHONE_NUMBER_ID, username: "+1 631-555-5555" });
  });

  it("classifies a revoked token as refused and a 5xx as transient", async () => {
    const grant = fake.newGrant(business);
    grant.revoked = true;
    const stored = {
      accessToken: grant.accessToken,
      refreshToken: null,
      extras: { phoneNumberId: PHONE_NUMBER_ID },
    };
    const refused = await whatsapp.profile(context(), stored).catch((e) => e);
    expect(refused.kind).toBe("refused");

    fake.failNext({ kind: "5xx" });
    const transient = await whatsapp.profile(context(), stored).catch((e) => e);
    expect(transient.kind).toBe("transient");
  });

  it("cannot read a profile without a stored phone number id", async () => {
    const err = await whatsapp
      .profile(context(), { accessToken: "EAAtoken", refreshToken: null, extras: {} })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("invalid");
  });
});
