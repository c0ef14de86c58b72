/** What a successful connection reports. */
export interface ConnectResult {
  accountId: string;
  endUserId: string;
  sessionId: string;
  platform: string | null;
}

/** A failed attempt; the page stays open, so the person may still retry and succeed. */
export interface ConnectError {
  /** ACCESS_DENIED, SESSION_EXPIRED, SESSION_USED, PROVIDER_ERROR, PLAN_LIMIT_EXCEEDED… */
  code: string;
  message: string;
  sessionId: string;
}

export interface OpenConnectOptions {
  /** The session's url, as POST /v1/connect/sessions answered it. */
  url: string;
  onSuccess?: (result: ConnectResult) => void;
  onError?: (error: ConnectError) => void;
  /** The person closed the window before an account was connected. */
  onClose?: () => void;
  width?: number;
  height?: number;
}

/**
 * Opens the hosted connect page as a popup. Resolves with the result, or null when the window was
 * closed first; falls back to opening the page in this window when popups are blocked (the promise
 * then never settles, and the session's returnUrl brings the person back).
 */
export function openConnect(options: OpenConnectOptions): Promise<ConnectResult | null>;
