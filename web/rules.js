// The server's input rules, checked as the user types (auth_api/passwords/policy.py and
// auth_api/api/account_schemas.py). The server checks again and has the last word; the
// messages are the server's own, so a field reads the same whoever caught the problem.

const DISPLAY_NAME_MAX = 64;
const EMAIL_MAX = 254;

const policy = {
  minLength: 8,
  maxLength: 128,
  minLocalPartCheck: 3,
  common: null, // a Set of the server's list, once loadPasswordPolicy() has it
};

// Python's str.casefold() for the characters people type in passwords and emails.
const fold = (text) => text.toLowerCase();

export async function loadPasswordPolicy() {
  try {
    const response = await fetch("/password-policy.json", { credentials: "same-origin" });
    if (!response.ok) return;
    const rules = await response.json();
    policy.minLength = rules.min_length;
    policy.maxLength = rules.max_length;
    policy.minLocalPartCheck = rules.min_local_part_check;
    policy.common = new Set(rules.common.map(fold));
  } catch {
    // Without the list the server still refuses common passwords, with the same message.
  }
}

/** Length as the server counts it: NFC-normalised code points, not UTF-16 units. */
export function codePoints(text) {
  return [...text.normalize("NFC")].length;
}

function localPart(email) {
  const at = email.trim().lastIndexOf("@");
  return at < 0 ? "" : fold(email.trim().slice(0, at));
}

/** Which password rules hold: {length, common, email}; true, false, or null (unknown). */
export function passwordChecks(password, email) {
  const length = codePoints(password);
  const local = localPart(email);
  return {
    length: length >= policy.minLength && length <= policy.maxLength,
    common: policy.common === null ? null : !policy.common.has(fold(password)),
    email: !(local.length >= policy.minLocalPartCheck && fold(password).includes(local)),
  };
}

/** Every rule the password breaks, worded as the server words it. */
export function passwordProblems(password, email) {
  const problems = [];
  const length = codePoints(password);
  if (length < policy.minLength) problems.push(`Use at least ${policy.minLength} characters.`);
  if (length > policy.maxLength) problems.push(`Use at most ${policy.maxLength} characters.`);
  const checks = passwordChecks(password, email);
  if (checks.common === false) {
    problems.push("This password is too common; choose a less guessable one.");
  }
  if (!checks.email) problems.push("The password must not contain your email address.");
  return problems;
}

/**
 * A rough strength estimate, 0 (nothing typed) to 4. Length dominates, as in NIST's
 * guidance; mixed character kinds help a little, and repetition hurts.
 */
export function passwordStrength(password, email) {
  if (password === "") return { level: 0, label: "" };
  if (passwordProblems(password, email).length) return { level: 1, label: "Too weak" };
  const length = codePoints(password);
  const kinds = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password));
  if (new Set(password).size <= 3) return { level: 2, label: "Fair: avoid repeated characters" };
  let level = length >= 16 ? 4 : length >= 12 ? 3 : 2;
  if (level < 4 && length >= 10 && kinds.length >= 3) level += 1;
  const labels = ["", "", "Fair: a few more words would help", "Good", "Strong"];
  return { level, label: labels[level] };
}

export function emailProblem(email) {
  const value = email.trim();
  if (value === "") return "Enter your email address.";
  if (value.length > EMAIL_MAX) return `Use at most ${EMAIL_MAX} characters.`;
  // The server's validator is stricter; this catches typos before a round trip.
  if (!/^[^\s@]+@[^\s@]+\.[^\s@.]+$/.test(value)) {
    return "Enter an email address like name@example.com.";
  }
  return null;
}

export function displayNameProblem(name) {
  if (codePoints(name.trim()) > DISPLAY_NAME_MAX) {
    return `Use at most ${DISPLAY_NAME_MAX} characters.`;
  }
  return null;
}

export function requiredPasswordProblem(password) {
  return password === "" ? "Enter your password." : null;
}
