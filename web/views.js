// What the page shows. Everything that came from the server is set with textContent (or
// as an attribute value), never parsed as HTML: a display name is text, whatever it holds.

const VIEWS = [
  "loading-view",
  "login-view",
  "register-view",
  "forgot-view",
  "reset-view",
  "profile-view",
];
const byId = (id) => document.getElementById(id);

/** Shows one view; `focusOn` (an element id) receives focus, for keyboard and reader users. */
export function showView(id, focusOn = null) {
  for (const view of VIEWS) byId(view).hidden = view !== id;
  if (focusOn) byId(focusOn).focus();
}

export function notice(message, kind = "info") {
  const slot = byId("notice");
  slot.textContent = message;
  slot.dataset.kind = kind;
  slot.hidden = !message;
}

export function showAlert(id, message) {
  const slot = byId(id);
  slot.textContent = message;
  slot.hidden = !message;
}

function formatDate(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return new Intl.DateTimeFormat(undefined, { dateStyle: "long" }).format(date);
}

const RELATIVE_UNITS = [
  ["day", 86400],
  ["hour", 3600],
  ["minute", 60],
];

function formatAgo(iso) {
  const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
  if (Number.isNaN(seconds)) return "at an unknown time";
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  for (const [unit, size] of RELATIVE_UNITS) {
    if (Math.abs(seconds) >= size) return format.format(Math.round(seconds / size), unit);
  }
  return "just now";
}

export function renderProfile(user) {
  byId("profile-name").textContent = user.display_name;
  byId("profile-email").textContent = user.email;
  byId("profile-id").textContent = user.id;
  const created = byId("profile-created");
  created.dateTime = user.created_at;
  created.textContent = formatDate(user.created_at);
}

export function clearProfile() {
  for (const id of ["profile-name", "profile-email", "profile-id", "profile-created"]) {
    byId(id).textContent = "";
  }
  showAlert("profile-error", "");
  hideSessions();
}

const BROWSERS = [
  ["Edg/", "Edge"],
  ["OPR/", "Opera"],
  ["Firefox/", "Firefox"],
  ["Chrome/", "Chrome"],
  ["Safari/", "Safari"],
];
const SYSTEMS = [
  ["Android", "Android"],
  ["iPhone", "iPhone"],
  ["iPad", "iPad"],
  ["Windows", "Windows"],
  ["Mac OS X", "macOS"],
  ["CrOS", "ChromeOS"],
  ["Linux", "Linux"],
];

/** "Firefox on Windows" from a User-Agent header: a hint for people, not a fingerprint. */
export function describeDevice(userAgent) {
  const ua = userAgent || "";
  const browser = BROWSERS.find(([marker]) => ua.includes(marker))?.[1];
  const system = SYSTEMS.find(([marker]) => ua.includes(marker))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  return browser || system || "Unknown device";
}

function sessionItem(session) {
  const item = document.createElement("li");
  item.className = "session";
  const title = document.createElement("p");
  title.className = "session-device";
  title.textContent = describeDevice(session.user_agent);
  if (session.user_agent) title.title = session.user_agent;
  if (session.current) {
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = "This device";
    title.append(" ", badge);
  }
  const meta = document.createElement("p");
  meta.className = "session-meta";
  const lastUsed = session.last_used_at || session.created_at;
  meta.textContent = `Signed in ${formatAgo(session.created_at)} · active ${formatAgo(lastUsed)}`;
  item.append(title, meta);
  return item;
}

export function renderSessions(sessions) {
  byId("sessions-list").replaceChildren(...sessions.map(sessionItem));
  const others = sessions.filter((session) => !session.current).length;
  byId("logout-others").hidden = others === 0;
  byId("sessions-alone").hidden = others > 0;
  byId("sessions-card").hidden = false;
}

export function hideSessions() {
  byId("sessions-card").hidden = true;
  byId("sessions-list").replaceChildren();
  showAlert("sessions-error", "");
}
