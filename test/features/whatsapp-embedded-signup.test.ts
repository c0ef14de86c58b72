import { env } from "cloudflare:workers";
import { beforeEach, describe, expect, it } from "vitest";
import { platformContext } from "../../src/platforms/catalogue";
import { EMBEDDED_SIGNUP } from "../../src/platforms/whatsapp";
import type { WireWhatsAppBusiness } from "../../src/platforms/wire/meta";
import { createWorkspace, type TestWorkspace } from "../helpers/api";
import { CALLBACK, consent } from "../helpers/connect";
import type { FakePlatform, FakeProfile } from "../helpers/fake-provider";
import { watchForLeaks } from "../helpers/leaks";
import { embeddedSignupFake, fakeFor, oauthFake, recordRoute, whatsappFake } from "../helpers/platform-fakes";
import { extrasOf, rowOf } from "../helpers/rows";

/** What a WhatsApp Embedded Signup configuration grants; the dialog gets the configuration, not these. */
const ES_SCOPES = ["whatsapp_business_management", "whatsapp_business_messaging", "business_management"];

const business = (numbers: number): WireWhatsAppBusiness => ({
  id: "102290129340398",
  name: "Jasper's Market",
  numbers: Array.from({ length: numbers }, (_, i) => ({
    id: `10654035224292${i}`,
    displayNumber: `+1 631-555-555${i}`,
    verifiedName: "Jasper's Market",
  })),
});

const owner = (): FakeProfile => ({
  id: `10${Math.floor(Math.random() * 1e13)}`,
  username: "unused",
  name: "Jasper Owner",
});

const { api } = watchForLeaks();
let fb: FakePlatform;
let wa: FakePlatform;
let ws: TestWorkspace;

function setUp(shared: WireWhatsAppBusiness | null) {
  fb = oauthFake("facebook");
  wa = fakeFor("whatsapp");
  embeddedSignupFake(fb, wa, shared);
}

/** Runs Embedded Signup for `profile` (the dialog grants the configuration's permissions) and the callback. */
async function signUp(profile: FakeProfile, path?: string) {
  const { state, code, url } = await consent(ws, fb, profile, {
    scopes: ES_SCOPES,
    path: path ?? "/v1/accounts/connect/whatsapp",
  });
  const res = await api("/v1/accounts/callback/whatsapp", {
    method: "POST",
    key: ws.key,
    body: { code, state },
  });
  return { res, url };
}

beforeEach(async () => {
  ws = await createWorkspace();
});

