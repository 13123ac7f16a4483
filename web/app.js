// The page: wires the forms and views to the API client and the token manager.

import { handleLink, renderAccount, wireAccount } from "./account.js";
import { hideAdmin, showAdmin, wireAdmin } from "./admin.js";
import { ApiError, NetworkError, request } from "./api.js";
import {
  clearErrors,
  clearFieldError,
  focusFirstProblem,
  maskPasswords,
  showFieldError,
  showProblem,
  whilePending,
  wireRevealButtons,
} from "./forms.js";
import {
  displayNameProblem,
  emailProblem,
  loadPasswordPolicy,
  passwordChecks,
  passwordProblems,
  passwordStrength,
  requiredPasswordProblem,
} from "./rules.js";
import * as session from "./session.js";
import {
  clearProfile,
  hideSessions,
  notice,
  renderProfile,
  renderSessions,
  showAlert,
  showView,
} from "./views.js";

const byId = (id) => document.getElementById(id);
const loginForm = byId("login-form");
const registerForm = byId("register-form");
const DEFAULT_STRENGTH_HINT = byId("register-password-strength").textContent;

// Each form's rules, field by field: a message when the value breaks one, else null.
const RULES = {
  "login-form": {
    email: (form) => emailProblem(form.elements.email.value),
    password: (form) => requiredPasswordProblem(form.elements.password.value),
  },
  "register-form": {
    email: (form) => emailProblem(form.elements.email.value),
    display_name: (form) => displayNameProblem(form.elements.display_name.value),
    password: (form) => {
      const { password, email } = form.elements;
      return passwordProblems(password.value, email.value).join(" ") || null;
    },
  },
};

function checkField(form, field) {
  const message = RULES[form.id][field]?.(form) ?? null;
  if (message) showFieldError(form, field, message);
  else clearFieldError(form, field);
  return message === null;
}

/** Checks every field, shows each problem in place; true when all pass. */
function checkForm(form) {
  clearErrors(form);
  const results = Object.keys(RULES[form.id]).map((field) => checkField(form, field));
  if (results.every(Boolean)) return true;
  focusFirstProblem(form);
  return false;
}

function wireInlineValidation(form) {
  // A message appearing as the field loses focus to a pressed button would move the
  // button away before the press ends and swallow the click; the submit checks anyway.
  let pressingButton = false;
  form.addEventListener("pointerdown", (event) => {
    pressingButton = event.target.closest("button") !== null;
  });
  document.addEventListener("pointerup", () => setTimeout(() => (pressingButton = false)));

  // Judge a field when the user leaves it; once it shows an error, re-judge as they type.
  form.addEventListener("focusout", (event) => {
    const { name, value } = event.target;
    if (!pressingButton && name in RULES[form.id] && value !== "") checkField(form, name);
  });
  form.addEventListener("input", (event) => {
    const { name } = event.target;
    if (event.target.getAttribute("aria-invalid") === "true") checkField(form, name);
  });
}

function updatePasswordHint() {
  const { password, email } = registerForm.elements;
  const checks = passwordChecks(password.value, email.value);
  for (const rule of byId("register-password-rules").children) {
    const state = checks[rule.dataset.rule];
    const met = password.value !== "" && state === true;
    rule.classList.toggle("met", met);
    rule.querySelector(".rule-state").textContent =
      state === null ? "Checked when you submit:" : met ? "Met:" : "Not met yet:";
  }
  const { level, label } = passwordStrength(password.value, email.value);
  registerForm.querySelector(".meter").dataset.level = String(level);
  byId("register-password-strength").textContent = label
    ? `Strength: ${label}.`
    : DEFAULT_STRENGTH_HINT;
}

function resetForms() {
  for (const form of [loginForm, registerForm]) {
    form.reset();
    clearErrors(form);
    maskPasswords(form);
  }
  updatePasswordHint();
}

async function enterProfile() {
  const user = await session.authed("/auth/me");
  renderProfile(user);
  renderAccount(user);
  resetForms(); // no password stays in the page once signed in
  showView("profile-view", "profile-title");
  loadSessions();
  showAdmin(user);
}

async function loadSessions() {
  try {
    renderSessions(await session.authed("/auth/sessions"));
  } catch {
    hideSessions(); // an API without sessions, or a passing failure: the profile stands
  }
}

