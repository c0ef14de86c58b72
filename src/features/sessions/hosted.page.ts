import type { Platform } from "../../lib/domain";
import { getModule } from "../../platforms/catalogue";
import { errorText, LANG, STRINGS } from "./hosted.strings";

/** Text for HTML content and quoted attributes. */
export function esc(value: string): string {
  return value.replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] as string,
  );
}

/** The page's headers: a strict CSP (only this Worker's own script and style), never cached or framed. */
export const PAGE_HEADERS: Record<string, string> = {
  "content-type": "text/html; charset=UTF-8",
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; form-action 'self' https:; base-uri 'none'; frame-ancestors 'none'",
  "cache-control": "no-store",
  "referrer-policy": "no-referrer",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
};

/** Each platform's colour and glyph, drawn inline: a recognisable mark with no external image. */
const MARKS: Record<Platform, { bg: string; fg: string; glyph: string }> = {
  twitter: { bg: "#000000", fg: "#ffffff", glyph: "X" },
  linkedin: { bg: "#0A66C2", fg: "#ffffff", glyph: "in" },
  instagram: { bg: "#D62976", fg: "#ffffff", glyph: "IG" },
  facebook: { bg: "#1877F2", fg: "#ffffff", glyph: "f" },
  bluesky: { bg: "#1185FE", fg: "#ffffff", glyph: "B" },
  threads: { bg: "#000000", fg: "#ffffff", glyph: "@" },
  youtube: { bg: "#FF0000", fg: "#ffffff", glyph: "▶" },
  mastodon: { bg: "#6364FF", fg: "#ffffff", glyph: "M" },
  tiktok: { bg: "#010101", fg: "#25F4EE", glyph: "♪" },
  pinterest: { bg: "#E60023", fg: "#ffffff", glyph: "P" },
  snapchat: { bg: "#FFFC00", fg: "#000000", glyph: "S" },
  reddit: { bg: "#FF4500", fg: "#ffffff", glyph: "R" },
  telegram: { bg: "#26A5E4", fg: "#ffffff", glyph: "T" },
  googlebusiness: { bg: "#4285F4", fg: "#ffffff", glyph: "G" },
  whatsapp: { bg: "#25D366", fg: "#ffffff", glyph: "W" },
};

export function mark(platform: Platform): string {
  const { bg, fg, glyph } = MARKS[platform];
  const size = glyph.length > 1 ? 13 : 17;
  return `<svg class="mark" viewBox="0 0 32 32" aria-hidden="true" focusable="false"><rect width="32" height="32" rx="8" fill="${bg}"/><text x="16" y="21.5" text-anchor="middle" font-family="system-ui,sans-serif" font-weight="700" font-size="${size}" fill="${fg}">${esc(glyph)}</text></svg>`;
}

export const platformName = (platform: Platform) => getModule(platform).name;

function layout(title: string, body: string): string {
  return `<!doctype html>
<html lang="${LANG}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><meta name="referrer" content="no-referrer"><title>${esc(title)}</title><link rel="stylesheet" href="/connect/assets/connect.css"></head>
<body><main>${body}</main><script src="/connect/assets/connect.js" defer></script></body></html>`;
}

export interface ChooseView {
  base: string;
  endUserName: string | null;
  platforms: { platform: Platform; form: boolean }[];
  reconnect: Platform | null;
}

/** Step 1: a button per platform; platforms that need input first link to their form. */
export function choosePage(view: ChooseView): string {
  const heading = view.endUserName ? STRINGS.headingFor(view.endUserName) : STRINGS.heading;
  const lead = view.reconnect ? STRINGS.reconnect(platformName(view.reconnect)) : STRINGS.choose;
  const items = view.platforms.map(({ platform, form }) => {
    const inner = `${mark(platform)}<span>${esc(STRINGS.continueWith(platformName(platform)))}</span>`;
    if (form) {
      return `<li><a class="choice" href="${esc(`${view.base}/with/${platform}`)}" data-platform="${platform}">${inner}</a></li>`;
    }
    return `<li><form method="post" action="${esc(`${view.base}/start`)}"><input type="hidden" name="platform" value="${platform}"><button class="choice" type="submit" data-platform="${platform}">${inner}</button></form></li>`;
  });
  return layout(
    heading,
    `<h1 id="title">${esc(heading)}</h1><p>${esc(lead)}</p><ul aria-label="${esc(STRINGS.platformsLabel)}">${items.join("")}</ul><p class="foot">${esc(STRINGS.secured)}</p>`,
  );
}

interface Field {
  name: string;
  label: string;
  hint?: string;
  type?: "text" | "password";
  required?: boolean;
  autocomplete?: string;
}

function field(f: Field): string {
  const id = `f-${f.name}`;
  const hint = f.hint ? `<span class="hint" id="${id}-hint">${esc(f.hint)}</span>` : "";
  return `<label for="${id}">${esc(f.label)}${hint}</label><input id="${id}" name="${f.name}" type="${f.type ?? "text"}"${f.required === false ? "" : " required"}${f.hint ? ` aria-describedby="${id}-hint"` : ""} autocomplete="${f.autocomplete ?? "off"}" autocapitalize="none" spellcheck="false">`;
}

