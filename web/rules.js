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

// The server's fold (NFKC, then str.casefold()) for the characters people type.
const fold = (text) => text.normalize("NFKC").toLowerCase();

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

/** The server's minimum counts code points both as typed and after NFC. */
function shortestLength(text) {
  return Math.min(codePoints(text), [...text].length);
}

function localPart(email) {
  const at = email.trim().lastIndexOf("@");
  return at < 0 ? "" : fold(email.trim().slice(0, at));
}

/**
 * Which password rules hold: {length, common, email, guessable}; true, false, or null
 * (unknown here). How guessable a password is only the server judges (zxcvbn), on submit.
 */
export function passwordChecks(password, email) {
  const local = localPart(email);
  return {
    length: shortestLength(password) >= policy.minLength && codePoints(password) <= policy.maxLength,
    common: policy.common === null ? null : !policy.common.has(fold(password)),
    email: !(local.length >= policy.minLocalPartCheck && fold(password).includes(local)),
    guessable: null,
  };
}

/** Every rule the password breaks, worded as the server words it. */
export function passwordProblems(password, email) {
  const problems = [];
  if (shortestLength(password) < policy.minLength) {
    problems.push(`Use at least ${policy.minLength} characters.`);
  }
  if (codePoints(password) > policy.maxLength) {
    problems.push(`Use at most ${policy.maxLength} characters.`);
  }
  const checks = passwordChecks(password, email);
  if (checks.common === false) {
    problems.push("This password is too common; choose a less guessable one.");
  }
  if (!checks.email) problems.push("The password must not contain your email address.");
  return problems;
}

/**
 * A rough estimate, 0 (nothing typed) to 4, from what can be judged here: the rules,
 * length (which dominates, as in NIST's guidance), mixed character kinds a little, and
 * repetition. It never calls a password strong: whether it is easy to guess (keyboard
 * walks, dates, names, common words) the server decides when the form is sent.
 */
export function passwordStrength(password, email) {
  if (password === "") return { level: 0, label: "" };
  if (passwordProblems(password, email).length) return { level: 1, label: "Too weak" };
  const length = codePoints(password);
  const kinds = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((re) => re.test(password));
  if (new Set(password).size <= 3) return { level: 2, label: "Fair: avoid repeated characters" };
  let level = length >= 16 ? 4 : length >= 12 ? 3 : 2;
  if (level < 4 && length >= 10 && kinds.length >= 3) level += 1;
  const labels = ["", "", "Fair: a few more words would help", "Good length", "Long"];
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
