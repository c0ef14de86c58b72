import { beforeEach, describe, expect, it } from "vitest";
import { ProviderError } from "../../src/platforms/http";
import { twitter } from "../../src/platforms/twitter";
import type { FakePlatform } from "../helpers/fake-provider";
import { grantOf, platformTestContext } from "../helpers/platform-context";
import { oauthFake } from "../helpers/platform-fakes";

let fake: FakePlatform;
beforeEach(() => {
  fake = oauthFake("twitter");
});

describe("twitter module", () => {
  it("maps users/me", async () => {
    const grant = fake.newGrant({
      id: "1234567890",
      username: "voxburst",
      name: "VoxBurst",
      avatarUrl: "https://pbs.twimg.com/a.jpg",
    });
    const ctx = platformTestContext("twitter", Date.now());
    const profile = await twitter.profile(ctx, grantOf(grant.accessToken));
    expect(profile).toEqual({
      platformUserId: "1234567890",
      username: "@voxburst",
      displayName: "VoxBurst",
      avatarUrl: "https://pbs.twimg.com/a.jpg",
      accountType: "personal",
    });
  });

  it("classifies a revoked token as refused", async () => {
    const ctx = platformTestContext("twitter", Date.now());
    const err = await twitter.profile(ctx, grantOf("nope")).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
  });
});