const FORMS: Partial<Record<Platform, { heading: string; fields: Field[] }>> = {
  mastodon: {
    heading: STRINGS.instance.heading,
    fields: [
      { name: "instance", label: STRINGS.instance.label, hint: STRINGS.instance.hint, autocomplete: "url" },
    ],
  },
  bluesky: {
    heading: STRINGS.credentials.heading("Bluesky"),
    fields: [
      {
        name: "handle",
        label: STRINGS.credentials.bluesky.handle,
        hint: STRINGS.credentials.bluesky.handleHint,
        autocomplete: "username",
        required: false,
      },
    ],
  },
  telegram: {
    heading: STRINGS.credentials.heading("Telegram"),
    fields: [
      {
        name: "botToken",
        label: STRINGS.credentials.telegram.botToken,
        hint: STRINGS.credentials.telegram.botTokenHint,
        type: "password",
      },
      {
        name: "chatId",
        label: STRINGS.credentials.telegram.chatId,
        hint: STRINGS.credentials.telegram.chatIdHint,
        required: false,
      },
    ],
  },
  whatsapp: {
    heading: STRINGS.credentials.heading("WhatsApp"),
    fields: [
      { name: "accessToken", label: STRINGS.credentials.whatsapp.accessToken, type: "password" },
      { name: "phoneNumberId", label: STRINGS.credentials.whatsapp.phoneNumberId },
      { name: "wabaId", label: STRINGS.credentials.whatsapp.wabaId, required: false },
    ],
  },
};

/** Whether step 1 sends the platform to a form first. */
/** Login variants the deployment can run, which turn a platform's button into a choice. */
export interface Offered {
  tiktokBusiness?: boolean;
  embeddedSignup?: boolean;
}

export const needsForm = (platform: Platform, offered: Offered = {}) =>
  platform === "instagram" ||
  (platform === "tiktok" && Boolean(offered.tiktokBusiness)) ||
  FORMS[platform] !== undefined;

/**
 * A platform's form: Mastodon's server, Bluesky's, Telegram's and WhatsApp's credentials, Instagram's
 * login choice; WhatsApp offers Embedded Signup first where the deployment can run it.
 */
export function formPage(base: string, platform: Platform, options: Offered = {}): string {
  const back = `<a class="back" href="${esc(base)}">${esc(STRINGS.back)}</a>`;
  const hidden = `<input type="hidden" name="platform" value="${platform}">`;
  if (platform === "instagram") {
    const heading = STRINGS.instagram.heading;
    return layout(
      heading,
      `<h1 id="title" tabindex="-1" data-focus>${esc(heading)}</h1><form method="post" action="${esc(`${base}/start`)}">${hidden}<div class="actions"><button class="choice" type="submit" name="login" value="instagram" data-login="instagram">${mark("instagram")}<span>${esc(STRINGS.instagram.direct)}</span></button><button class="choice" type="submit" name="login" value="facebook" data-login="facebook">${mark("facebook")}<span>${esc(STRINGS.instagram.facebook)}</span></button></div></form>${back}`,
    );
  }
  if (platform === "tiktok" && options.tiktokBusiness) {
    const heading = STRINGS.tiktok.heading;
    return layout(
      heading,
      `<h1 id="title" tabindex="-1" data-focus>${esc(heading)}</h1><form method="post" action="${esc(`${base}/start`)}">${hidden}<div class="actions"><button class="choice" type="submit" name="login" value="tiktok" data-login="tiktok">${mark("tiktok")}<span>${esc(STRINGS.tiktok.personal)}</span></button><button class="choice" type="submit" name="login" value="business" data-login="tiktok-business">${mark("tiktok")}<span>${esc(STRINGS.tiktok.business)}</span></button></div></form>${back}`,
    );
  }
  const form = FORMS[platform];
  if (!form) return choosePage({ base, endUserName: null, platforms: [], reconnect: null });
  const signup =
    platform === "whatsapp" && options.embeddedSignup
      ? `<form method="post" action="${esc(`${base}/start`)}">${hidden}<div class="actions"><button class="choice" type="submit" name="login" value="embedded_signup" data-login="embedded-signup">${mark("facebook")}<span>${esc(STRINGS.credentials.whatsapp.embeddedSignup)}</span></button></div></form><p>${esc(STRINGS.credentials.whatsapp.orToken)}</p>`
      : "";
  return layout(
    form.heading,
    `<h1 class="titled" id="title" tabindex="-1" data-focus>${mark(platform)}<span>${esc(form.heading)}</span></h1>${signup}<form method="post" action="${esc(`${base}/start`)}">${hidden}${form.fields.map(field).join("")}<div class="actions"><button class="button primary" type="submit">${esc(STRINGS.submit)}</button></div></form>${back}`,
  );
}

