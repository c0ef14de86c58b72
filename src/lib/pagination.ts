import { z } from "@hono/zod-openapi";
import { fromBase64, toBase64Url, utf8 } from "./encoding";
import { ApiError } from "./errors";
import { type IdPrefix, isId } from "./ids";

/** An opaque keyset cursor: the id of the last row of the page, which lists walk downwards. */
export function encodeCursor(lastId: string): string {
  return toBase64Url(utf8(`v1:${lastId}`));
}

export function decodeCursor(cursor: string, prefix: IdPrefix): string {
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(fromBase64(cursor));
  } catch {
    throw invalidCursor();
  }
  const id = text.startsWith("v1:") ? text.slice(3) : "";
  if (!isId(id, prefix)) throw invalidCursor();
  return id;
}

function invalidCursor() {
  return new ApiError("INVALID_PARAM", "Invalid cursor: pass next_cursor from a previous page", [
    { field: "cursor", message: "Invalid cursor" },
  ]);
}

/** The `pagination` object of every list answer. */
export const PaginationSchema = z.object({
  has_more: z.boolean(),
  next_cursor: z.string().nullable(),
  limit: z.number().int(),
});

/** Splits the extra row a list query fetched off into has_more and the next cursor. */
export function paginate<T extends { id: string }>(rows: T[], limit: number) {
  const hasMore = rows.length > limit;
  const page = hasMore ? rows.slice(0, limit) : rows;
  const last = page.at(-1);
  return {
    page,
    pagination: { has_more: hasMore, next_cursor: hasMore && last ? encodeCursor(last.id) : null, limit },
  };
}
