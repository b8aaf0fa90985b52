// The admin password as an scrypt hash: salt and cost parameters are stored beside the hash so
// they can be raised later without invalidating existing records. Never the password itself.
import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";
import { UserError } from "../policy/user-error.ts";

export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
  keylen: number;
}

export interface PasswordRecord {
  v: 1;
  algo: "scrypt";
  params: ScryptParams;
  /** base64 */
  salt: string;
  /** base64 */
  hash: string;
  updated: string;
}

/** OWASP's scrypt floor is N=2^17,r=8,p=1; 2^15 keeps a login near 100 ms on a small box. */
export const DEFAULT_PARAMS: ScryptParams = { N: 2 ** 15, r: 8, p: 1, keylen: 32 };

export const MIN_PASSWORD_LENGTH = 12;
/** Long inputs cost scrypt nothing extra, but a cap keeps request bodies small. */
export const MAX_PASSWORD_LENGTH = 1024;

function derive(password: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  // maxmem must exceed 128*N*r or node refuses the parameters.
  const opts: ScryptOptions = {
    N: params.N,
    r: params.r,
    p: params.p,
    maxmem: 256 * params.N * params.r + 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize("NFC"), salt, params.keylen, opts, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** A reason the password is unacceptable, or undefined. */
export function passwordProblem(password: string): string | undefined {
  if (password.length < MIN_PASSWORD_LENGTH) return `the password must be at least ${MIN_PASSWORD_LENGTH} characters`;
  if (password.length > MAX_PASSWORD_LENGTH) return `the password must be at most ${MAX_PASSWORD_LENGTH} characters`;
  return undefined;
}

export async function hashPassword(
  password: string,
  params: ScryptParams = DEFAULT_PARAMS,
  now = new Date(),
): Promise<PasswordRecord> {
  const problem = passwordProblem(password);
  if (problem) throw new UserError(problem);
  const salt = randomBytes(16);
  const key = await derive(password, salt, params);
  return {
    v: 1,
    algo: "scrypt",
    params: { ...params },
    salt: salt.toString("base64"),
    hash: key.toString("base64"),
    updated: now.toISOString(),
  };
}

export async function verifyPassword(password: string, record: PasswordRecord): Promise<boolean> {
  if (password.length > MAX_PASSWORD_LENGTH) return false;
  const expected = Buffer.from(record.hash, "base64");
  const key = await derive(password, Buffer.from(record.salt, "base64"), { ...record.params, keylen: expected.length });
  return key.length === expected.length && timingSafeEqual(key, expected);
}
