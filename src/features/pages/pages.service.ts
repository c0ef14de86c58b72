import type { Db } from "../../db/client";
import type { AccountRow } from "../../db/schema";
import { getSecretBox } from "../../lib/config";
import { ApiError } from "../../lib/errors";
import { getModule } from "../../platforms/catalogue";
import { providerFailure } from "../../platforms/failure";
import { isFacebookLogin } from "../../platforms/instagram";
import { FACEBOOK_LOGIN, facebookUserToken } from "../../platforms/meta";
import { listBusinessLocations } from "../../platforms/pages/google-locations";
import { listOrganizations } from "../../platforms/pages/linkedin-pages";
import {
  listFacebookPages,
  listInstagramBusinessAccounts,
  reachesBusinessPages,
} from "../../platforms/pages/meta-pages";
import { listYouTubeChannels } from "../../platforms/pages/youtube-channels";
import type { Grant, PlatformContext } from "../../platforms/types";
import { grantWabaIds, isEmbeddedSignup, listWhatsAppNumbers } from "../../platforms/whatsapp";
import { findAccount, sealAccountSecrets } from "../accounts/accounts.repository";
import { withRefusals } from "../accounts/refusal.service";
import { openSession } from "../accounts/session";
import type { ServiceContext } from "../context";
import { type PageSelection, saveSelectedPage } from "./pages.repository";
import type { PageList, SelectPageBody } from "./pages.schemas";

const notFound = () => new ApiError("NOT_FOUND", "Account not found");
/** Attempts at a guarded selection write before giving up on a row that keeps changing. */
const SAVE_ATTEMPTS = 3;

const PAGE_PLATFORMS = [
  "linkedin",
  "instagram",
  "facebook",
  "googlebusiness",
  "youtube",
  "whatsapp",
] as const;
type PagePlatform = (typeof PAGE_PLATFORMS)[number];
const hasPages = (platform: string): platform is PagePlatform =>
  (PAGE_PLATFORMS as readonly string[]).includes(platform);

/** Receives the deliveries of an account.error a refused call caused, for their first attempt. */
type Deliver = (deliveryIds: string[]) => void;

interface Opened {
  db: Db;
  row: AccountRow;
  grant: Grant;
  /** The token that lists pages: Facebook's user token wherever it is stored, else the access token. */
  token: string;
  ctx: PlatformContext;
  deliver?: Deliver;
}

const isMeta = (platform: string) => platform === "facebook" || platform === "instagram";

/** The account's session, with the token its pages are listed with as `token`. */
async function open(service: ServiceContext, row: AccountRow, deliver?: Deliver): Promise<Opened> {
  const { grant, ctx } = await openSession(service, row);
  const token = isMeta(row.platform) ? facebookUserToken(grant) : grant.accessToken;
  return { db: service.db, row, grant, token, ctx, deliver };
}

/** INVALID_PARAM when the account has no credentials to call its platform with. */
function assertConnected({ row, token }: Opened): void {
  if (row.status === "disconnected" || !token) {
    throw new ApiError("INVALID_PARAM", "The account is disconnected; reconnect it", [
      { field: "id", message: "Disconnected account" },
    ]);
  }
}

/**
 * Platform calls with the account's token: a refusal breaks the account (withRefusals), and a
 * platform failure answers PROVIDER_ERROR (or RATE_LIMITED), never 500.
 */
async function platformCall<T>(opened: Opened, call: () => Promise<T>): Promise<T> {
  try {
    return await withRefusals(opened.db, opened.row, opened.ctx.now, call, opened.deliver);
  } catch (err) {
    throw providerFailure(err);
  }
}

/** Instagram Direct Login reaches one account and no Pages; a WhatsApp credentials account is one number. */
const directLogin = (row: AccountRow, extras: Record<string, unknown>) =>
  (row.platform === "instagram" && !isFacebookLogin(extras)) ||
  (row.platform === "whatsapp" && !isEmbeddedSignup(extras));

/** A LinkedIn member-only grant's answer: no pages, and how to get them. */
export const LINKEDIN_PAGE_MODE_HINT =
  "This LinkedIn account was connected without pageMode, so it holds no organisation scopes: reconnect it with pageMode: true to list and select the Company Pages the member administers";
