// Every English string of the hosted connect page, in one place so it can be translated.

export const LANG = "en";

export const STRINGS = {
  title: "Connect an account",
  heading: "Connect an account",
  headingFor: (name: string) => `Connect an account for ${name}`,
  choose: "Choose the platform you want to connect.",
  reconnect: (platform: string) => `Sign in to ${platform} again to reconnect your account.`,
  platformsLabel: "Platforms",
  continueWith: (platform: string) => `Continue with ${platform}`,
  back: "Back",
  submit: "Continue",
  secured: "You sign in on each platform's own page: your password is never shared with the app.",
  instance: {
    heading: "Your Mastodon server",
    label: "Server address",
    hint: "For example mastodon.social",
  },
  tiktok: {
    heading: "Which TikTok account do you connect?",
    personal: "My TikTok account (personal or creator)",
    business: "A TikTok Business account",
  },
  instagram: {
    heading: "How do you sign in to Instagram?",
    direct: "With my Instagram professional account",
    facebook: "With Facebook (a business account linked to a Facebook Page)",
  },
  credentials: {
    heading: (platform: string) => `Connect ${platform}`,
    bluesky: {
      handle: "Your handle (optional)",
      handleHint: "For example alice.bsky.social; leave it empty to choose your account on Bluesky",
    },
    telegram: {
      botToken: "Bot token",
      botTokenHint: "From @BotFather",
      chatId: "Channel or chat (optional)",
      chatIdHint: "For example @mychannel",
    },
    whatsapp: {
      embeddedSignup: "Continue with Facebook (set up WhatsApp for your business)",
      orToken: "Or connect one number with a system user access token:",
      accessToken: "System user access token",
      phoneNumberId: "Phone number ID",
      wabaId: "WhatsApp Business account ID (optional)",
    },
  },
  pages: {
    heading: "Choose where to post",
    linkedin: "Pick the LinkedIn Page to post as, or post as yourself.",
    facebook: "Pick the Facebook Page to connect.",
    instagram: "Pick the Instagram business account to connect.",
    youtube: "Pick the YouTube channel to connect.",
    whatsapp: "Pick the WhatsApp number to send from.",
    skipLinkedin: "Post as myself",
    skip: "Choose later",
    failed: "We could not load your pages. You can choose one later in the app.",
  },
  result: {
    successHeading: "Account connected",
    success: (platform: string, who: string | null) =>
      who ? `Your ${platform} account ${who} is connected.` : `Your ${platform} account is connected.`,
    pageChosen: (page: string) => `Posts will go to ${page}.`,
    errorHeading: "Nothing was connected",
    continue: "Continue",
    backToApp: "Back to the app",
    retry: "Try again",
    closing: "You can close this window.",
    redirecting: "Taking you back…",
  },
  errors: {
    SESSION_NOT_FOUND: "This link is not valid. Go back to the app and start connecting again.",
    SESSION_EXPIRED: "This link has expired. Go back to the app and start connecting again.",
    SESSION_USED:
      "This link was already used to connect an account. Go back to the app to connect another one.",
    SESSION_BUSY:
      "This connection is already being completed in another window. Wait a moment, then try again.",
    PLATFORM_NOT_OFFERED: "This platform is not available here. Choose another one.",
    ACCESS_DENIED: (platform: string) => `You declined access on ${platform}, so nothing was connected.`,
    PLAN_LIMIT_EXCEEDED: "This app cannot connect more accounts right now. Contact the app's support.",
    PLATFORM_RESTRICTED: "This app does not allow connecting this platform.",
    PLATFORM_NOT_CONFIGURED: "This platform is not set up for this app yet.",
    PROVIDER_ERROR: (platform: string) => `${platform} did not answer as expected. Try again in a moment.`,
    RATE_LIMITED: (platform: string) => `${platform} is busy right now. Try again in a few minutes.`,
    STORAGE_UNAVAILABLE: "Something went wrong on our side. Try again in a few seconds.",
    INTERNAL: "Something went wrong on our side. Try again.",
    fallback: "The connection could not be completed.",
  },
} as const;

type ErrorCode = keyof typeof STRINGS.errors;

/** The person's message for a failure code; `detail` (the API's own message) where it says more. */
export function errorText(code: string, platform: string | null): { message: string; showDetail: boolean } {
  const entry = STRINGS.errors[code as ErrorCode] as string | ((platform: string) => string) | undefined;
  if (entry === undefined) return { message: STRINGS.errors.fallback, showDetail: true };
  return {
    message: typeof entry === "function" ? entry(platform ?? "The platform") : entry,
    showDetail: false,
  };
}
