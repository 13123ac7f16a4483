// The HTTP client: JSON in, JSON out, and every failure as an ApiError built from the
// server's problem+json body, or a NetworkError when no answer came back.

const GENERIC_DETAIL = {
  401: "Please log in again.",
  429: "Too many attempts. Please wait a moment.",
  503: "The service is temporarily unavailable. Please retry shortly.",
};

export class ApiError extends Error {
  constructor(status, problem, retryAfterSeconds) {
    super(problem.detail || GENERIC_DETAIL[status] || `The request failed (HTTP ${status}).`);
    this.name = "ApiError";
    this.status = status;
    this.code = typeof problem.code === "string" ? problem.code : "";
    // [{field, message}] for 422s: the page shows each next to its field.
    this.fieldErrors = Array.isArray(problem.errors) ? problem.errors : [];
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export class NetworkError extends Error {
  constructor() {
    super("The service could not be reached. Check your connection and try again.");
    this.name = "NetworkError";
  }
}

/** Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), or null. */
export function retryAfterSeconds(header) {
  if (!header) return null;
  if (/^\d+$/.test(header.trim())) return Math.max(1, Number(header));
  const date = Date.parse(header);
  if (Number.isNaN(date)) return null;
  return Math.max(1, Math.ceil((date - Date.now()) / 1000));
}

async function readProblem(response) {
  try {
    const body = await response.json();
    return body && typeof body === "object" ? body : {};
  } catch {
    return {}; // not JSON: a proxy's error page, say
  }
}

/**
 * One API call. `token` adds the bearer header; `headers` adds others. Cookies go along
 * only to this origin, which is where the refresh cookie lives.
 */
export async function request(path, { method = "GET", body, token, headers = {} } = {}) {
  const init = {
    method,
    headers: { Accept: "application/json, application/problem+json", ...headers },
    credentials: "same-origin",
    cache: "no-store",
  };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (token) init.headers.Authorization = `Bearer ${token}`;

  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new NetworkError();
  }
  if (response.ok) {
    return response.status === 204 ? null : response.json();
  }
  const wait = retryAfterSeconds(response.headers.get("Retry-After"));
  throw new ApiError(response.status, await readProblem(response), wait);
}
