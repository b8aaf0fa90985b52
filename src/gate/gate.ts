import { join } from "node:path";
import type { Logger } from "pino";
import { formatHostPort, type HostPort } from "../policy/host-port.ts";
import { type LoadedPolicy, loadPolicy } from "../policy/load.ts";
import { durationMs } from "../policy/units.ts";
import { ensureAdminToken } from "./admin-token.ts";
import { Alerting } from "./alerting.ts";
import { Approvals } from "./approvals.ts";
import type { RelayPayload } from "./cluster.ts";
import type { GateContext, Snapshot, Termination } from "./context.ts";
import { CredentialValues } from "./credentials/values.ts";
import { Detector } from "./detect.ts";
import { type DiscoveryOptions, ServiceDiscovery } from "./discovery.ts";
import { Resolver } from "./dns/resolver.ts";
import type { DnsServer } from "./dns/server.ts";
import { EphemeralIdentities } from "./ephemeral.ts";
import { type AuditSink, type DecisionEvent, EventBus } from "./events.ts";
import { GateAudit } from "./gate-audit.ts";
import { LearnStore } from "./learn.ts";
import { limitsFrom } from "./limits.ts";
import { type ListenerName, Listeners, type ListenPlan } from "./listeners.ts";
import { createLogger } from "./log.ts";
import { GateMetrics } from "./metrics.ts";
import { buildIndex } from "./policy-index.ts";
import { type PolicyWatch, reloadNeeds, watchPolicyFile } from "./policy-watch.ts";
import { mergeServiceMaps } from "./service-map.ts";
import type { Floor } from "./ssrf.ts";
import {
  approvalsSubscriber,
  auditSubscriber,
  credentialAlertSubscriber,
  detectorSubscriber,
  learnSubscriber,
  logSubscriber,
  metricsSubscriber,
  streamSubscriber,
} from "./subscribers.ts";
import { loadAuthority, publishAuthority } from "./tls/authority.ts";
import { LeafCertificates } from "./tls/leaves.ts";
import { upstreamTrust } from "./tls/tls-upstream.ts";

export interface GateOptions {
  loaded: LoadedPolicy;
  /** watch this file and reload on change (and on reload()) */
  policyFile?: string;
  watch?: boolean;
  env?: NodeJS.ProcessEnv;
  serviceMap?: Record<string, string | string[]>;
  /** services identified by asking the resolver for their names (compose replicas; see discovery.ts) */
  discover?: readonly string[];
  discoveryOptions?: DiscoveryOptions;
  logger?: Logger;
  audit?: AuditSink;
  /** overrides of gate.listen (tests pass port 0) */
  listen?: Partial<Record<"proxy" | "dns" | "admin", HostPort>>;
  /** which listeners to start (default all) */
  serve?: { proxy?: boolean; dns?: boolean; admin?: boolean };
  stateDir?: string;
  now?: () => number;
  /** one of several worker processes sharing the listen ports (SO_REUSEPORT); names its state files */
  worker?: number;
  /** where /metrics gets its text when it should cover more than this process */
  metricsText?: () => Promise<string>;
  /** the admin API's bearer token; default $CORRAL_GATE_ADMIN_TOKEN, else <state_dir>/admin.token */
  adminToken?: string;
  /** serve /metrics without the admin token (default true) */
  metricsPublic?: boolean;
  /**
   * DNS over UDP through native/dnsbatch.c when it is built (default true; false keeps to
   * node:dgram). Off when `now` is given: the repeat table keeps the kernel's time.
   */
  dnsBatch?: boolean;
  /** PEM files of CAs upstream certificates may also chain to (beside the system store) */
  upstreamCa?: readonly string[];
  /** where the gate CA's certificate and trust bundle are published for the agents to mount */
  caOut?: string;
  /** with --workers: how this worker reaches the others (run identities, audit records) */
  relay?: { send(to: "all" | number, payload: RelayPayload): void; on(handler: (p: RelayPayload) => void): void };
}