export interface PageChoice {
  id: string;
  name: string;
  avatarUrl: string | null;
}

/** Step 3: the account's pages, each a button with data-page-id. */
export function pagesPage(base: string, platform: Platform, pages: PageChoice[]): string {
  const lead =
    platform === "linkedin"
      ? STRINGS.pages.linkedin
      : platform === "instagram"
        ? STRINGS.pages.instagram
        : platform === "youtube"
          ? STRINGS.pages.youtube
          : platform === "whatsapp"
            ? STRINGS.pages.whatsapp
            : STRINGS.pages.facebook;
  const skip = platform === "linkedin" ? STRINGS.pages.skipLinkedin : STRINGS.pages.skip;
  const items = pages.map((page) => {
    const avatar = page.avatarUrl
      ? `<img class="avatar" src="${esc(page.avatarUrl)}" alt="">`
      : mark(platform);
    return `<li><button class="choice" type="submit" name="pageId" value="${esc(page.id)}" data-page-id="${esc(page.id)}">${avatar}<span>${esc(page.name)}</span></button></li>`;
  });
  return layout(
    STRINGS.pages.heading,
    `<h1 id="title" tabindex="-1" data-focus>${esc(STRINGS.pages.heading)}</h1><p>${esc(lead)}</p><form method="post" action="${esc(`${base}/pages`)}"><ul>${items.join("")}</ul><div class="actions"><button class="button quiet" type="submit" name="pageId" value="" data-skip>${esc(skip)}</button></div></form>`,
  );
}

/** What the result screen reports, and where it goes next. */
export interface ResultView {
  status: "success" | "error";
  platform: Platform | null;
  who?: string | null;
  page?: string | null;
  /** The failure's code and the API's own message. */
  error?: { code: string; message: string };
  retryUrl?: string | null;
  /** returnUrl with the result's query parameters. */
  returnUrl?: string | null;
  /** Where the result is posted when the page is a popup. */
  targetOrigin?: string | null;
  /** The message posted to the opener. */
  message?: Record<string, unknown> | null;
}

const CHECK = `<svg class="status" viewBox="0 0 24 24" aria-hidden="true" focusable="false"><circle cx="12" cy="12" r="11" fill="none" stroke="currentColor" stroke-width="2"/><path d="M7 12.5l3.2 3.2L17 9" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round" stroke-linejoin="round"/></svg>`;
const CROSS = `<svg class="status" viewBox="0 0 24 24" aria-hidden="true" focusable="false"><circle cx="12" cy="12" r="11" fill="none" stroke="currentColor" stroke-width="2"/><path d="M8 8l8 8M16 8l-8 8" fill="none" stroke="currentColor" stroke-width="2.2" stroke-linecap="round"/></svg>`;

/** The last screen: data-connect-result, a message for a person, and what to do next. */
export function resultPage(view: ResultView): string {
  const name = view.platform ? platformName(view.platform) : null;
  let heading: string;
  let text: string;
  let detail = "";
  if (view.status === "success") {
    heading = STRINGS.result.successHeading;
    text = STRINGS.result.success(name ?? "", view.who ?? null);
    if (view.page) text += ` ${STRINGS.result.pageChosen(view.page)}`;
  } else {
    heading = STRINGS.result.errorHeading;
    const error = view.error ?? { code: "INTERNAL", message: "" };
    const described = errorText(error.code, name);
    text = described.message;
    if (described.showDetail && error.message) detail = `<p class="detail">${esc(error.message)}</p>`;
  }
  const actions: string[] = [];
  if (view.status === "error" && view.retryUrl) {
    actions.push(
      `<a class="button primary" href="${esc(view.retryUrl)}" data-retry>${esc(STRINGS.result.retry)}</a>`,
    );
  }
  if (view.returnUrl) {
    const label = view.status === "success" ? STRINGS.result.continue : STRINGS.result.backToApp;
    const style = view.status === "success" ? "button primary" : "button";
    actions.push(`<a class="${style}" href="${esc(view.returnUrl)}" data-return>${esc(label)}</a>`);
  }
  const attrs = [
    `data-connect-result="${view.status}"`,
    view.returnUrl ? `data-return-url="${esc(view.returnUrl)}"` : "",
    view.targetOrigin ? `data-target-origin="${esc(view.targetOrigin)}"` : "",
    view.message ? `data-message="${esc(JSON.stringify(view.message))}"` : "",
  ]
    .filter(Boolean)
    .join(" ");
  return layout(
    heading,
    `<section class="${view.status}" ${attrs} aria-live="polite">${view.status === "success" ? CHECK : CROSS}<h1 id="title" tabindex="-1" data-focus>${esc(heading)}</h1><p data-connect-message>${esc(text)}</p>${detail}<p data-note data-closing="${esc(STRINGS.result.closing)}" data-redirecting="${esc(STRINGS.result.redirecting)}"></p><div class="actions">${actions.join("")}</div></section>`,
  );
}