describe("WhatsApp Embedded Signup", () => {
  it("opens Facebook's dialog with the Embedded Signup configuration, v4 extras and WhatsApp's redirect", async () => {
    setUp(business(1));
    const res = await api("/v1/accounts/connect/whatsapp", {
      method: "POST",
      key: ws.key,
      body: { callbackUrl: CALLBACK },
    });
    expect(res.status).toBe(200);
    const url = new URL(res.json.authorizationUrl);
    expect(`${url.origin}${url.pathname}`).toBe("https://fake.test/facebook/authorize");
    expect(url.searchParams.get("client_id")).toBe("facebook-client-id");
    expect(url.searchParams.get("config_id")).toBe("whatsapp-config-id");
    expect(url.searchParams.get("scope")).toBeNull();
    expect(url.searchParams.get("response_type")).toBe("code");
    expect(url.searchParams.get("override_default_response_type")).toBe("true");
    expect(JSON.parse(url.searchParams.get("extras") ?? "{}")).toMatchObject({ version: "v4", setup: {} });
    expect(url.searchParams.get("redirect_uri")).toBe("https://switchboard.test/v1/oauth/redirect/whatsapp");
    expect(url.searchParams.get("code_challenge_method")).toBe("S256");
  });

  it("connects the shared WABA with its one number selected, after subscribing the app to its webhooks", async () => {
    setUp(business(1));
    const { res } = await signUp(owner());
    expect(res.status).toBe(200);
    const account = res.json.account;
    expect(account).toMatchObject({
      platform: "whatsapp",
      platformUserId: "102290129340398",
      username: "+1 631-555-5550",
      displayName: "Jasper's Market",
      accountType: "business",
      status: "active",
      tokenExpiresAt: null,
      selectedPage: { id: "106540352242920", name: "+1 631-555-5550" },
    });
    const extras = await extrasOf(account.id);
    expect(extras).toMatchObject({
      oauthVersion: EMBEDDED_SIGNUP,
      wabaId: "102290129340398",
      wabaIds: ["102290129340398"],
      phoneNumberId: "106540352242920",
    });
    // debug_token authenticates with the app's token, never the customer's.
    const debug = fb.calls.find((c) => c.path.endsWith("/debug_token"));
    expect(debug?.headers.get("authorization")).toBeNull();
    expect(fb.calls.filter((c) => c.method === "POST" && c.path.endsWith("/subscribed_apps"))).toHaveLength(
      1,
    );
    expect((await rowOf(account.id))?.next_refresh_at).toBeNull();

    const tested = await api(`/v1/accounts/${account.id}/test`, { method: "POST", key: ws.key });
    expect(tested.status).toBe(200);
    expect(tested.json.success ?? tested.json.ok).toBe(true);
    expect(wa.calls.map((c) => `${c.method} ${c.path}`)).toContain("GET /api/102290129340398");
  });

  it("leaves a WABA with several numbers unselected, lists them as pages and selects one", async () => {
    setUp(business(2));
    const { res } = await signUp(owner());
    expect(res.status).toBe(200);
    const id = res.json.account.id;
    expect(res.json.account.selectedPage).toBeNull();
    expect((await extrasOf(id)).phoneNumberId).toBeUndefined();

    const pages = await api(`/v1/accounts/${id}/pages`, { key: ws.key });
    expect(pages.status).toBe(200);
    expect(pages.json.pages).toEqual([
      {
        id: "106540352242920",
        name: "+1 631-555-5550",
        type: "phone_number",
        verifiedName: "Jasper's Market",
        wabaId: "102290129340398",
      },
      {
        id: "106540352242921",
        name: "+1 631-555-5551",
        type: "phone_number",
        verifiedName: "Jasper's Market",
        wabaId: "102290129340398",
      },
    ]);

    const wrong = await api(`/v1/accounts/${id}/select-page`, {
      method: "POST",
      key: ws.key,
      body: { pageId: "999" },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error.code).toBe("INVALID_PAGE_ID");

    const selected = await api(`/v1/accounts/${id}/select-page`, {
      method: "POST",
      key: ws.key,
      body: { pageId: "106540352242921" },
    });
    expect(selected.status).toBe(200);
    expect(selected.json.account?.selectedPage ?? selected.json.selectedPage).toMatchObject({
      id: "106540352242921",
    });
    expect((await extrasOf(id)).phoneNumberId).toBe("106540352242921");
  });

  it("refuses a signup that shared no WhatsApp Business Account with a clear 400 and no account", async () => {
    setUp(null);
    const { res } = await signUp(owner());
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_PARAM");
    expect(res.json.error.message).toContain("shared no WhatsApp Business Account");
    const list = await api("/v1/accounts?platform=whatsapp", { key: ws.key });
    expect(list.json.data ?? list.json.accounts).toEqual([]);
  });

  it("reconnects the same WABA through Embedded Signup and unsubscribes the app on disconnect", async () => {
    setUp(business(1));
    const profile = owner();
    const first = await signUp(profile);
    const id = first.res.json.account.id;
    const again = await api(`/v1/accounts/${id}/reconnect`, {
      method: "POST",
      key: ws.key,
      body: { callbackUrl: CALLBACK },
    });
    expect(again.status).toBe(200);
    expect(new URL(again.json.authorizationUrl).searchParams.get("config_id")).toBe("whatsapp-config-id");
    const { res } = await signUp(profile, `/v1/accounts/${id}/reconnect`);
    expect(res.status).toBe(200);
    expect(res.json.account.id).toBe(id);

    const gone = await api(`/v1/accounts/${id}`, { method: "DELETE", key: ws.key });
    expect(gone.status).toBeLessThan(300);
    expect(
      fb.calls.concat(wa.calls).filter((c) => c.method === "DELETE" && c.path.endsWith("/subscribed_apps")),
    ).toHaveLength(1);
  });

  it("keeps a credentials account a phone number: no pages, no reconnect through Embedded Signup", async () => {
    setUp(null);
    whatsappFake(wa, {
      id: "106540352242922",
      displayNumber: "+1 631-555-5555",
      verifiedName: "Jasper's Market",
    });
    const token = wa.newGrant(owner()).accessToken;
    const created = await api("/v1/accounts", {
      method: "POST",
      key: ws.key,
      body: {
        platform: "whatsapp",
        platformAccountId: "106540352242922",
        credentials: { accessToken: token },
      },
    });
    expect(created.status).toBe(201);
    const id = created.json.account?.id ?? created.json.id;
    const pages = await api(`/v1/accounts/${id}/pages`, { key: ws.key });
    expect(pages.json.pages).toEqual([]);
    const select = await api(`/v1/accounts/${id}/select-page`, {
      method: "POST",
      key: ws.key,
      body: { pageId: "106540352242922" },
    });
    expect(select.status).toBe(400);
    expect(select.json.error.message).toContain("Embedded Signup");
    const reconnect = await api(`/v1/accounts/${id}/reconnect`, {
      method: "POST",
      key: ws.key,
      body: { callbackUrl: CALLBACK },
    });
    expect(reconnect.status).toBe(400);
    expect(reconnect.json.error.message).toContain("/credentials");
  });

  it("connects from a code FB.login gave a page, with the message's WABA and number checked and selected", async () => {
    setUp(business(2));
    const exchanges = recordRoute(fb, "GET /oauth/access_token");
    const code = fb.issueCode(owner(), { scopes: ES_SCOPES });
    const wrong = await api("/v1/accounts/connect/whatsapp/embedded-signup", {
      method: "POST",
      key: ws.key,
      body: { code, wabaId: "102290129340398", phoneNumberId: "999" },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.json.error.code).toBe("INVALID_PARAM");
    expect(wrong.json.error.details).toEqual([
      { field: "phoneNumberId", message: "Not a number of the shared accounts" },
    ]);
    expect((await api("/v1/accounts?platform=whatsapp", { key: ws.key })).json.data).toEqual([]);
    expect(fb.calls.filter((c) => c.path.endsWith("/subscribed_apps"))).toEqual([]);

    const fresh = fb.issueCode(owner(), { scopes: ES_SCOPES });
    const res = await api("/v1/accounts/connect/whatsapp/embedded-signup", {
      method: "POST",
      key: ws.key,
      body: { code: fresh, wabaId: "102290129340398", phoneNumberId: "106540352242921" },
    });
    expect(res.status).toBe(200);
    expect(res.json.account).toMatchObject({
      platform: "whatsapp",
      platformUserId: "102290129340398",
      username: "+1 631-555-5551",
      selectedPage: { id: "106540352242921" },
    });
    const query = exchanges.at(-1)?.url.searchParams;
    expect(query?.get("code")).toBe(fresh);
    expect(query?.has("redirect_uri")).toBe(false);

    const replay = await api("/v1/accounts/connect/whatsapp/embedded-signup", {
      method: "POST",
      key: ws.key,
      body: { code: fresh },
    });
    expect(replay.status).toBe(400);
    expect(replay.json.error.details).toEqual([{ field: "code", message: "Refused by the platform" }]);

    const malformed = await api("/v1/accounts/connect/whatsapp/embedded-signup", {
      method: "POST",
      key: ws.key,
      body: { code: "x", wabaId: "not-a-number" },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.json.error.details[0].field).toBe("wabaId");
  });

  it("is not configured without WHATSAPP_CONFIG_ID, whatever Facebook's own configuration", () => {
    const bare = { ...env, WHATSAPP_CONFIG_ID: " ", FACEBOOK_LOGIN_CONFIG_ID: "1234" } as Env;
    expect(() => platformContext(bare, "facebook", Date.now(), { loginVariant: EMBEDDED_SIGNUP })).toThrow(
      /WHATSAPP_CONFIG_ID/,
    );
    expect(platformContext(bare, "facebook", Date.now()).loginConfigId).toBe("1234");
  });
});