export class Gate {
  readonly bus = new EventBus();
  readonly metrics = new GateMetrics();
  readonly approvals: Approvals;
  readonly learn: LearnStore;
  readonly logger: Logger;
  readonly ephemeral: EphemeralIdentities;
  /** what the admin API expects in `Authorization: Bearer …` */
  readonly adminToken: string;
  private readonly listeners = new Listeners();
  private loaded: LoadedPolicy;
  private snap: Snapshot;
  private resolverRef: Resolver;
  private detector: Detector;
  private self: Floor["self"] = [];
  private readonly opts: GateOptions;
  private watcher: PolicyWatch | undefined;
  private readonly audit: GateAudit;
  private readonly alerting: Alerting;
  private ready = false;
  private readonly changeListeners = new Set<() => void>();
  private readonly discovery: ServiceDiscovery | undefined;
  private readonly values: CredentialValues;
  private termination: Termination | undefined;
  private readonly stateDir: string | undefined;
  readonly ctx: GateContext;

  private constructor(opts: GateOptions) {
    this.opts = opts;
    this.loaded = opts.loaded;
    this.logger = opts.logger ?? createLogger();
    this.audit = new GateAudit(opts.audit, opts.relay, this.logger, () => this.loaded.policy.audit !== undefined);
    if (opts.audit?.anchors) this.metrics.watchAnchors(() => opts.audit?.anchors?.());
    this.alerting = new Alerting({
      logger: this.logger,
      metrics: this.metrics,
      bus: this.bus,
      audit: (a) =>
        this.audit.record("gate.alert", a.identity, {
          alert: a.kind,
          detail: a.message,
          value: a.value,
          threshold: a.threshold,
        }),
      webhook: () => this.loaded.policy.gate.alerts.webhook,
    });
    const stateDir = opts.stateDir ?? opts.loaded.policy.gate.state_dir;
    this.stateDir = stateDir;
    this.values = new CredentialValues(
      opts.env ?? process.env,
      (p) =>
        this.logger.warn(
          { "event.action": "credential-value", "event.outcome": "failure", "corral.credential": p.credential },
          `credential ${p.credential}: ${p.message}; its requests fail until it can be read`,
        ),
      (name) =>
        this.logger.info(
          { "event.action": "credential-rotated", "corral.credential": name },
          `credential ${name}: new value in use`,
        ),
    );
    this.approvals = new Approvals(stateDir);
    this.learn = new LearnStore(stateDir, opts.worker, opts.now ?? Date.now);
    this.ephemeral = new EphemeralIdentities(opts.now ?? Date.now);
    let admin: { token: string; source: string };
    try {
      admin = opts.adminToken
        ? { token: opts.adminToken, source: "option" }
        : ensureAdminToken(opts.env ?? process.env, stateDir);
    } catch (err) {
      // A read-only state dir (a locked-down container) must not keep the gate from starting.
      this.logger.warn(
        { "event.action": "admin-token", "error.message": (err as Error).message },
        "cannot write the admin token file",
      );
      admin = ensureAdminToken({}, undefined);
    }
    this.adminToken = admin.token;
    if (admin.source === "memory" && opts.serve?.admin !== false)
      this.logger.warn(
        { "event.action": "admin-token" },
        "admin token kept in memory only: set gate.state_dir (or $CORRAL_GATE_ADMIN_TOKEN) so corral approve/ui/run can authenticate",
      );
    if (opts.discover?.length)
      this.discovery = new ServiceDiscovery(
        opts.discover,
        () => {
          this.snap = this.buildSnapshot(this.loaded);
          this.changed();
        },
        opts.discoveryOptions,
      );
    this.snap = this.buildSnapshot(opts.loaded);
    this.prepareTermination(this.snap, opts.loaded);
    this.resolverRef = this.buildResolver(opts.loaded);
    this.detector = this.buildDetector(opts.loaded);
    const now = opts.now ?? Date.now;
    const gate = this;
    this.ctx = {
      snapshot: () => ({ ...gate.snap, grants: gate.approvals.grants() }),
      get resolver() {
        return gate.resolverRef;
      },
      publish: (ev, times) => gate.publish(ev, times),
      now,
      ...(this.discovery ? { identify: () => gate.discovery?.unknown() } : {}),
      onChange: (listener) => {
        gate.changeListeners.add(listener);
        return () => gate.changeListeners.delete(listener);
      },
      termination: () => gate.termination,
    };
    this.approvals.onChange = () => this.changed();
    this.subscribe();
  }

