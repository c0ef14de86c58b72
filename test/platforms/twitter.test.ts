import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { platformContext } from "../../src/platforms/catalogue";
import { ProviderError } from "../../src/platforms/http";
import { twitter } from "../../src/platforms/twitter";
import { type FakePlatform, fakePlatform, unauthorized } from "../helpers/fake-provider";

let fake: FakePlatform;
beforeEach(() => {
  fake = fakePlatform("twitter");
  fake.api("GET /2/users/me", ({ grant }) =>
    grant
      ? Response.json({
          data: {
            id: grant.profile.id,
            username: grant.profile.username,
            name: grant.profile.name,
            profile_image_url: "https://pbs.twimg.com/a.jpg",
          },
        })
      : unauthorized(),
  );
});

describe("twitter module", () => {
  it("maps users/me", async () => {
    const grant = fake.newGrant({ id: "1234567890", username: "voxburst", name: "VoxBurst" });
    const ctx = platformContext(env, "twitter", Date.now());
    const profile = await twitter.profile(ctx, {
      accessToken: grant.accessToken,
      refreshToken: null,
      extras: {},
    });
    expect(profile).toEqual({
      platformUserId: "1234567890",
      username: "@voxburst",
      displayName: "VoxBurst",
      avatarUrl: "https://pbs.twimg.com/a.jpg",
      accountType: "personal",
    });
  });

  it("classifies a revoked token as refused", async () => {
    const ctx = platformContext(env, "twitter", Date.now());
    const err = await twitter
      .profile(ctx, { accessToken: "nope", refreshToken: null, extras: {} })
      .catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe("refused");
  });
});
