/** The server's password rule (`sadeem.auth.passwords`: MIN_LENGTH, MAX_LENGTH), shown as hints
 * and checked before sending; `passwords.test.ts` holds it to the OpenAPI document. */
export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

/** A strong password for an admin to hand on: 20 characters from an alphabet without look-alikes. */
export function generatePassword(length = 20): string {
  const alphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789-_";
  const bytes = new Uint32Array(length);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (byte) => alphabet[byte % alphabet.length]).join("");
}
