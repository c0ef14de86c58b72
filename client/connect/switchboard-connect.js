// Switchboard Hosted Connect for the browser: opens a connect session's page as a popup and reports
// its result. A dependency-free ES module; copy it into your app or serve it with your bundle.

const MESSAGE_TYPE = "switchboard:connect";
const POLL_MS = 500;

/**
 * Opens the hosted connect page of a session (`url`, from POST /v1/connect/sessions) as a popup.
 * Resolves with `{ accountId, endUserId, sessionId, platform }` once an account is connected, or
 * with null when the person closes the window first. When the browser blocks the popup, the page
 * opens in this window instead (the session's returnUrl then brings the person back) and the
 * promise never settles.
 */
export function openConnect({ url, onSuccess, onError, onClose, width = 480, height = 720 } = {}) {
  if (typeof url !== "string" || !url) throw new TypeError("openConnect needs the session's url");
  const origin = new URL(url, window.location.href).origin;
  const left = Math.max(0, Math.round(window.screenX + (window.outerWidth - width) / 2));
  const top = Math.max(0, Math.round(window.screenY + (window.outerHeight - height) / 2));
  const popup = window.open(
    url,
    "switchboard-connect",
    `popup,width=${width},height=${height},left=${left},top=${top}`,
  );
  if (!popup) {
    window.location.assign(url);
    return new Promise(() => {});
  }
  return new Promise((resolve) => {
    let settled = false;
    const finish = (value) => {
      settled = true;
      window.removeEventListener("message", onMessage);
      clearInterval(timer);
      resolve(value);
    };
    function onMessage(event) {
      // Only the connect page itself, in the popup this call opened, is listened to.
      if (event.origin !== origin || event.source !== popup) return;
      const data = event.data;
      if (!data || typeof data !== "object" || data.type !== MESSAGE_TYPE) return;
      if (data.status === "success") {
        const result = {
          accountId: data.accountId,
          endUserId: data.endUserId,
          sessionId: data.sessionId,
          platform: data.platform ?? null,
        };
        if (onSuccess) onSuccess(result);
        finish(result);
        return;
      }
      // The page stays open on an error so the person can try again.
      if (onError) onError({ code: data.error, message: data.message, sessionId: data.sessionId });
    }
    window.addEventListener("message", onMessage);
    const timer = setInterval(() => {
      if (!popup.closed || settled) return;
      if (onClose) onClose();
      finish(null);
    }, POLL_MS);
  });
}
