// Form plumbing shared by the views: errors next to fields, a form-level alert, the
// pending state of a submit, and the wait after a 429.

import { ApiError } from "./api.js";

// Problems without an `errors` list that still concern one field.
const FIELD_OF_CODE = { EMAIL_ALREADY_REGISTERED: "email" };

function prefix(form) {
  return form.id.replace(/-form$/, "");
}

function errorSlot(form, field) {
  return document.getElementById(`${prefix(form)}-${field}-error`);
}

export function showFieldError(form, field, message) {
  const input = form.elements.namedItem(field);
  const slot = errorSlot(form, field);
  if (!input || !slot) return false;
  slot.textContent = message;
  slot.hidden = false;
  input.setAttribute("aria-invalid", "true");
  return true;
}

export function clearFieldError(form, field) {
  const slot = errorSlot(form, field);
  if (slot) {
    slot.textContent = "";
    slot.hidden = true;
  }
  form.elements.namedItem(field)?.removeAttribute("aria-invalid");
}

export function showFormError(form, message) {
  const slot = document.getElementById(`${prefix(form)}-form-error`);
  slot.textContent = message;
  slot.hidden = false;
}

export function clearErrors(form) {
  for (const input of form.querySelectorAll("input[name]")) clearFieldError(form, input.name);
  const slot = document.getElementById(`${prefix(form)}-form-error`);
  slot.textContent = "";
  slot.hidden = true;
}

/** Moves focus to the first field with an error; a form-level alert announces itself. */
export function focusFirstProblem(form) {
  const invalid = form.querySelector("[aria-invalid='true']");
  if (invalid) invalid.focus();
}

export function describeWait(seconds) {
  if (seconds < 90) return `${seconds} second${seconds === 1 ? "" : "s"}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minutes`;
}

/** Shows an API failure where it belongs: next to its fields, or above the form. */
export function showProblem(form, error) {
  if (error instanceof ApiError && error.status === 429) {
    const wait = error.retryAfterSeconds ?? 60;
    showFormError(form, `Too many attempts. Try again in ${describeWait(wait)}.`);
    lockFor(form, wait);
    return;
  }
  const fieldErrors = error instanceof ApiError ? [...error.fieldErrors] : [];
  const codeField = error instanceof ApiError && FIELD_OF_CODE[error.code];
  if (codeField) fieldErrors.push({ field: codeField, message: error.message });
  // A field may have several problems (a weak password: why, then how to fix it).
  const byField = new Map();
  for (const { field, message } of fieldErrors) {
    const name = String(field).split(".").pop();
    byField.set(name, [...(byField.get(name) ?? []), String(message)]);
  }
  const unplaced = [...byField].filter(([field, messages]) => {
    return !showFieldError(form, field, messages.join(" "));
  });
  if (fieldErrors.length === 0) showFormError(form, error.message);
  else if (unplaced.length) showFormError(form, unplaced.flatMap(([, m]) => m).join(" "));
  focusFirstProblem(form);
}

function submitButton(form) {
  return form.querySelector("button[type='submit']") ?? form.querySelector("button[data-label]");
}

/** A 429 keeps the submit button disabled until the server's wait is over. */
function lockFor(form, seconds) {
  form.dataset.lockedUntil = String(Date.now() + seconds * 1000);
  submitButton(form).disabled = true;
  setTimeout(() => {
    delete form.dataset.lockedUntil;
    submitButton(form).disabled = form.getAttribute("aria-busy") === "true";
  }, seconds * 1000);
}

function isLocked(form) {
  return Number(form.dataset.lockedUntil || 0) > Date.now();
}

/** Runs `work` with the form (or any element holding a data-label button) pending. */
export async function whilePending(form, work, button = submitButton(form)) {
  if (form.getAttribute("aria-busy") === "true" || isLocked(form)) return;
  form.setAttribute("aria-busy", "true");
  button.disabled = true;
  button.textContent = button.dataset.busyLabel;
  try {
    await work();
  } finally {
    form.removeAttribute("aria-busy");
    button.disabled = isLocked(form);
    button.textContent = button.dataset.label;
  }
}

function showPassword(button, reveal) {
  const input = document.getElementById(button.getAttribute("aria-controls"));
  input.type = reveal ? "text" : "password";
  button.textContent = reveal ? "Hide" : "Show";
  button.setAttribute("aria-label", reveal ? "Hide password" : "Show password");
  return input;
}

/** Masks every password field again, as when the page was loaded. */
export function maskPasswords(root) {
  for (const button of root.querySelectorAll("button.reveal")) showPassword(button, false);
}

/** Wires the Show/Hide buttons of password fields. */
export function wireRevealButtons(root) {
  for (const button of root.querySelectorAll("button.reveal")) {
    button.addEventListener("click", () => {
      const input = document.getElementById(button.getAttribute("aria-controls"));
      showPassword(button, input.type === "password").focus();
    });
  }
}
