// The host's side of the key service: every answer is opened with a fresh ephemeral key and
// checked against the pinned service key, and the volume key stays in memory. A key service
// that cannot be reached, refuses, or answers unsigned is a KeyServiceError naming why.
import type { KeyObject } from "node:crypto";
import { UserError } from "../policy/user-error.ts";
import { ephemeral, KeyExchangeError, openKey, type SealedKey } from "./key-exchange.ts";

export class KeyServiceError extends UserError {}

export interface KeySource {
  /** how strong the key's custody is, for status and scan */
  readonly custody: "key service" | "local file";
  create(volume: string): Promise<{ key: Buffer; version: number }>;
  fetch(volume: string, version?: number): Promise<{ key: Buffer; version: number }>;
  /** a new key version, kept beside the current one until commit */
  rotate(volume: string, current: number): Promise<{ key: Buffer; version: number }>;
  commit(volume: string, version: number): Promise<void>;
}

export class KeyServiceClient implements KeySource {
  readonly custody = "key service" as const;
  private readonly url: string;
  private readonly servicePublic: KeyObject;
  private readonly token: string;

  constructor(url: string, servicePublic: KeyObject, token: string) {
    this.url = url.replace(/\/+$/, "");
    this.servicePublic = servicePublic;
    this.token = token;
  }

  private async call(volume: string, action: string, payload: Record<string, unknown>): Promise<unknown> {
    let res: Response;
    try {
      res = await fetch(`${this.url}/v1/volumes/${encodeURIComponent(volume)}/${action}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${this.token}` },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(10_000),
        redirect: "error",
      });
    } catch (err) {
      const e = err as Error & { cause?: { message?: string } };
      throw new KeyServiceError(`key service ${this.url} unreachable: ${e.cause?.message ?? e.message}`, {
        hint: "start it (corral keys serve) or check the network to it; the volume stays locked",
      });
    }
    const text = await res.text();
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      value = undefined;
    }
    if (!res.ok)
      throw new KeyServiceError(
        `key service ${this.url} refused ${action} of ${volume}: ${res.status} ${(value as { error?: string })?.error ?? text.slice(0, 200)}`,
        res.status === 401 ? { hint: "the token (seal.key_service.token) is not the service's" } : {},
      );
    return value;
  }

  private async keyed(volume: string, action: string, extra: Record<string, unknown> = {}) {
    const host = ephemeral();
    const answer = (await this.call(volume, action, { epk: host.publicKey, ...extra })) as SealedKey;
    try {
      const version = typeof extra.version === "number" ? extra.version : undefined;
      const key = openKey(answer, host, this.servicePublic, { volume, ...(version !== undefined ? { version } : {}) });
      return { key, version: answer.version };
    } catch (err) {
      if (err instanceof KeyExchangeError)
        throw new KeyServiceError(`key service ${this.url}: ${err.message}`, {
          hint: "seal.key_service.key must be the identity.pub of the service you mean",
        });
      throw err;
    }
  }

  create(volume: string) {
    return this.keyed(volume, "create");
  }

  fetch(volume: string, version?: number) {
    return this.keyed(volume, "key", version === undefined ? {} : { version });
  }

  rotate(volume: string, _current: number) {
    return this.keyed(volume, "rotate");
  }

  async commit(volume: string, version: number): Promise<void> {
    await this.call(volume, "commit", { version });
  }
}