  /**
   * A policy with destinations to terminate needs the CA (made in the state directory on first
   * use), the upstream roots and the real values; a policy without them reads no value at all.
   */
  private prepareTermination(snap: Snapshot, loaded: LoadedPolicy): void {
    // Values last: a reload whose CA cannot be loaded changes nothing.
    if (!this.termination && snap.index.credentials.terminated.size > 0) this.termination = this.makeTermination();
    this.values.load(loaded.policy);
  }

  private makeTermination(): Termination {
    const ca = loadAuthority(this.stateDir === undefined ? undefined : join(this.stateDir, "ca"));
    if (this.opts.caOut) publishAuthority(ca, this.opts.caOut);
    const trust = upstreamTrust(this.opts.upstreamCa);
    const values = this.values;
    this.logger.info(
      {
        "event.action": "gate-ca",
        "corral.ca.created": ca.created,
        "corral.ca.trust": trust.source,
        ...(this.opts.caOut ? { "corral.ca.published": this.opts.caOut } : {}),
      },
      this.stateDir === undefined
        ? "gate CA made in memory (no state directory): agents must be given its certificate again after a restart"
        : `gate CA ${ca.created ? "made" : "loaded"} in ${join(this.stateDir, "ca")}`,
    );
    return { leaves: new LeafCertificates(ca), trust, value: (c) => values.get(c) };
  }

  private buildSnapshot(loaded: LoadedPolicy): Snapshot {
    return {
      index: buildIndex(loaded.policy, {
        env: this.opts.env ?? process.env,
        serviceMap: this.discovery
          ? mergeServiceMaps(this.opts.serviceMap ?? {}, this.discovery.current())
          : this.opts.serviceMap,
        self: this.self,
        ephemeral: this.ephemeral,
      }),
      grants: [],
      limits: limitsFrom(loaded.policy.gate),
    };
  }

  private buildResolver(loaded: LoadedPolicy): Resolver {
    const d = loaded.policy.dns;
    return new Resolver({
      upstreams: d.upstreams,
      timeoutMs: durationMs(d.timeout),
      retries: d.retries,
      cacheMax: d.cache_max,
      now: this.opts.now,
    });
  }

  private buildDetector(loaded: LoadedPolicy): Detector {
    const a = loaded.policy.gate.alerts;
    return new Detector({
      windowMs: durationMs(a.window),
      denyBurst: a.deny_burst,
      fanout: a.fanout,
      nxdomainRatio: a.nxdomain_ratio,
    });
  }

  static async start(opts: GateOptions): Promise<Gate> {
    const gate = new Gate(opts);
    try {
      await gate.listen();
    } catch (err) {
      await gate.close();
      throw err;
    }
    return gate;
  }

