// The account lifecycle on the page: the links from mails (verify, reset, confirm a new
// address), "forgot password", the verification badge, changing the password or the
// address, downloading one's data, and deleting the account.

import { ApiError, request } from "./api.js";
import { clearErrors, showFieldError, showProblem, whilePending } from "./forms.js";
import { emailProblem, requiredPasswordProblem } from "./rules.js";
import * as session from "./session.js";
import { notice, showAlert, showView } from "./views.js";

const byId = (id) => document.getElementById(id);
// The routes the mails link to: /#/<route>?token=...
const LINK = /^#\/(verify-email|reset-password|confirm-email)\?token=([^&]+)$/;
const DELETE_WORD = "DELETE";
let resetToken = null;
let currentUser = null;
let hooks = { showLogin: () => {}, enterProfile: async () => {} };

/** The token of a mail's link, read once and then removed from the address bar and
 * the history, so it is not left behind for the next person at this browser. */
function takeLink() {
  const found = LINK.exec(window.location.hash);
  if (!found) return null;
  history.replaceState(null, "", window.location.pathname + window.location.search);
  return { route: found[1], token: decodeURIComponent(found[2]) };
}

/** Handles a mail's link on page load; true when it decided what the page shows. */
export async function handleLink() {
  const link = takeLink();
  if (!link) return false;
  if (link.route === "reset-password") {
    resetToken = link.token;
    showView("reset-view", "reset-title");
    return true;
  }
  const path = link.route === "verify-email" ? "/auth/email/verify" : "/auth/email/change/confirm";
  try {
    await request(path, { method: "POST", body: { token: link.token } });
    notice(
      link.route === "verify-email"
        ? "Your email address is verified."
        : "Your new email address is confirmed. Use it to log in from now on.",
    );
  } catch (error) {
    notice(error.message, "warning");
  }
  return false; // the page goes on to the profile or the login form
}

export function renderAccount(user) {
  currentUser = user;
  const badge = byId("verified-badge");
  badge.hidden = false;
  badge.dataset.verified = String(Boolean(user.email_verified));
  badge.textContent = user.email_verified ? "Verified" : "Not verified";
  byId("resend-verification").hidden = Boolean(user.email_verified);
}

async function onForgot(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const email = form.elements.email.value.trim();
  const problem = emailProblem(email);
  if (problem) {
    showFieldError(form, "email", problem);
    return;
  }
  await whilePending(form, async () => {
    try {
      const answer = await request("/auth/password/forgot", { method: "POST", body: { email } });
      hooks.showLogin(answer.detail);
    } catch (error) {
      showProblem(form, error);
    }
  });
}

async function onReset(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const password = form.elements.new_password.value;
  const problem = requiredPasswordProblem(password);
  if (problem) {
    showFieldError(form, "new_password", problem);
    return;
  }
  await whilePending(form, async () => {
    try {
      const body = { token: resetToken, new_password: password };
      await request("/auth/password/reset", { method: "POST", body });
      resetToken = null;
      form.reset();
      hooks.showLogin("Your password was reset. Log in with the new one.");
    } catch (error) {
      showProblem(form, error);
    }
  });
}

async function onResend(event) {
  const button = event.currentTarget;
  showAlert("profile-error", "");
  try {
    await session.authed("/auth/email/verify/resend", { method: "POST" });
    notice("A new link is on its way to your inbox.");
  } catch (error) {
    showAlert("profile-error", error.message);
  }
  button.blur();
}

async function onChangePassword(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const { current_password: current, new_password: next } = form.elements;
  const body = { current_password: current.value, new_password: next.value };
  await whilePending(form, async () => {
    try {
      await session.authed("/auth/password/change", { method: "POST", body });
      form.reset();
      notice("Your password was changed. Your other sessions were signed out.");
    } catch (error) {
      placeProblem(form, error, "current_password");
    }
  });
}

async function onChangeEmail(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  const body = { new_email: form.elements.new_email.value.trim(), password: form.elements.password.value };
  await whilePending(form, async () => {
    try {
      await session.authed("/auth/email/change", { method: "POST", body });
      form.reset();
      notice(`We sent a link to ${body.new_email}. Open it to confirm the change.`);
    } catch (error) {
      if (error instanceof ApiError && error.code === "EMAIL_ALREADY_REGISTERED") {
        showFieldError(form, "new_email", error.message);
        return;
      }
      placeProblem(form, error, "password");
    }
  });
}

/** A wrong password belongs next to the password field; the rest where showProblem puts it. */
function placeProblem(form, error, passwordField) {
  if (error instanceof ApiError && error.code === "INVALID_CREDENTIALS") {
    showFieldError(form, passwordField, error.message);
    return;
  }
  showProblem(form, error);
}

async function onExport(event) {
  const button = event.currentTarget;
  showAlert("export-error", "");
  await whilePending(button.closest(".card"), async () => {
    try {
      const data = await session.authed("/auth/me/export");
      const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
      const url = URL.createObjectURL(blob);
      const anchor = document.createElement("a");
      anchor.href = url;
      anchor.download = `quizauth-export-${currentUser?.id ?? "account"}.json`;
      anchor.click();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
    } catch (error) {
      showAlert("export-error", error.message);
    }
  }, button);
}

async function onDelete(event) {
  event.preventDefault();
  const form = event.currentTarget;
  clearErrors(form);
  if (form.elements.confirmation.value.trim() !== DELETE_WORD) {
    showFieldError(form, "confirmation", `Type ${DELETE_WORD} to confirm.`);
    return;
  }
  const body = { password: form.elements.password.value };
  await whilePending(form, async () => {
    try {
      await session.authed("/auth/me", { method: "DELETE", body });
      form.reset();
      session.clear();
      hooks.showLogin("Your account was deleted.");
    } catch (error) {
      placeProblem(form, error, "password");
    }
  });
}

export function wireAccount({ showLogin, enterProfile }) {
  hooks = { showLogin, enterProfile };
  byId("show-forgot").addEventListener("click", () => {
    const typed = byId("login-email").value;
    if (typed) byId("forgot-email").value = typed;
    notice("");
    showView("forgot-view", "forgot-title");
  });
  byId("forgot-back").addEventListener("click", () => showView("login-view", "login-title"));
  byId("forgot-form").addEventListener("submit", onForgot);
  byId("reset-form").addEventListener("submit", onReset);
  byId("resend-verification").addEventListener("click", onResend);
  byId("password-form").addEventListener("submit", onChangePassword);
  byId("email-form").addEventListener("submit", onChangeEmail);
  byId("export-data").addEventListener("click", onExport);
  byId("delete-form").addEventListener("submit", onDelete);
  window.addEventListener("hashchange", async () => {
    if (await handleLink()) return;
    if (session.isSignedIn()) await enterProfile();
  });
}


