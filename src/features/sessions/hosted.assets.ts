// The hosted page's only style and script, served by the Worker itself: no external asset, and a
// CSP of script-src 'self' with no inline code.

export const STYLE = `:root{color-scheme:light dark;--bg:#f5f6f8;--card:#fff;--text:#16181d;--muted:#5b6170;--line:#d9dce3;--accent:#2f5bea;--danger:#b42318;--ok:#067647}
@media (prefers-color-scheme:dark){:root{--bg:#111318;--card:#1b1e25;--text:#eef0f4;--muted:#a6abb8;--line:#343844;--accent:#7c9bff;--danger:#ff8a80;--ok:#5fd39a}}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;background:var(--bg);color:var(--text);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;display:flex;align-items:flex-start;justify-content:center;padding:1rem}
main{width:100%;max-width:28rem;margin-top:4vh;background:var(--card);border:1px solid var(--line);border-radius:14px;padding:1.5rem}
h1{font-size:1.35rem;margin:0 0 .5rem;outline:none}
.titled{display:flex;align-items:center;gap:.6rem}
p{margin:.25rem 0 1rem;color:var(--muted)}
ul{list-style:none;margin:0;padding:0;display:grid;gap:.5rem}
form{margin:0}
.choice,.button{display:flex;align-items:center;gap:.75rem;width:100%;min-height:3rem;padding:.6rem .9rem;border:1px solid var(--line);border-radius:10px;background:var(--card);color:var(--text);font:inherit;text-align:left;text-decoration:none;cursor:pointer}
.choice:hover,.button:hover{border-color:var(--accent)}
.choice:focus-visible,.button:focus-visible,input:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
a.button{justify-content:center}
.primary{background:var(--accent);border-color:var(--accent);color:#fff;justify-content:center}
.quiet{justify-content:center;color:var(--muted)}
.mark{flex:none;width:2rem;height:2rem}
.avatar{flex:none;width:2rem;height:2rem;border-radius:50%;object-fit:cover}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}
.hint{display:block;font-weight:400;font-size:.875rem;color:var(--muted)}
input{width:100%;min-height:2.75rem;padding:.5rem .75rem;border:1px solid var(--line);border-radius:8px;background:var(--card);color:var(--text);font:inherit}
.actions{display:grid;gap:.5rem;margin-top:1.25rem}
.status{width:3rem;height:3rem;margin-bottom:.75rem}
.success .status{color:var(--ok)}
.error .status{color:var(--danger)}
.detail{font-size:.875rem}
.foot{margin:1.25rem 0 0;font-size:.8rem}
.back{display:inline-block;margin-top:1rem;color:var(--accent)}
`;

export const SCRIPT = `(function () {
  "use strict";
  var heading = document.querySelector("[data-focus]");
  if (heading) heading.focus();
  var result = document.querySelector("[data-connect-result]");
  if (!result) return;
  var message;
  try { message = JSON.parse(result.getAttribute("data-message") || "null"); } catch (e) { message = null; }
  if (!message) return;
  var origin = result.getAttribute("data-target-origin");
  var next = result.getAttribute("data-return-url");
  var popup = false;
  try { popup = Boolean(window.opener) && window.opener !== window; } catch (e) { popup = false; }
  var note = document.querySelector("[data-note]");
  if (popup && origin) {
    // Only the declared origin receives the result; any other opener gets nothing.
    window.opener.postMessage(message, origin);
    if (message.status === "success") {
      if (note) note.textContent = note.getAttribute("data-closing");
      setTimeout(function () { window.close(); }, 800);
    }
    return;
  }
  if (next && message.status === "success") {
    if (note) note.textContent = note.getAttribute("data-redirecting");
    setTimeout(function () { window.location.assign(next); }, 1200);
  }
})();
`;
