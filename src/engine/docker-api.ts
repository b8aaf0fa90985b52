// The few Docker Engine API calls `corral enforce` needs, over the engine's unix socket with
// node:http: a client library would bring a large dependency for three endpoints. Unversioned
// paths, so every engine version answers in its own current API (the fields read here have been
// stable since API 1.24).
import http from "node:http";
import { UserError } from "../policy/user-error.ts";

/** What `GET /containers/json` says about one running container. */
export interface ContainerSummary {
  Id: string;
  Names?: string[];
  Labels: Record<string, string>;
  State?: string;
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string; NetworkID?: string; Gateway?: string }> };
}

/** What `GET /containers/{id}/json` says that the list does not: the process to enter. */
export interface ContainerDetail {
  Id: string;
  State?: { Pid?: number; Running?: boolean };
}

/** One line of `GET /events`. */
export interface EngineEvent {
  Type?: string;
  Action?: string;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
  time?: number;
}

export class DockerApiError extends UserError {
  readonly status: number | undefined;
  constructor(message: string, status?: number) {
    super(message);
    this.status = status;
  }
}

/** The socket path from DOCKER_HOST (`unix://…`), or Docker's default. */
export function socketPath(dockerHost: string | undefined): string {
  if (!dockerHost) return "/var/run/docker.sock";
  if (dockerHost.startsWith("unix://")) return dockerHost.slice("unix://".length);
  throw new DockerApiError(
    `DOCKER_HOST=${dockerHost}: corral enforce talks to the engine on its own host, over a unix socket (unix:///path)`,
  );
}

export class DockerClient {
  readonly socket: string;
  constructor(socket: string) {
    this.socket = socket;
  }

  private request(path: string, timeoutMs = 10_000): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.get({ socketPath: this.socket, path, headers: { host: "docker" } }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => {
          body += d;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", reject);
      });
      req.setTimeout(timeoutMs, () =>
        req.destroy(new DockerApiError(`engine did not answer ${path} in ${timeoutMs} ms`)),
      );
      req.on("error", (err) => reject(new DockerApiError(`engine at ${this.socket}: ${err.message}`)));
    });
  }

  private async json<T>(path: string): Promise<T> {
    const r = await this.request(path);
    if (r.status !== 200)
      throw new DockerApiError(`engine answered ${r.status} to ${path}: ${r.body.trim()}`, r.status);
    return JSON.parse(r.body) as T;
  }

  async ping(): Promise<boolean> {
    return this.request("/_ping", 2_000).then(
      (r) => r.status === 200,
      () => false,
    );
  }

  /** Running containers of one compose project. */
  containers(project: string): Promise<ContainerSummary[]> {
    const filters = JSON.stringify({ label: [`com.docker.compose.project=${project}`] });
    return this.json(`/containers/json?filters=${encodeURIComponent(filters)}`);
  }

  inspect(id: string): Promise<ContainerDetail> {
    return this.json(`/containers/${encodeURIComponent(id)}/json`);
  }

  /**
   * Follows container and network events until the stream ends or `signal` aborts. Resolves when
   * the engine closes the stream (e.g. it stopped), rejects when it cannot be reached.
   */
  events(onEvent: (e: EngineEvent) => void, signal: AbortSignal, onOpen?: () => void): Promise<void> {
    const filters = JSON.stringify({ type: ["container", "network"] });
    return new Promise((resolve, reject) => {
      const req = http.get(
        {
          socketPath: this.socket,
          path: `/events?filters=${encodeURIComponent(filters)}`,
          headers: { host: "docker" },
          signal,
        },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            reject(new DockerApiError(`engine answered ${res.statusCode} to /events`, res.statusCode));
            return;
          }
          onOpen?.();
          // Newline-delimited JSON; a line may arrive in pieces.
          let pending = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            pending += chunk;
            for (let nl = pending.indexOf("\n"); nl >= 0; nl = pending.indexOf("\n")) {
              const line = pending.slice(0, nl).trim();
              pending = pending.slice(nl + 1);
              if (!line) continue;
              try {
                onEvent(JSON.parse(line) as EngineEvent);
              } catch {
                // A line we cannot read still means something changed.
                onEvent({});
              }
            }
          });
          res.on("end", () => resolve());
          res.on("error", (err) => (signal.aborted ? resolve() : reject(err)));
        },
      );
      req.on("error", (err) =>
        signal.aborted ? resolve() : reject(new DockerApiError(`engine at ${this.socket}: ${err.message}`)),
      );
    });
  }
}
