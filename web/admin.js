// The admin view: the users table, for a signed-in user whose token carries the admin
// role. Search by email prefix, page with the API's cursor, edit roles, and disable or
// enable an account after a confirmation. The server decides on every call (it checks
// the role against its store each time); a 403 hides the view.

import { ApiError } from "./api.js";
import * as session from "./session.js";

const PAGE_SIZE = 20;
const byId = (id) => document.getElementById(id);

const state = {
  roles: [], // the grantable roles: every known role but `user`, which everyone has
  cursors: [null], // the cursor of each page seen so far; the last is the current page
  nextCursor: null,
  query: { email_prefix: "", disabled: "" },
};

let confirmResolve = null;

/** Shows the view when `user` (from /auth/me) is an admin; hides it otherwise. */
export async function showAdmin(user) {
  if (!user.roles?.includes("admin")) {
    hideAdmin();
    return;
  }
  try {
    const roles = await session.authed("/admin/roles");
    state.roles = roles.map((role) => role.name).filter((name) => name !== "user");
    byId("admin-card").hidden = false;
    document.querySelector("main").classList.add("wide");
    await search();
  } catch (error) {
    handleFailure(error);
  }
}

export function hideAdmin() {
  byId("admin-card").hidden = true;
  document.querySelector("main").classList.remove("wide");
  byId("admin-users").querySelector("tbody").replaceChildren();
  showError("");
  state.cursors = [null];
  state.nextCursor = null;
}

function showError(message) {
  const slot = byId("admin-error");
  slot.textContent = message;
  slot.hidden = !message;
}

function announce(message) {
  byId("admin-status").textContent = message;
}

function handleFailure(error) {
  if (error instanceof ApiError && (error.status === 403 || error.status === 401)) {
    hideAdmin(); // no longer an admin, or signed out: the view goes
    return;
  }
  showError(error.message);
}

async function search() {
  state.cursors = [null];
  await loadPage();
}

async function loadPage() {
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  const { email_prefix: prefix, disabled } = state.query;
  if (prefix) params.set("email_prefix", prefix);
  if (disabled) params.set("disabled", disabled);
  const cursor = state.cursors.at(-1);
  if (cursor) params.set("cursor", cursor);
  showError("");
  const page = await session.authed(`/admin/users?${params}`);
  state.nextCursor = page.next_cursor;
  renderUsers(page.users);
}

function renderUsers(users) {
  byId("admin-users").querySelector("tbody").replaceChildren(...users.map(userRow));
  byId("admin-empty").hidden = users.length > 0;
  const number = state.cursors.length;
  byId("admin-page").textContent = `Page ${number}`;
  byId("admin-prev").disabled = number === 1;
  byId("admin-next").disabled = state.nextCursor === null;
}

function cell(...children) {
  const td = document.createElement("td");
  td.append(...children);
  return td;
}

function text(tag, content, className = "") {
  const element = document.createElement(tag);
  element.textContent = content;
  if (className) element.className = className;
  return element;
}

function userRow(user) {
  const row = document.createElement("tr");
  row.dataset.userId = user.id;
  row.dataset.email = user.email;
  const who = cell(text("span", user.display_name, "admin-name"), text("span", user.email, "muted"));
  who.className = "admin-user";
  row.append(who, rolesCell(user), statusCell(user), actionsCell(user));
  return row;
}

function rolesCell(user) {
  const fieldset = document.createElement("fieldset");
  fieldset.className = "admin-roles";
  fieldset.append(text("legend", `Roles of ${user.email}`, "visually-hidden"));
  for (const role of state.roles) {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.name = "role";
    box.value = role;
    box.checked = user.roles.includes(role);
    box.defaultChecked = box.checked;
    label.append(box, ` ${role}`);
    fieldset.append(label);
  }
  const save = text("button", "Save roles", "secondary admin-save");
  save.type = "button";
  save.disabled = true;
  fieldset.addEventListener("change", () => {
    const boxes = [...fieldset.querySelectorAll("input")];
    save.disabled = boxes.every((box) => box.checked === box.defaultChecked);
  });
  save.addEventListener("click", () => saveRoles(user, fieldset, save));
  fieldset.append(save);
  return cell(fieldset);
}

function statusCell(user) {
  const status = text("span", user.disabled ? "Disabled" : "Active", "status");
  status.dataset.state = user.disabled ? "disabled" : "active";
  if (user.disabled && user.disabled_reason) status.title = user.disabled_reason;
  return cell(status);
}

