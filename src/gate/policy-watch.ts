// Following the policy file: the directory is watched (editors replace files by rename, which
// ends a watch on the file itself), and bursts of events become one reload 150 ms later.
import { type FSWatcher, watch } from "node:fs";
import { basename, dirname } from "node:path";

export interface PolicyWatch {
  close(): void;
}

export function watchPolicyFile(file: string, reload: () => void, onError: (err: Error) => void): PolicyWatch {
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dirname(file), (_type, changed) => {
      if (changed && changed !== basename(file)) return;
      clearTimeout(timer);
      timer = setTimeout(reload, 150);
    });
    watcher.on("error", () => {});
  } catch (err) {
    onError(err as Error);
  }
  return {
    close: () => {
      clearTimeout(timer);
      watcher?.close();
    },
  };
}

/** What a reload must rebuild besides the policy snapshot: sections read once at start. */
export function reloadNeeds(
  previous: { gate: { listen: unknown; alerts: unknown }; dns: unknown },
  next: { gate: { listen: unknown; alerts: unknown }; dns: unknown },
): { listen: boolean; resolver: boolean; detector: boolean } {
  const changed = (a: unknown, b: unknown) => JSON.stringify(a) !== JSON.stringify(b);
  return {
    listen: changed(previous.gate.listen, next.gate.listen),
    resolver: changed(previous.dns, next.dns),
    detector: changed(previous.gate.alerts, next.gate.alerts),
  };
}