  private async listen(): Promise<void> {
    const listen = this.loaded.policy.gate.listen;
    const plan: ListenPlan = {
      at: {
        proxy: this.opts.listen?.proxy ?? listen.proxy,
        dns: this.opts.listen?.dns ?? listen.dns,
        admin: this.opts.listen?.admin ?? listen.admin,
      },
      serve: { proxy: true, dns: true, admin: true, ...this.opts.serve },
      reusePort: this.opts.worker !== undefined,
      dnsBatch: this.opts.dnsBatch !== false && this.opts.now === undefined,
      onDnsBatchUnavailable: (why) =>
        this.logger.warn({ "event.action": "dns-transport" }, `dns: native UDP batching unavailable (${why})`),
    };
    await this.listeners.start(plan, this.ctx, this.metrics, {
      metrics: this.metrics,
      metricsText: this.opts.metricsText,
      bus: this.bus,
      approvals: this.approvals,
      ready: () => this.ready,
      policyHash: () => this.loaded.hash,
      approve: (id, forMs, actor, ip) => this.decideApproval(id, "approve", actor, forMs, ip),
      deny: (id, actor, ip) => this.decideApproval(id, "deny", actor, 0, ip),
      token: this.adminToken,
      metricsPublic: this.opts.metricsPublic ?? true,
      mintRun: (parent, run, ttlMs) => this.mintRun(parent, run, ttlMs),
      releaseRun: (token) => {
        const digest = this.ephemeral.release(token);
        if (digest) this.opts.relay?.send("all", { kind: "run-del", digest });
        return digest !== undefined;
      },
      ...(this.opts.audit ? { appendAudit: (kind, actor, data) => this.opts.audit!.record(kind, actor, data) } : {}),
      auditAnchors: () => this.opts.audit?.anchors?.() ?? null,
    });
    this.self = this.listeners.self(plan);
    await this.discovery?.start();
    this.snap = this.buildSnapshot(this.loaded);
    this.changed();
    if (this.opts.watch && this.opts.policyFile)
      this.watcher = watchPolicyFile(
        this.opts.policyFile,
        () => void this.reload(),
        (err) =>
          this.logger.warn(
            { "event.action": "policy-watch-failed", "error.message": err.message },
            "cannot watch policy file",
          ),
      );
    // Another worker (or a restart) may decide approvals: follow the file.
    this.approvals.watch();
    this.opts.relay?.on((p) => this.onRelay(p));
    this.ready = true;
    this.audit.policyLoaded(undefined, this.loaded, this.opts.policyFile);
    this.logger.info(
      {
        "event.action": "gate-start",
        "corral.policy_hash": this.loaded.hash,
        ...(this.listeners.dns ? { "corral.dns.transport": this.listeners.dns.transport } : {}),
        ...Object.fromEntries(
          Object.entries(this.addresses).map(([k, v]) => [`corral.listen.${k}`, formatHostPort(v)]),
        ),
      },
      "gate started",
    );
  }

  /** A run's own token, decided as `parent`: only identities the operator gave a token_env. */
  private mintRun(parent: string, run: string, ttlMs: number): { token: string; expires: number } {
    const ident = this.loaded.policy.identities[parent];
    if (!ident?.token_env) throw new Error(`'${parent}' is not an identity with token_env in the policy`);
    const minted = this.ephemeral.mint(parent, run, ttlMs);
    this.opts.relay?.send("all", { kind: "run-add", digest: minted.digest, parent, run, expires: minted.expires });
    this.logger.info(
      {
        "event.action": "run-identity-minted",
        "corral.identity": parent,
        "corral.run": run,
        "corral.expires": minted.expires,
      },
      `run ${run} gets an identity as ${parent}`,
    );
    return { token: minted.token, expires: minted.expires };
  }

  private onRelay(p: RelayPayload): void {
    if (p.kind === "run-add") {
      this.ephemeral.adopt(p.digest, { parent: p.parent, run: p.run, expires: p.expires });
      // The moment a worker honours a run minted elsewhere: what an operator (or a test) waits on.
      this.logger.info(
        { "event.action": "run-identity-adopted", "corral.identity": p.parent, "corral.run": p.run },
        `run ${p.run} known to this worker as ${p.parent}`,
      );
    } else if (p.kind === "run-del") this.ephemeral.forget(p.digest);
    else if (p.kind === "audit") this.audit.recordHere(p.record.kind as "gate.decision", p.record.actor, p.record.data);
  }

  private decideApproval(id: string, verb: "approve" | "deny", actor: string, forMs = 0, ip?: string) {
    const now = this.ctx.now();
    const r = verb === "approve" ? this.approvals.approve(id, forMs, actor, now) : this.approvals.deny(id, actor, now);
    const destination = `${r.name ?? r.ip}${r.port ? `:${r.port}` : ""}`;
    this.logger.info(
      {
        "event.action": `approval-${verb}`,
        "corral.identity": r.identity,
        "corral.approval_id": id,
        "destination.address": destination,
        "user.name": actor,
        "corral.expires": r.expires,
      },
      `approval ${id} ${r.status}`,
    );
    this.bus.emit("approval", { time: now, id, status: r.status, actor, identity: r.identity, destination });
    this.audit.recordHere("approval", ip ? { identity: actor, ip } : actor, {
      request: id,
      approved: r.status === "approved",
      status: r.status,
      user: actor,
      identity: r.identity,
      destination,
      expires: r.expires ?? null,
    });
    return r;
  }

  private publish(ev: DecisionEvent, times = 1): void {
    this.bus.emit("request", ev, times);
  }