function actionsCell(user) {
  const button = text("button", user.disabled ? "Enable" : "Disable", "secondary");
  button.type = "button";
  button.classList.add(user.disabled ? "admin-enable" : "admin-disable");
  button.setAttribute("aria-label", `${button.textContent} ${user.email}`);
  button.addEventListener("click", () => (user.disabled ? enable(user) : disable(user)));
  return cell(button);
}

async function saveRoles(user, fieldset, button) {
  const roles = [...fieldset.querySelectorAll("input:checked")].map((box) => box.value);
  button.disabled = true;
  try {
    await session.authed(`/admin/users/${encodeURIComponent(user.id)}/roles`, {
      method: "PUT",
      body: { roles },
    });
    announce(`Roles of ${user.email} saved.`);
    await afterChange();
  } catch (error) {
    button.disabled = false;
    handleFailure(error);
  }
}

async function disable(user) {
  const reason = await confirmAction({
    title: `Disable ${user.email}?`,
    text: "Every session of this account ends and every token stops working at once.",
    action: "Disable",
    askReason: true,
  });
  if (reason === null) return;
  await change(user, "disable", { reason }, `${user.email} is disabled.`);
}

async function enable(user) {
  const confirmed = await confirmAction({
    title: `Enable ${user.email}?`,
    text: "The account may log in again. Its ended sessions stay ended.",
    action: "Enable",
    askReason: false,
  });
  if (confirmed === null) return;
  await change(user, "enable", undefined, `${user.email} is enabled.`);
}

async function change(user, action, body, message) {
  try {
    await session.authed(`/admin/users/${encodeURIComponent(user.id)}/${action}`, {
      method: "POST",
      body,
    });
    announce(message);
    await afterChange();
  } catch (error) {
    handleFailure(error);
  }
}

async function afterChange() {
  // A change to the admin's own account ended their token: this call renews it, and a
  // 403 then (no longer an admin) hides the view.
  try {
    await loadPage();
  } catch (error) {
    handleFailure(error);
  }
}

/** The confirmation dialog: resolves with the reason (or "" without one), or null. */
function confirmAction({ title, text: body, action, askReason }) {
  const dialog = byId("admin-confirm");
  const form = byId("admin-confirm-form");
  form.reset();
  byId("admin-confirm-title").textContent = title;
  byId("admin-confirm-text").textContent = body;
  byId("admin-reason-field").hidden = !askReason;
  byId("admin-reason").required = askReason;
  byId("admin-reason-error").hidden = true;
  byId("admin-reason").removeAttribute("aria-invalid");
  byId("admin-confirm-button").textContent = action;
  dialog.showModal();
  (askReason ? byId("admin-reason") : byId("admin-confirm-button")).focus();
  return new Promise((resolve) => {
    confirmResolve = resolve;
  });
}

function settle(value) {
  const resolve = confirmResolve;
  confirmResolve = null;
  byId("admin-confirm").close();
  resolve?.(value);
}

function onConfirm(event) {
  event.preventDefault();
  const reasonField = byId("admin-reason");
  if (!byId("admin-reason-field").hidden) {
    const reason = reasonField.value.trim();
    if (!reason) {
      const slot = byId("admin-reason-error");
      slot.textContent = "Say why, for the audit trail and the user's support.";
      slot.hidden = false;
      reasonField.setAttribute("aria-invalid", "true");
      reasonField.focus();
      return;
    }
    settle(reason);
    return;
  }
  settle("");
}

async function onSearch(event) {
  event.preventDefault();
  const form = event.currentTarget;
  state.query = {
    email_prefix: form.elements.email_prefix.value.trim(),
    disabled: form.elements.disabled.value,
  };
  try {
    await search();
  } catch (error) {
    handleFailure(error);
  }
}

async function turnPage(step) {
  if (step > 0 && state.nextCursor) state.cursors.push(state.nextCursor);
  if (step < 0 && state.cursors.length > 1) state.cursors.pop();
  try {
    await loadPage();
  } catch (error) {
    handleFailure(error);
  }
}

export function wireAdmin() {
  byId("admin-search").addEventListener("submit", onSearch);
  byId("admin-prev").addEventListener("click", () => turnPage(-1));
  byId("admin-next").addEventListener("click", () => turnPage(1));
  byId("admin-confirm-form").addEventListener("submit", onConfirm);
  byId("admin-reason").addEventListener("input", () => {
    byId("admin-reason-error").hidden = true;
    byId("admin-reason").removeAttribute("aria-invalid");
  });
  byId("admin-cancel").addEventListener("click", () => settle(null));
  byId("admin-confirm").addEventListener("cancel", (event) => {
    event.preventDefault(); // Escape: the same as Cancel
    settle(null);
  });
}