function showLogin(message = "", kind = "info") {
  clearProfile();
  hideAdmin();
  showView("login-view", "login-title");
  notice(message, kind);
}

async function signIn(email, password) {
  try {
    await session.logIn(email, password);
    await enterProfile();
  } catch (error) {
    session.clear();
    throw error;
  }
}

async function onLogin(event) {
  event.preventDefault();
  if (!checkForm(loginForm)) return;
  const { email, password } = loginForm.elements;
  await whilePending(loginForm, async () => {
    try {
      await signIn(email.value, password.value);
      notice("");
    } catch (error) {
      showProblem(loginForm, error);
    }
  });
}

async function onRegister(event) {
  event.preventDefault();
  if (!checkForm(registerForm)) return;
  const { email, password, display_name: displayName } = registerForm.elements;
  const body = { email: email.value.trim(), password: password.value };
  if (displayName.value.trim()) body.display_name = displayName.value.trim();
  await whilePending(registerForm, async () => {
    try {
      await request("/auth/register", { method: "POST", body });
    } catch (error) {
      showProblem(registerForm, error);
      return;
    }
    try {
      await signIn(body.email, body.password); // the account exists: go straight in
      notice("Welcome! Your account is ready.");
    } catch (error) {
      showView("login-view");
      loginForm.elements.email.value = body.email;
      notice("Your account was created. Please log in.");
      showProblem(loginForm, error);
    }
  });
}

async function onLogout(event) {
  const button = event.currentTarget;
  showAlert("profile-error", "");
  await whilePending(button.closest(".card"), async () => {
    try {
      await session.logOut();
      showLogin("You have logged out.");
    } catch (error) {
      showAlert("profile-error", `Could not log out: ${error.message}`);
    }
  }, button);
}

async function deleteSession(id) {
  try {
    await session.authed(`/auth/sessions/${encodeURIComponent(id)}`, { method: "DELETE" });
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) throw error; // already gone
  }
}

async function onLogOutOthers(event) {
  const button = event.currentTarget;
  showAlert("sessions-error", "");
  await whilePending(button.closest(".card"), async () => {
    try {
      const sessions = await session.authed("/auth/sessions");
      const others = sessions.filter((item) => !item.current);
      for (const other of others) await deleteSession(other.id);
      await loadSessions();
      notice(`Logged out ${others.length} other session${others.length === 1 ? "" : "s"}.`);
    } catch (error) {
      if (session.isSignedIn()) showAlert("sessions-error", error.message);
    }
  }, button);
}

function switchTo(view, from, to) {
  if (!to.elements.email.value) to.elements.email.value = from.elements.email.value;
  clearErrors(from);
  notice("");
  showView(view);
  const firstEmpty = [...to.querySelectorAll("input")].find((input) => !input.value);
  (firstEmpty ?? to.elements.email).focus();
}

function wire() {
  loginForm.addEventListener("submit", onLogin);
  registerForm.addEventListener("submit", onRegister);
  registerForm.addEventListener("input", updatePasswordHint);
  wireInlineValidation(loginForm);
  wireInlineValidation(registerForm);
  wireRevealButtons(document);
  byId("show-register").addEventListener("click", () => {
    switchTo("register-view", loginForm, registerForm);
  });
  byId("show-login").addEventListener("click", () => {
    switchTo("login-view", registerForm, loginForm);
  });
  byId("logout").addEventListener("click", onLogout);
  byId("logout-others").addEventListener("click", onLogOutOthers);
  wireAdmin();
  session.whenSessionEnds((message) => showLogin(message, "warning"));
  wireAccount({ showLogin, enterProfile });
}

async function boot() {
  wire();
  // The forms appear once the rules are known, so the first keystroke is judged right.
  const rulesLoaded = loadPasswordPolicy().then(updatePasswordHint);
  if (await handleLink()) return; // a reset link: its form, signed in or not
  try {
    if (await session.restore()) {
      await enterProfile();
      return;
    }
  } catch (error) {
    session.clear();
    if (error instanceof NetworkError || error instanceof ApiError) notice(error.message, "warning");
  }
  await rulesLoaded;
  showView("login-view");
}

boot();
