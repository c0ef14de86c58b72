import type { WireError } from "./wire";

/** The Bot API's error envelope: `{ok:false, error_code, description}` with that status. */
export const telegramError = (code: number, description: string): WireError => ({
  status: code,
  body: { ok: false, error_code: code, description },
});

export const telegramUnauthorized = () => telegramError(401, "Unauthorized");
export const telegramNotFound = () => telegramError(404, "Not Found");

/** getMe: the bot behind the token, in the `{ok:true,result}` envelope. */
export function telegramGetMe(bot: { id: number; firstName: string; username: string }) {
  return {
    ok: true,
    result: {
      id: bot.id,
      is_bot: true,
      first_name: bot.firstName,
      username: bot.username,
      can_join_groups: true,
      can_read_all_group_messages: false,
      supports_inline_queries: false,
    },
  };
}
