import { html, raw } from "hono/html";

/** Headers for every sandbox page: never cached, never framed, nothing loaded from elsewhere. */
export const PAGE_HEADERS = {
  "cache-control": "no-store",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "content-security-policy":
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'",
};

const STYLE = `
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:grid;place-items:center;background:#f4f5f7;color:#1c1e21;
font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{width:min(28rem,calc(100vw - 2rem));background:#fff;border-radius:12px;padding:1.75rem;
box-shadow:0 1px 3px rgba(0,0,0,.08),0 8px 24px rgba(0,0,0,.06)}
.badge{display:inline-block;font-size:.75rem;font-weight:600;letter-spacing:.04em;text-transform:uppercase;
color:#8a5300;background:#fff4e0;border:1px solid #f3d19c;border-radius:999px;padding:.1rem .6rem}
h1{font-size:1.35rem;margin:.75rem 0 .25rem}
p{margin:.5rem 0;color:#4b4f56}
ul{margin:.5rem 0 1.25rem;padding-left:1.2rem}
code{font:.85rem/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;background:#f0f1f3;border-radius:4px;padding:.05rem .3rem;word-break:break-all}
label{display:block;font-weight:600;margin-top:1rem}
input[type=text]{width:100%;margin-top:.35rem;padding:.6rem .7rem;font:inherit;border:1px solid #c9ccd1;border-radius:8px}
.hint{font-size:.85rem;color:#6b7078;margin-top:.3rem}
.error{color:#b3261e;background:#fdecea;border-radius:8px;padding:.5rem .75rem}
.actions{display:flex;flex-direction:row-reverse;gap:.75rem;margin-top:1.5rem}
button{flex:1;font:inherit;font-weight:600;padding:.65rem;border-radius:8px;cursor:pointer;border:1px solid #c9ccd1;background:#fff;color:#1c1e21}
button.approve{background:#1a73e8;border-color:#1a73e8;color:#fff}
`;

function layout(title: string, body: unknown) {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="robots" content="noindex">
<title>${title}</title>
<style>${raw(STYLE)}</style>
</head>
<body><main>${body}</main></body>
</html>`;
}

export interface ConsentView {
  platformName: string;
  clientId: string;
  scopes: readonly string[];
  /** The signed consent request, posted back with the decision. */
  request: string;
  username: string;
  usernameHint: string;
  error?: string;
}

/** The sandbox's consent screen; every value is escaped by the html template. Approve comes first so Enter approves. */
export function consentPage(view: ConsentView) {
  const scopes = view.scopes.length
    ? html`<ul>${view.scopes.map((scope) => html`<li><code>${scope}</code></li>`)}</ul>`
    : html`<p>No particular permissions.</p>`;
  return layout(
    `Sign in to ${view.platformName} (sandbox)`,
    html`<span class="badge">Sandbox</span>
<h1>Sign in to ${view.platformName}</h1>
<p>This is Switchboard's built-in sandbox: no real ${view.platformName} account is involved.</p>
<p><strong>Switchboard</strong> (client <code>${view.clientId}</code>) asks to:</p>
${scopes}
<form method="post" action="authorize">
<input type="hidden" name="request" value="${view.request}">
${view.error ? html`<p class="error" role="alert">${view.error}</p>` : ""}
<label for="username">Sign in as</label>
<input type="text" id="username" name="username" value="${view.username}" maxlength="253" required autocomplete="off" spellcheck="false">
<p class="hint">${view.usernameHint}</p>
<div class="actions">
<button type="submit" name="decision" value="approve" class="approve">Approve</button>
<button type="submit" name="decision" value="deny" formnovalidate>Deny</button>
</div>
</form>`,
  );
}

/** A dead end shown instead of redirecting (unknown client, unregistered redirect_uri, stale request). */
export function errorPage(title: string, message: string) {
  return layout(
    `${title} (sandbox)`,
    html`<span class="badge">Sandbox</span>
<h1>${title}</h1>
<p>${message}</p>`,
  );
}

const PALETTE = ["#1a73e8", "#d93025", "#188038", "#e37400", "#9334e6", "#007b83", "#c5221f", "#5f6368"];

/** A plain generated avatar: a coloured disc with the platform's initial. */
export function avatarSvg(seed: string, initial: string): string {
  let hash = 2166136261;
  for (const ch of seed) hash = Math.imul(hash ^ ch.charCodeAt(0), 16777619);
  const colour = PALETTE[Math.abs(hash) % PALETTE.length];
  const letter = /^[A-Za-z0-9]$/.test(initial) ? initial : "S";
  return `<svg xmlns="http://www.w3.org/2000/svg" width="128" height="128" viewBox="0 0 128 128"><circle cx="64" cy="64" r="64" fill="${colour}"/><text x="64" y="84" font-family="system-ui,sans-serif" font-size="56" font-weight="600" fill="#fff" text-anchor="middle">${letter}</text></svg>`;
}
