import { ApiError } from "../lib/errors";
import { ProviderError, retryAfterMs } from "./http";
import type { PlatformContext, PlatformModule, Profile } from "./types";

interface BotApiAnswer<T> {
  ok: boolean;
  result?: T;
  error_code?: number;
  description?: string;
  parameters?: { retry_after?: number };
}

interface BotUser {
  id: number;
  is_bot: boolean;
  first_name: string;
  username?: string;
}

/** A BotFather token: the bot's numeric id, a colon, then a URL-safe secret (35 characters today). */
const BOT_TOKEN = /^\d{1,20}:[A-Za-z0-9_-]{30,100}$/;

export function isBotToken(token: string): boolean {
  return BOT_TOKEN.test(token);
}

/** A channel the bot posts to: "@channelname" or a numeric chat id such as -1001234567890. */
function chatId(value: unknown): string | number | undefined {
  if (typeof value === "number" && Number.isSafeInteger(value)) return value;
  if (typeof value !== "string") return undefined;
  const trimmed = value.trim();
  if (/^@[A-Za-z][A-Za-z0-9_]{3,31}$/.test(trimmed) || /^-?\d{1,20}$/.test(trimmed)) return trimmed;
  return undefined;
}

/**
 * Calls a Bot API method. The token sits in the URL path, so no message built here (or in
 * http.ts, which never quotes URLs) carries the URL; Telegram's own description does not echo it.
 */
async function botApi<T>(ctx: PlatformContext, token: string, method: string): Promise<T> {
  if (!isBotToken(token)) throw new ProviderError("refused", "The stored Telegram bot token is malformed");
  const base = ctx.endpoints.apiBaseUrl.replace(/\/+$/, "");
  let res: Response;
  try {
    res = await ctx.fetch(`${base}/bot${token}/${method}`, { headers: { accept: "application/json" } });
  } catch (err) {
    // A raw fetch error may quote the URL, and with it the token.
    if (err instanceof ProviderError) throw err;
    throw new ProviderError("transient", "Network error reaching Telegram");
  }
  let body: BotApiAnswer<T> | undefined;
  try {
    body = (await res.json()) as BotApiAnswer<T>;
  } catch {
    body = undefined;
  }
  if (res.ok && body?.ok === true && body.result !== undefined) return body.result;
  const status = body?.error_code ?? res.status;
  const description = typeof body?.description === "string" ? body.description.slice(0, 200) : undefined;
  const message = `Telegram ${method} failed: HTTP ${status}${description ? ` (${description})` : ""}`;
  if (status === 429 || status >= 500) {
    const retryAfter = body?.parameters?.retry_after;
    throw new ProviderError("transient", message, {
      status,
      retryAfterMs:
        typeof retryAfter === "number"
          ? retryAfter * 1000
          : retryAfterMs(res.headers.get("retry-after"), ctx.now),
    });
  }
  // 401 is a revoked or unknown token; 404 is what Telegram answers for a token it cannot parse.
  if (status === 401 || status === 403 || status === 404)
    throw new ProviderError("refused", message, { status });
  throw new ProviderError("invalid", message, { status });
}

/** Telegram: a bot token from @BotFather, the bot made an admin of the channel; no OAuth, no expiry. */
export const telegram: PlatformModule = {
  id: "telegram",
  name: "Telegram",
  endpoints: { apiBaseUrl: "https://api.telegram.org" },
  needsClientCredentials: false,
  refresh: { kind: "none" },
  // Checked 2026-12-06: https://docs.rs/apid-telegram-bot/0.2.3/apid_telegram_bot/calls/index.html (Bot API texts: logOut moves the bot off the cloud server)
  // No revoke: logOut moves a bot off the cloud Bot API server; it does not invalidate the token.

  async connectWithCredentials(ctx, input) {
    const name = input.botToken !== undefined ? "botToken" : "accessToken";
    const token = (input.accessToken ?? input.botToken)?.trim() ?? "";
    if (!isBotToken(token)) {
      throw new ApiError(
        "INVALID_PARAM",
        `${name} must be a Telegram bot token from @BotFather, which looks like 123456789:AA…`,
        [{ field: `credentials.${name}`, message: "Not a Telegram bot token" }],
      );
    }
    const extras: Record<string, unknown> = {};
    if (input.extras?.chatId !== undefined) {
      const chat = chatId(input.extras.chatId);
      if (chat === undefined) {
        throw new ApiError("INVALID_PARAM", "chatId must be @channelname or a numeric chat id", [
          { field: "credentials.chatId", message: "Not a Telegram chat id" },
        ]);
      }
      extras.chatId = chat;
    }
    const profile = await this.profile(ctx, { accessToken: token, refreshToken: null, extras });
    return { tokens: { accessToken: token, refreshToken: null, expiresAt: null, extras }, profile };
  },

  // Checked 2026-12-06: https://docs.rs/apid-telegram-bot/0.2.3/apid_telegram_bot/calls/index.html (getMe: "a simple method for testing your bot's authentication token")
  async profile(ctx, grant): Promise<Profile> {
    const bot = await botApi<BotUser>(ctx, grant.accessToken, "getMe");
    if (typeof bot?.id !== "number") throw new ProviderError("invalid", "Telegram getMe answered no bot id");
    return {
      platformUserId: String(bot.id),
      username: bot.username ? `@${bot.username}` : null,
      displayName: bot.first_name ?? null,
      // Bot photo file URLs embed the token: never store one.
      avatarUrl: null,
      accountType: "bot",
    };
  },
};