  /** The fan-out of every request's end (subscribers.ts), in the order it must run. */
  private subscribe(): void {
    const listeners = [
      approvalsSubscriber(this.approvals),
      learnSubscriber(this.learn),
      logSubscriber(this.logger),
      metricsSubscriber(this.metrics),
      auditSubscriber(
        () => this.audit.enabled,
        (actor, data) => this.audit.record("gate.decision", actor, data),
      ),
      detectorSubscriber(
        () => this.detector,
        (a) => this.alerting.raise(a),
      ),
      credentialAlertSubscriber((a) => this.alerting.raise(a)),
      streamSubscriber(this.bus),
    ];
    for (const l of listeners) this.bus.on("request", l);
  }

  /** Loads the policy file again; on any error keeps the last good policy and returns false. */
  async reload(): Promise<boolean> {
    const file = this.opts.policyFile;
    if (!file) return false;
    let next: LoadedPolicy;
    let snap: Snapshot;
    try {
      next = await loadPolicy(file);
      snap = this.buildSnapshot(next);
      // Before the hash check: SIGHUP is also how a rotated value is read again.
      this.prepareTermination(snap, next);
    } catch (err) {
      const message = (err as Error).message;
      this.metrics.reloads.inc({ result: "error" });
      this.logger.error(
        { "event.action": "policy-reload", "event.outcome": "failure", "error.message": message },
        "policy reload failed; keeping the last good policy",
      );
      this.bus.emit("policy", { time: this.ctx.now(), ok: false, error: message });
      this.audit.policyRejected(file, message, this.loaded);
      return false;
    }
    if (next.hash === this.loaded.hash) return true;
    const needs = reloadNeeds(this.loaded.policy, next.policy);
    if (needs.listen)
      this.logger.warn({ "event.action": "policy-reload" }, "gate.listen changed: restart the gate to apply it");
    if (needs.resolver) {
      const old = this.resolverRef;
      this.resolverRef = this.buildResolver(next);
      this.changed();
      setTimeout(() => old.close(), 30_000).unref();
    }
    if (needs.detector) this.detector = this.buildDetector(next);
    const previous = this.loaded;
    this.loaded = next;
    this.snap = snap;
    this.changed();
    this.metrics.reloads.inc({ result: "ok" });
    this.logger.info(
      { "event.action": "policy-reload", "event.outcome": "success", "corral.policy_hash": next.hash },
      "policy reloaded",
    );
    this.bus.emit("policy", { time: this.ctx.now(), ok: true, hash: next.hash });
    this.audit.policyLoaded(previous, next, file);
    return true;
  }

  get policyHash(): string {
    return this.loaded.hash;
  }

  /** where each listener this process serves is bound (port 0 in the policy: the port chosen) */
  get addresses(): Readonly<Partial<Record<ListenerName, HostPort>>> {
    return this.listeners.addresses;
  }

  get openConnections(): number {
    return this.listeners.proxy?.connectionCount ?? 0;
  }

  /** The policy snapshot, the grants or the resolver changed (GateContext.onChange). */
  private changed(): void {
    for (const l of this.changeListeners) l();
  }

  /** How DNS over UDP is served, with the batch transport's counters. */
  dnsTransport(): { transport: "batch" | "dgram"; stats?: ReturnType<DnsServer["batchStats"]> } | undefined {
    const dns = this.listeners.dns;
    return dns ? { transport: dns.transport, stats: dns.batchStats() } : undefined;
  }

  async close(): Promise<void> {
    this.ready = false;
    this.watcher?.close();
    this.discovery?.stop();
    this.approvals.close();
    this.values.close();
    const batch = this.listeners.dns?.batchStats();
    if (batch)
      this.logger.info(
        {
          "event.action": "dns-transport",
          "corral.dns.repeats": batch.repeats,
          "corral.dns.handled": batch.handled,
          "corral.dns.send_drops": batch.sendDrops,
        },
        `dns: ${batch.repeats} answers repeated from the table, ${batch.handled} queries answered in JavaScript`,
      );
    await this.listeners.close();
    this.resolverRef.close();
    this.learn.flush();
    this.logger.flush();
  }
}