const noOrganizationAccess = (): PageList => ({
  pages: [],
  requiresReauth: true,
  hint: LINKEDIN_PAGE_MODE_HINT,
});

/**
 * The member's organisations, or undefined when LinkedIn refuses the grant organisation access (403).
 * LinkedIn decides, not the stored scopes: a grant's scope list may be absent or stale.
 */
async function linkedinOrganizations(opened: Opened) {
  const listing = await platformCall(opened, () => listOrganizations(opened.ctx, opened.token));
  return listing.kind === "ok" ? listing.organizations : undefined;
}

/**
 * GET …/pages: LinkedIn organisations, Instagram business accounts (Facebook Login), Facebook Pages,
 * Business Profile locations, YouTube channels; else none. A LinkedIn grant without organisation
 * access answers none with requiresReauth and a hint.
 */
export async function listPages(
  service: ServiceContext,
  workspaceId: string,
  accountId: string,
  deliver?: Deliver,
): Promise<PageList> {
  const pages = await listedPages(service, workspaceId, accountId, deliver);
  return Array.isArray(pages) ? { pages } : pages;
}

async function listedPages(
  service: ServiceContext,
  workspaceId: string,
  accountId: string,
  deliver?: Deliver,
): Promise<PageList["pages"] | PageList> {
  const row = await findAccount(service.db, workspaceId, accountId);
  if (!row) throw notFound();
  if (!hasPages(row.platform)) return [];
  if ((row.platform === "instagram" || row.platform === "whatsapp") && !row.extrasEnc) return [];
  const opened = await open(service, row, deliver);
  if (directLogin(row, opened.grant.extras)) return [];
  assertConnected(opened);
  const { ctx, token } = opened;
  switch (row.platform) {
    case "linkedin": {
      const orgs = await linkedinOrganizations(opened);
      if (!orgs) return noOrganizationAccess();
      return orgs.map((org) => ({ ...org, type: "organization" as const }));
    }
    case "youtube": {
      const channels = await platformCall(opened, () => listYouTubeChannels(ctx, token));
      return channels.map((channel) => ({
        id: channel.id,
        name: channel.title,
        type: "channel" as const,
        handle: channel.handle,
        avatarUrl: channel.avatarUrl,
      }));
    }
    case "instagram": {
      const accounts = await platformCall(opened, () =>
        listInstagramBusinessAccounts(ctx, token, { businesses: reachesBusinessPages(row.scopes) }),
      );
      return accounts.map((ig) => ({
        id: ig.igUserId,
        name: ig.username ? `@${ig.username}` : (ig.name ?? ig.igUserId),
        pageId: ig.pageId,
        pageName: ig.pageName,
        type: "instagram" as const,
        avatarUrl: ig.avatarUrl,
      }));
    }
    case "facebook": {
      const pages = await platformCall(opened, () =>
        listFacebookPages(ctx, token, { businesses: reachesBusinessPages(row.scopes) }),
      );
      return pages.map((page) => ({
        id: page.id,
        name: page.name,
        type: "page" as const,
        ...(page.avatarUrl ? { avatarUrl: page.avatarUrl } : {}),
      }));
    }
    case "googlebusiness": {
      const locations = await platformCall(opened, () => listBusinessLocations(ctx, token));
      return locations.map((location) => ({
        id: location.id,
        name: location.title,
        type: "location" as const,
        accountId: location.accountId,
        accountName: location.accountName,
        address: location.address,
      }));
    }
    case "whatsapp": {
      const numbers = await platformCall(opened, () =>
        listWhatsAppNumbers(ctx, token, grantWabaIds(opened.grant.extras)),
      );
      return numbers.map((number) => ({
        id: number.id,
        name: number.displayNumber ?? number.id,
        type: "phone_number" as const,
        verifiedName: number.verifiedName,
        wabaId: number.wabaId,
      }));
    }
  }
}

const invalidPageId = (message: string) =>
  new ApiError("INVALID_PAGE_ID", message, [{ field: "pageId", message: "Not among this account's pages" }]);

