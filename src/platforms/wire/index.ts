import type { Platform } from "../../lib/domain";
import { blueskyInvalidToken } from "./bluesky";
import { googleInvalidToken } from "./google";
import { linkedinUnauthorized } from "./linkedin";
import { mastodonUnauthorized } from "./mastodon";
import { graphInvalidToken } from "./meta";
import { pinterestUnauthorized } from "./pinterest";
import { redditUnauthorized } from "./reddit";
import { snapchatUnauthorized } from "./snapchat";
import { telegramUnauthorized } from "./telegram";
import { tiktokInvalidToken } from "./tiktok";
import { twitterUnauthorized } from "./twitter";
import type { WireError } from "./wire";

/** Each platform's answer to a missing, unknown, expired or revoked token; `randomId` mints its trace ids. */
export function invalidToken(platform: Platform, randomId: (length: number) => string): WireError {
  switch (platform) {
    case "twitter":
      return twitterUnauthorized();
    case "linkedin":
      return linkedinUnauthorized();
    case "youtube":
    case "googlebusiness":
      return googleInvalidToken();
    case "reddit":
      return redditUnauthorized();
    case "pinterest":
      return pinterestUnauthorized();
    case "facebook":
    case "instagram":
    case "threads":
    case "whatsapp":
      return graphInvalidToken(randomId(9));
    case "tiktok":
      return tiktokInvalidToken(randomId(12));
    case "snapchat":
      return snapchatUnauthorized(randomId(12));
    case "mastodon":
      return mastodonUnauthorized();
    case "bluesky":
      return blueskyInvalidToken();
    case "telegram":
      return telegramUnauthorized();
  }
}
