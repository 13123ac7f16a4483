// The token manager. The access token lives in this module's variables only: never in
// web storage or a script-readable cookie, so an injected script cannot carry it off a
// reload later. The refresh token is an HttpOnly cookie that only /auth/refresh receives.

import { ApiError, NetworkError, request } from "./api.js";

// Refresh this long before expiry, or at 80% of a short lifetime.
const REFRESH_LEAD_SECONDS = 60;
const RETRY_AFTER_NETWORK_ERROR_SECONDS = 15;
// The header the API demands on the cookie path: a cross-site form cannot send it.
const CSRF_HEADER = { "X-Requested-With": "quizauth-web" };

let accessToken = null;
let expiresAt = 0; // ms since epoch
let refreshAt = 0;
let canRefresh = false; // true once the API has set a refresh cookie
let refreshTimer = 0;
let refreshing = null; // the refresh in flight, shared by every caller
let onEnded = () => {};

/** Called with a message when the session ends without the user logging out. */
export function whenSessionEnds(callback) {
  onEnded = callback;
}

export function isSignedIn() {
  return accessToken !== null;
}

function adopt(tokens) {
  accessToken = tokens.access_token;
  canRefresh = Number.isFinite(tokens.refresh_expires_in);
  const lifetime = Math.max(1, Number(tokens.expires_in) || 0);
  const lead = Math.min(REFRESH_LEAD_SECONDS, lifetime * 0.2);
  expiresAt = Date.now() + lifetime * 1000;
  refreshAt = Date.now() + (lifetime - lead) * 1000;
  schedule(refreshAt - Date.now());
}

function schedule(delayMs) {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(canRefresh ? silentRefresh : expire, Math.max(0, delayMs));
}

/** Forget everything held in memory. The cookie is the server's to clear. */
export function clear() {
  clearTimeout(refreshTimer);
  accessToken = null;
  expiresAt = refreshAt = 0;
  canRefresh = false;
}

function expire() {
  if (!isSignedIn()) return;
  clear();
  onEnded("Your session has ended. Please log in again.");
}

function refresh() {
  refreshing ??= request("/auth/refresh", { method: "POST", headers: CSRF_HEADER })
    .then(adopt)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

async function silentRefresh() {
  try {
    await refresh();
  } catch (error) {
    // A dropped connection is not a lost session: try again while the token still works.
    const retryAt = Date.now() + RETRY_AFTER_NETWORK_ERROR_SECONDS * 1000;
    if (error instanceof NetworkError && retryAt < expiresAt) {
      schedule(retryAt - Date.now());
      return;
    }
    expire();
  }
}

/** On page load: a session from the refresh cookie, if it is still valid. */
export async function restore() {
  try {
    await refresh();
    return true;
  } catch (error) {
    if (error instanceof ApiError) return false;
    throw error;
  }
}

export async function logIn(email, password) {
  // The header asks for the refresh token as an HttpOnly cookie instead of in the body.
  const tokens = await request("/auth/login", {
    method: "POST",
    body: { email, password },
    headers: { "X-Refresh-Cookie": "1" },
  });
  adopt(tokens);
}

/** An authenticated call; one refresh and retry when the token was rejected. */
export async function authed(path, options = {}) {
  if (!isSignedIn()) throw new ApiError(401, {}, null);
  try {
    return await request(path, { ...options, token: accessToken });
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 401 && canRefresh)) throw error;
    try {
      await refresh();
    } catch (refreshError) {
      if (refreshError instanceof ApiError) expire();
      throw refreshError;
    }
    return request(path, { ...options, token: accessToken });
  }
}

export async function logOut() {
  const send = () => request("/auth/logout", { method: "POST", token: accessToken });
  try {
    await send();
  } catch (error) {
    // Anything but 401 is reported and the page stays signed in: the cookie could still
    // restore the session. A 401 means an expired token: renew it so the logout also
    // ends the cookie's session; if that fails too, the server holds no session.
    if (!(error instanceof ApiError && error.status === 401)) throw error;
    if (canRefresh && (await restore())) await send();
  }
  clear();
}

// Timers are throttled in background tabs: catch up as soon as the tab is seen again.
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible" && isSignedIn() && Date.now() >= refreshAt) {
    schedule(0);
  }
});
