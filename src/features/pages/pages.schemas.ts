import { z } from "@hono/zod-openapi";
import { AccountSchema } from "../accounts/accounts.schemas";

export const LinkedInPageSchema = z
  .object({
    id: z.string().openapi({ description: "The organisation's id: pass it as pageId to select-page" }),
    name: z.string(),
    urn: z.string().openapi({ example: "urn:li:organization:12345678" }),
    type: z.literal("organization"),
    logoUrl: z.string().nullable(),
  })
  .openapi("LinkedInPage");

export const InstagramPageSchema = z
  .object({
    id: z.string().openapi({ description: "The Instagram business account (IG user) id" }),
    name: z.string().openapi({ example: "@username" }),
    pageId: z.string().openapi({ description: "The Facebook Page it is linked to: pass it to select-page" }),
    pageName: z.string(),
    type: z.literal("instagram"),
    avatarUrl: z.string().nullable(),
  })
  .openapi("InstagramPage");

export const FacebookPageSchema = z
  .object({
    id: z.string().openapi({ description: "The Page id: pass it as pageId to select-page" }),
    name: z.string(),
    type: z.literal("page"),
    avatarUrl: z.string().optional(),
  })
  .openapi("FacebookPage");

export const GoogleBusinessLocationSchema = z
  .object({
    id: z.string().openapi({ description: "The location id: pass it as pageId to select-page" }),
    name: z.string().openapi({ description: "The location's title", example: "Vox Bakery Downtown" }),
    type: z.literal("location"),
    accountId: z.string().openapi({ description: "The Business Profile account it was listed under" }),
    accountName: z.string().nullable(),
    address: z.string().nullable().openapi({
      description: "The storefront address on one line; null for service-area businesses",
    }),
  })
  .openapi("GoogleBusinessLocation");

export const YouTubeChannelSchema = z
  .object({
    id: z.string().openapi({ description: "The channel id: pass it as pageId to select-page" }),
    name: z.string().openapi({ description: "The channel's title" }),
    type: z.literal("channel"),
    handle: z.string().nullable().openapi({ example: "@voxbakery" }),
    avatarUrl: z.string().nullable(),
  })
  .openapi("YouTubeChannel");

export const WhatsAppNumberSchema = z
  .object({
    id: z.string().openapi({ description: "The phone number id: pass it as pageId to select-page" }),
    name: z.string().openapi({ description: "The number as displayed", example: "+1 631-555-5555" }),
    type: z.literal("phone_number"),
    verifiedName: z.string().nullable().openapi({ description: "The business name WhatsApp shows" }),
    wabaId: z.string().openapi({ description: "The WhatsApp Business Account it belongs to" }),
  })
  .openapi("WhatsAppNumber");

export const PageSchema = z
  .discriminatedUnion("type", [
    LinkedInPageSchema,
    InstagramPageSchema,
    FacebookPageSchema,
    GoogleBusinessLocationSchema,
    YouTubeChannelSchema,
    WhatsAppNumberSchema,
  ])
  .openapi("Page");

export const PageListSchema = z
  .object({
    pages: z.array(PageSchema),
    requiresReauth: z.boolean().optional().openapi({
      description:
        "True when the grant cannot list pages (a LinkedIn account connected without pageMode): the list is empty; reconnect as hint says",
    }),
    hint: z.string().optional().openapi({
      description: "What to do when requiresReauth is true",
      example: "Reconnect this account with pageMode: true to grant the organisation scopes",
    }),
  })
  .openapi("PageList");

export const SelectPageBodySchema = z
  .object({
    pageId: z.string().trim().min(1, "Must not be empty").max(256).openapi({
      description:
        "LinkedIn: the organisation id (or its URN); Instagram: the Facebook Page id (pageId from the list); Facebook: the Page id; Google Business Profile: the location id (or locations/{id}); YouTube: the channel id",
    }),
    pageName: z.string().trim().min(1).max(256).optional().openapi({
      description: "Display name to keep for the page; defaults to the platform's",
    }),
  })
  .strict()
  .openapi("SelectPageRequest");

export const SelectPageResultSchema = z
  .object({ success: z.literal(true), account: AccountSchema })
  .openapi("SelectPageResult");

export type Page = z.infer<typeof PageSchema>;
export type PageList = z.infer<typeof PageListSchema>;
export type SelectPageBody = z.infer<typeof SelectPageBodySchema>;
