import { beforeEach, describe, expect, it } from "vitest";
import { ApiError } from "../../src/lib/errors";
import { ProviderError } from "../../src/platforms/http";
import { EMBEDDED_SIGNUP, whatsapp } from "../../src/platforms/whatsapp";
import type { FakePlatform, FakeRequest } from "../helpers/fake-provider";
import { platformTestContext } from "../helpers/platform-context";
import { fakeFor, graphError, recordRoute, whatsappFake } from "../helpers/platform-fakes";

const PHONE_NUMBER_ID = "106540352242922";
const context = () => platformTestContext("whatsapp");

const business = { id: "system-user-1", username: "unused", name: "Jasper's Market" };

let fake: FakePlatform;
let phoneReads: FakeRequest[];

beforeEach(() => {
  fake = fakeFor("whatsapp");
  whatsappFake(fake, {
    id: PHONE_NUMBER_ID,
    displayNumber: "+1 631-555-5555",
    verifiedName: business.name,
  });
  phoneReads = recordRoute(fake, `GET /${PHONE_NUMBER_ID}`);
});

describe("whatsapp module", () => {
  it("connects with credentials, or through Embedded Signup at Facebook, on Graph v26.0 (v21.0 retires on 21 January 2027), with nothing to refresh", () => {
    expect(whatsapp.oauth).toBeUndefined();
    expect(whatsapp.needsClientCredentials).toBe(false);
    expect(whatsapp.refresh).toEqual({ kind: "none" });
    expect(whatsapp.endpoints).toEqual({ apiBaseUrl: "https://graph.facebook.com/v26.0" });
    expect(whatsapp.defaultVariant).toBe(EMBEDDED_SIGNUP);
    expect(whatsapp.variants?.[EMBEDDED_SIGNUP]?.via).toBe("facebook");
    expect(whatsapp.variants?.[EMBEDDED_SIGNUP]?.refresh).toEqual({ kind: "none" });
  });

  it("revokes nothing for a system-user token (only Business Manager can)", async () => {
    await whatsapp.revoke?.(context(), {
      accessToken: "EAAtoken",
      refreshToken: null,
      extras: { phoneNumberId: PHONE_NUMBER_ID },
    });
    expect(fake.calls).toHaveLength(0);
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
    expect(phoneReads.at(-1)?.url.searchParams.get("fields")).toBe("id,display_phone_number,verified_name");
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
