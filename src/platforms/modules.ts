import type { Platform } from "../lib/domain";
import { bluesky } from "./bluesky";
import { facebook } from "./facebook";
import { googlebusiness } from "./googlebusiness";
import { instagram } from "./instagram";
import { linkedin } from "./linkedin";
import { mastodon } from "./mastodon";
import { pinterest } from "./pinterest";
import { reddit } from "./reddit";
import { snapchat } from "./snapchat";
import { telegram } from "./telegram";
import { threads } from "./threads";
import { tiktok } from "./tiktok";
import { twitter } from "./twitter";
import type { PlatformModule } from "./types";
import { whatsapp } from "./whatsapp";
import { youtube } from "./youtube";

/** Every platform module, by slug (imports nothing else, so any layer may list them). */
export const MODULES: Record<Platform, PlatformModule> = {
  twitter,
  linkedin,
  youtube,
  googlebusiness,
  reddit,
  pinterest,
  facebook,
  instagram,
  threads,
  whatsapp,
  tiktok,
  snapchat,
  mastodon,
  bluesky,
  telegram,
};
