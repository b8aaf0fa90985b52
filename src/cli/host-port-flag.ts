// A HOST:PORT flag (--proxy, --dns, --admin, --gate, --listen) read by the policy's own parser,
// so a flag and the same address in corral.yaml are accepted or refused alike.
import { type HostPort, hostPortOf } from "../policy/host-port.ts";
import { UsageError } from "./command.ts";

export function hostPortFlag(flag: string, text: string, example = "127.0.0.1:3128"): HostPort {
  try {
    return hostPortOf(text);
  } catch (err) {
    throw new UsageError(`--${flag}: ${(err as Error).message}`, `e.g. --${flag} ${example}`);
  }
}