/** What selecting a page writes, from the freshly listed pages; throws INVALID_PAGE_ID when it is not one. */
async function selectionFor(
  env: Env,
  opened: Opened,
  input: SelectPageBody,
): Promise<{ selection: PageSelection; guarded: boolean }> {
  const { row, ctx, token, grant } = opened;
  const reseal = async (extras: Record<string, unknown>, accessToken = grant.accessToken) =>
    sealAccountSecrets(await getSecretBox(env), row.id, {
      accessToken,
      refreshToken: grant.refreshToken,
      extras: { ...grant.extras, ...extras },
    });
  /**
   * A Page token becomes the credential, with no expiry (so the expiry watch leaves the account
   * alone); the user token stays in extras to list Pages again and to revoke. Without a Page token
   * (Graph sends none when the user may not act for the Page) the user token stays the credential.
   */
  const withPageToken = async (pageAccessToken: string | null, extras: Record<string, unknown>) =>
    pageAccessToken
      ? {
          secrets: await reseal({ ...extras, pageAccessToken, userAccessToken: token }, pageAccessToken),
          tokenExpiresAt: null,
          expiringNotifiedAt: null,
        }
      : { secrets: await reseal({ ...extras, pageAccessToken: null }, token) };
  switch (row.platform) {
    case "linkedin": {
      const orgs = await linkedinOrganizations(opened);
      if (!orgs) {
        throw new ApiError("INVALID_PARAM", LINKEDIN_PAGE_MODE_HINT, [
          { field: "id", message: "LinkedIn account without organisation scopes" },
        ]);
      }
      const wanted = input.pageId.replace(/^urn:li:organization:/, "");
      const org = orgs.find((o) => o.id === wanted);
      if (!org) {
        throw invalidPageId(
          "pageId is not an organization this member administers. Re-fetch pages with GET /v1/accounts/:id/pages and use an id from that response.",
        );
      }
      return {
        selection: { selectedPageId: org.id, selectedPageName: input.pageName ?? org.name },
        guarded: false,
      };
    }
    case "instagram": {
      const accounts = await platformCall(opened, () =>
        listInstagramBusinessAccounts(ctx, token, { businesses: reachesBusinessPages(row.scopes) }),
      );
      const ig =
        accounts.find((a) => a.pageId === input.pageId) ?? accounts.find((a) => a.igUserId === input.pageId);
      if (!ig) {
        throw invalidPageId(
          "The provided pageId was not found among the Instagram Business accounts accessible via the connected Facebook token. Re-fetch pages with GET /v1/accounts/:id/pages and use a valid pageId from that response.",
        );
      }
      const pageName = input.pageName ?? ig.pageName;
      return {
        selection: {
          selectedPageId: ig.pageId,
          selectedPageName: pageName,
          username: ig.username ? `@${ig.username}` : row.username,
          displayName: ig.name || ig.username || row.displayName,
          avatarUrl: ig.avatarUrl ?? row.avatarUrl,
          accountType: "business",
          ...(await withPageToken(ig.pageAccessToken, {
            oauthVersion: FACEBOOK_LOGIN,
            igUserId: ig.igUserId,
            username: ig.username,
            pageId: ig.pageId,
            pageName,
          })),
        },
        guarded: true,
      };
    }
    case "facebook": {
      const pages = await platformCall(opened, () =>
        listFacebookPages(ctx, token, { businesses: reachesBusinessPages(row.scopes) }),
      );
      const page = pages.find((p) => p.id === input.pageId);
      if (!page) {
        throw invalidPageId(
          "pageId is not a Page this Facebook login manages. Re-fetch pages with GET /v1/accounts/:id/pages and use an id from that response.",
        );
      }
      const pageName = input.pageName ?? page.name;
      return {
        selection: {
          selectedPageId: page.id,
          selectedPageName: pageName,
          ...(await withPageToken(page.accessToken, { pageId: page.id, pageName })),
        },
        guarded: true,
      };
    }
    case "youtube": {
      const channels = await platformCall(opened, () => listYouTubeChannels(ctx, token));
      const channel = channels.find((c) => c.id === input.pageId);
      if (!channel) {
        throw invalidPageId(
          "pageId is not a channel this Google account owns. Re-fetch pages with GET /v1/accounts/:id/pages and use an id from that response.",
        );
      }
      return {
        selection: { selectedPageId: channel.id, selectedPageName: input.pageName ?? channel.title },
        guarded: false,
      };
    }
    case "googlebusiness": {
      const locations = await platformCall(opened, () => listBusinessLocations(ctx, token));
      const wanted = input.pageId.replace(/^(?:accounts\/[^/]+\/)?locations\//, "");
      const location = locations.find((l) => l.id === wanted);
      if (!location) {
        throw invalidPageId(
          "pageId is not a location this Google account manages. Re-fetch pages with GET /v1/accounts/:id/pages and use an id from that response.",
        );
      }
      const pageName = input.pageName ?? location.title;
      return {
        selection: {
          selectedPageId: location.id,
          selectedPageName: pageName,
          // Posting addresses accounts/{accountId}/locations/{locationId}.
          secrets: await reseal({
            accountId: location.accountId,
            locationId: location.id,
            locationName: pageName,
          }),
        },
        guarded: true,
      };
    }
    case "whatsapp": {
      const numbers = await platformCall(opened, () =>
        listWhatsAppNumbers(ctx, token, grantWabaIds(grant.extras)),
      );
      const number = numbers.find((n) => n.id === input.pageId);
      if (!number) {
        throw invalidPageId(
          "pageId is not a phone number of the WhatsApp Business Accounts this grant reaches. Re-fetch pages with GET /v1/accounts/:id/pages and use an id from that response.",
        );
      }
      const pageName = input.pageName ?? number.displayNumber;
      return {
        selection: {
          selectedPageId: number.id,
          selectedPageName: pageName,
          username: number.displayNumber,
          // Messages are sent from /{phone-number-id}/messages.
          secrets: await reseal({ phoneNumberId: number.id }),
        },
        guarded: true,
      };
    }
    default:
      throw new Error(`No page selection for ${row.platform}`);
  }
}

/**
 * POST …/select-page: checks the page against a fresh listing, then stores it. A Facebook Page's
 * token becomes the account's credential; a row that changed meanwhile (a reconnect) is re-read and redone.
 */
export async function selectPage(
  service: ServiceContext,
  workspaceId: string,
  accountId: string,
  input: SelectPageBody,
  deliver?: Deliver,
): Promise<AccountRow> {
  const { env, db, now } = service;
  for (let attempt = 0; attempt < SAVE_ATTEMPTS; attempt++) {
    const row = await findAccount(db, workspaceId, accountId);
    if (!row) throw notFound();
    if (!hasPages(row.platform)) {
      throw new ApiError(
        "INVALID_PARAM",
        `Page selection does not apply to ${getModule(row.platform).name} accounts; it applies to LinkedIn, Instagram (Facebook Login), Facebook, Google Business Profile, YouTube and WhatsApp (Embedded Signup)`,
        [{ field: "id", message: "Platform without pages" }],
      );
    }
    const opened = await open(service, row, deliver);
    assertConnected(opened);
    if (directLogin(row, opened.grant.extras)) {
      throw row.platform === "whatsapp"
        ? new ApiError(
            "INVALID_PARAM",
            "This WhatsApp account was connected with a system-user token for one phone number; page selection needs an Embedded Signup account (POST /v1/accounts/connect/whatsapp)",
            [{ field: "id", message: "WhatsApp credentials account" }],
          )
        : new ApiError(
            "INVALID_PARAM",
            "Page selection needs an Instagram account connected through Facebook Login; reconnect it with facebookLogin: true",
            [{ field: "id", message: "Instagram Direct Login account" }],
          );
    }
    const { selection, guarded } = await selectionFor(env, opened, input);
    const saved = await saveSelectedPage(
      db,
      workspaceId,
      accountId,
      selection,
      guarded ? row : undefined,
      now,
    );
    if (saved) return saved;
  }
  throw new ApiError("INTERNAL", "The account kept changing while the page was being selected");
}
