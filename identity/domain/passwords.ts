import { readFileSync } from 'node:fs';
import { hash, verify } from '@node-rs/argon2';

/**
 * Passwords are compared as typed in any script (中文 too), in Unicode NFC, so that the same
 * password typed on two keyboards (composed or decomposed accents) is the same password.
 */
const normalize = (password: string) => password.normalize('NFC');

/** argon2id with the library's defaults (19 MiB, 2 passes): OWASP's minimum for interactive logins. */
export const hashPassword = (password: string): Promise<string> => hash(normalize(password));

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await verify(passwordHash, normalize(password));
  } catch {
    return false;
  }
}

/**
 * The password policy (密码策略, ASVS 4.0 V2.1.1–V2.1.9): at least 12 characters and at most 128
 * (counted in Unicode code points: 12 汉字 are 12 characters), any characters, no composition
 * rules; not the username nor containing it; not one of the common passwords shipped in
 * `common-passwords.txt`.
 */
export const PASSWORD_MIN_LENGTH = 12;
export const PASSWORD_MAX_LENGTH = 128;

/** Codes of a refused password; each has a message in Chinese and English. */
export const PasswordProblemCode = {
  tooShort: 'PASSWORD_TOO_SHORT',
  tooLong: 'PASSWORD_TOO_LONG',
  containsUsername: 'PASSWORD_CONTAINS_USERNAME',
  tooCommon: 'PASSWORD_TOO_COMMON',
} as const;
export type PasswordProblemCode = (typeof PasswordProblemCode)[keyof typeof PasswordProblemCode];

export interface PasswordProblem {
  code: PasswordProblemCode;
  message: string;
  messageZh: string;
}

let common: ReadonlySet<string> | null = null;
/** The common-password list, read once (a data file next to this module). */
function commonPasswords(): ReadonlySet<string> {
  common ??= new Set(
    readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8')
      .split('\n')
      .map((l) => l.trim().toLowerCase())
      .filter((l) => l && !l.startsWith('#')),
  );
  return common;
}

/** Why a new password is refused under the policy, or null when it may be used. */
export function passwordProblem(password: string, username: string): PasswordProblem | null {
  const p = normalize(password);
  const length = [...p].length;
  if (length < PASSWORD_MIN_LENGTH) {
    return { code: PasswordProblemCode.tooShort, message: `a password needs at least ${PASSWORD_MIN_LENGTH} characters`, messageZh: `密码至少需要${PASSWORD_MIN_LENGTH}个字符` };
  }
  if (length > PASSWORD_MAX_LENGTH) {
    return { code: PasswordProblemCode.tooLong, message: `a password may have at most ${PASSWORD_MAX_LENGTH} characters`, messageZh: `密码最多${PASSWORD_MAX_LENGTH}个字符` };
  }
  const lower = p.toLowerCase();
  const name = username.trim().toLowerCase();
  // A two-letter username (li, wu) is inside too many good passwords to refuse them all.
  if (name && (lower === name || (name.length >= 3 && lower.includes(name)))) {
    return { code: PasswordProblemCode.containsUsername, message: 'a password may not contain the username', messageZh: '密码不能包含用户名' };
  }
  if (commonPasswords().has(lower)) {
    return { code: PasswordProblemCode.tooCommon, message: 'this password is too common; choose another', messageZh: '该密码过于常见，请换一个' };
  }
  return null;
}

/**
 * The floor for a password that comes from a city preset (users.csv): 8+ characters. A preset
 * password that passes the floor but not the policy still imports, and the account must change it
 * at its first login (outside a demo city: see the identity service).
 */
export const IMPORT_PASSWORD_MIN_LENGTH = 8;
