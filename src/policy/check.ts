// Checks that need the whole policy: every name resolves, addresses and ranges are valid and
// do not overlap, no wildcard allows the whole internet, keys stay outside the log directory.

import { isAbsolute, relative, resolve } from "node:path";
import ipaddr from "ipaddr.js";
import { parseDestination } from "./destination.ts";
import type { PolicyProblem } from "./errors.ts";
import { parseHostPort } from "./host-port.ts";
import type { Policy } from "./schema.ts";
import type { Path, PositionedYaml } from "./source.ts";
import { didYouMean } from "./suggest.ts";
import { durationMs, parsePortSpec, sizeBytes } from "./units.ts";
import { HOST_TARGET, isGlob, matchesGlob } from "./zones.ts";

// Suffixes under which anyone can register names: a wildcard directly above one allows the world.
const SHARED_SECOND_LEVEL = new Set(["co", "com", "net", "org", "gov", "edu", "ac", "or", "ne", "go", "gob", "nic"]);

function tooBroad(suffix: string): boolean {
  const labels = suffix.split(".");
  if (labels.length === 1) return true;
  return labels.length === 2 && labels[1]!.length === 2 && SHARED_SECOND_LEVEL.has(labels[0]!);
}

function parseCidr(text: string): [ipaddr.IPv4 | ipaddr.IPv6, number] | undefined {
  try {
    return ipaddr.parseCIDR(text);
  } catch {
    return undefined;
  }
}

function cidrsOverlap(a: [ipaddr.IPv4 | ipaddr.IPv6, number], b: [ipaddr.IPv4 | ipaddr.IPv6, number]): boolean {
  if (a[0].kind() !== b[0].kind()) return false;
  return a[1] <= b[1] ? b[0].match(a) : a[0].match(b);
}

export function checkPolicy(policy: Policy, src: PositionedYaml, baseDir: string): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  const add = (path: Path, message: string, hint?: string, which: "key" | "value" = "value") =>
    problems.push(src.problem(path, message, hint, which));

  const zones = Object.keys(policy.zones);
  const identities = Object.keys(policy.identities);
  const services = new Map<string, string>(); // literal service → zone
  const globs: Array<{ pattern: string; zone: string }> = [];

  for (const [zoneName, zone] of Object.entries(policy.zones)) {
    if (zoneName === HOST_TARGET)
      add(
        ["zones", zoneName],
        `'${HOST_TARGET}' is reserved: in a flow's 'to' it names the Docker host itself`,
        "give the zone another name",
        "key",
      );
    if (zone.services.includes(HOST_TARGET))
      add(
        ["zones", zoneName, "services", zone.services.indexOf(HOST_TARGET)],
        `a service named '${HOST_TARGET}' cannot be told from the Docker host in flows`,
        "rename the compose service (the name 'host' is reserved for the Docker host)",
      );
    if (zone.services.length === 0 && !zone.labels) {
      add(
        ["zones", zoneName],
        `zone '${zoneName}' has no members`,
        "list its services (names or globs) or match them by labels",
        "key",
      );
    }
    zone.services.forEach((svc, i) => {
      if (isGlob(svc)) {
        globs.push({ pattern: svc, zone: zoneName });
        return;
      }
      const other = services.get(svc);
      if (other)
        add(
          ["zones", zoneName, "services", i],
          `service '${svc}' is in two zones ('${other}' and '${zoneName}')`,
          "a service belongs to exactly one zone; remove it from one of them",
        );
      else services.set(svc, zoneName);
      if (policy.zones[svc] && svc !== zoneName)
        add(
          ["zones", zoneName, "services", i],
          `'${svc}' is both a zone and a service`,
          "rename the zone or the service so flows are unambiguous",
        );
    });
    if (zone.subnet !== undefined && !parseCidr(zone.subnet))
      add(["zones", zoneName, "subnet"], `'${zone.subnet}' is not a CIDR`, "write it like 10.42.1.0/24");
  }
  for (const id of identities) {
    if (policy.zones[id] || services.has(id) || id === HOST_TARGET)
      add(
        ["identities", id],
        id === HOST_TARGET
          ? `'${HOST_TARGET}' is reserved for the Docker host`
          : `identity '${id}' has the same name as a zone or service`,
        "give the identity its own name",
        "key",
      );
    const identity = policy.identities[id]!;
    if (!identity.token_env && !identity.source?.length && !identity.services?.length) {
      add(
        ["identities", id],
        `identity '${id}' cannot be recognised`,
        "give it token_env (a Proxy-Authorization token), source CIDRs, or services",
        "key",
      );
    }
  }

  const principalNames = [...zones, ...services.keys(), ...identities];
  const knownPrincipal = (name: string) =>
    policy.zones[name] !== undefined ||
    services.has(name) ||
    policy.identities[name] !== undefined ||
    globs.some((g) => matchesGlob(g.pattern, name));
  const knownTarget = (name: string) =>
    policy.zones[name] !== undefined || services.has(name) || globs.some((g) => matchesGlob(g.pattern, name));

  const checkNames = (section: "flows" | "egress", index: number, side: "from" | "to", names: string[]) => {
    names.forEach((name, j) => {
      const path: Path = src.isList([section, index, side]) ? [section, index, side, j] : [section, index, side];
      if (name === HOST_TARGET) {
        if (side === "to" && section === "flows") return;
        add(
          path,
          section === "egress"
            ? `'${HOST_TARGET}' (the Docker host) is not an egress rule's client`
            : `'${HOST_TARGET}' (the Docker host) can only be a flow's destination`,
          section === "egress"
            ? "name zones, services or identities in 'from'"
            : `write it in 'to': { from: app, to: ${HOST_TARGET}, ports: [11434/tcp] }`,
        );
        return;
      }
      if (side === "to" && policy.identities[name]) {
        add(
          path,
          `'${name}' is an identity; identities are clients and cannot be a flow's destination`,
          "name a zone or a service in 'to'",
        );
        return;
      }
      const ok = side === "to" ? knownTarget(name) : knownPrincipal(name);
      if (ok) return;
      const candidates = side === "to" ? [...zones, ...services.keys()] : principalNames;
      const kind = side === "to" ? "zone or service" : "zone, service or identity";
      add(
        path,
        `unknown ${kind} '${name}' in ${section}[${index}].${side}`,
        didYouMean(name, candidates) ?? `define it under zones${side === "from" ? " or identities" : ""}`,
      );
    });
  };

  policy.flows.forEach((flow, i) => {
    checkNames("flows", i, "from", flow.from);
    checkNames("flows", i, "to", flow.to);
    flow.ports.forEach((port, j) => {
      try {
        parsePortSpec(port);
      } catch {
        add(
          ["flows", i, "ports", j],
          `port '${port}' is out of range`,
          "ports are 1-65535 and a range goes low-high, e.g. 8000-8100/tcp",
        );
      }
    });
  });

  policy.publish.forEach((pub, i) => {
    if (!knownTarget(pub.service))
      add(
        ["publish", i, "service"],
        `unknown service '${pub.service}' in publish[${i}]`,
        didYouMean(pub.service, services.keys()) ?? "list the service in a zone first",
      );
    try {
      parsePortSpec(pub.port);
    } catch {
      add(["publish", i, "port"], `port '${pub.port}' is out of range`, "ports are 1-65535");
    }
    if (pub.host !== undefined) {
      const host =
        pub.host.includes(":") && !pub.host.startsWith("[") && ipaddr.isValid(pub.host) ? `[${pub.host}]:0` : pub.host;
      const bare = ipaddr.isValid(pub.host);
      if (!bare && !parseHostPort(host))
        add(
          ["publish", i, "host"],
          `'${pub.host}' is not a host address`,
          "write 127.0.0.1, 127.0.0.1:3000 or [::1]:3000",
        );
    }
  });

  const principalsSeen = new Map<string, number>();
  policy.egress.forEach((rule, i) => {
    checkNames("egress", i, "from", rule.from);
    for (const name of rule.from) {
      const earlier = principalsSeen.get(name);
      if (earlier !== undefined)
        add(
          ["egress", i, "from"],
          `'${name}' already has an egress rule (egress[${earlier}])`,
          "merge the two rules: one rule per zone, service or identity keeps decisions explainable",
        );
      else principalsSeen.set(name, i);
    }
    if (rule.approval === "ask" && rule.mode !== "enforce")
      add(
        ["egress", i, "approval"],
        `approval: ask needs mode: enforce (this rule is '${rule.mode}')`,
        "in report and learn mode nothing is denied, so nothing waits for approval",
      );
    for (const list of ["allow", "deny"] as const) {
      rule[list].forEach((entry, j) => {
        const path: Path = ["egress", i, list, j];
        if (entry === "*" || entry === "**" || entry.startsWith("*:") || entry.startsWith("**:")) {
          if (list === "allow")
            add(
              path,
              `'${entry}' allows every destination`,
              "list the names the agents need; to discover them, set mode: learn and run 'corral policy suggest'",
            );
          return;
        }
        const dest = parseDestination(entry);
        if ("error" in dest) {
          add(path, dest.error, dest.hint);
          return;
        }
        if (list === "allow" && dest.host.kind === "wildcard" && tooBroad(dest.host.suffix)) {
          add(
            path,
            `'${entry}' allows a whole public suffix`,
            `name the domain: *.example.${dest.host.suffix} instead of *.${dest.host.suffix}`,
          );
        }
        if (list === "allow" && dest.host.kind === "cidr" && dest.host.prefix === 0) {
          add(path, `'${entry}' allows every address`, "list the ranges the agents need");
        }
      });
    }
  });

  // Ranges that identify clients or carve the floor must not overlap, or a decision depends on order.
  const ranges: Array<{ path: Path; owner: string; cidr: [ipaddr.IPv4 | ipaddr.IPv6, number]; text: string }> = [];
  for (const [id, identity] of Object.entries(policy.identities)) {
    (identity.source ?? []).forEach((text, j) => {
      const cidr =
        parseCidr(text) ??
        (ipaddr.isValid(text)
          ? ([ipaddr.parse(text), ipaddr.parse(text).kind() === "ipv4" ? 32 : 128] as [
              ipaddr.IPv4 | ipaddr.IPv6,
              number,
            ])
          : undefined);
      if (!cidr) add(["identities", id, "source", j], `'${text}' is not a CIDR`, "write it like 192.168.50.0/24");
      else ranges.push({ path: ["identities", id, "source", j], owner: `identity '${id}'`, cidr, text });
    });
  }
  for (const [zoneName, zone] of Object.entries(policy.zones)) {
    const cidr = zone.subnet ? parseCidr(zone.subnet) : undefined;
    if (cidr)
      ranges.push({ path: ["zones", zoneName, "subnet"], owner: `zone '${zoneName}'`, cidr, text: zone.subnet! });
  }
  for (let a = 0; a < ranges.length; a++) {
    for (let b = a + 1; b < ranges.length; b++) {
      const ra = ranges[a]!;
      const rb = ranges[b]!;
      if (ra.owner === rb.owner && !ra.owner.startsWith("zone")) continue;
      if (cidrsOverlap(ra.cidr, rb.cidr))
        add(
          rb.path,
          `${rb.text} (${rb.owner}) overlaps ${ra.text} (${ra.owner})`,
          "give each zone and identity its own address range",
        );
    }
  }
  policy.floor.allow_ranges.forEach((text, j) => {
    if (!parseCidr(text)) add(["floor", "allow_ranges", j], `'${text}' is not a CIDR`, "write it like 10.20.0.0/16");
  });

  for (const [name, profile] of Object.entries(policy.sandbox.profiles)) {
    for (const key of ["memory", "swap", "fsize"] as const) {
      const v = profile.limits[key];
      if (v !== undefined) {
        try {
          sizeBytes(v);
        } catch {
          add(["sandbox", "profiles", name, "limits", key], `'${v}' is not a size`, "write it like 512Mi or 1G");
        }
      }
    }
    if (profile.limits.wall !== undefined && durationMs(profile.limits.wall) <= 0)
      add(["sandbox", "profiles", name, "limits", "wall"], "the wall-clock limit must be positive", "e.g. wall: 60s");
  }

  const singleHost = (h: string) => {
    const d = parseDestination(h);
    return !("error" in d) && d.host.kind !== "wildcard" && d.host.kind !== "cidr" && d.port === undefined;
  };
  const checkClients = (path: Path, names: readonly string[]) =>
    names.forEach((n, j) => {
      if (knownPrincipal(n)) return;
      add(
        src.isList(path) ? [...path, j] : path,
        `unknown zone, service or identity '${n}'`,
        didYouMean(n, principalNames) ?? "define it under zones or identities",
      );
    });
  for (const [name, c] of Object.entries(policy.credentials)) {
    checkClients(["credentials", name, "for"], c.for);
    // The gate reads it wherever it runs (its container mounts it at the same path).
    if ("file" in c.value && !isAbsolute(c.value.file))
      add(
        ["credentials", name, "value", "file"],
        `'${c.value.file}' is a relative path`,
        "give the absolute path the gate reads, e.g. /run/secrets/openai",
      );
    if (!singleHost(c.to.host))
      add(
        ["credentials", name, "to", "host"],
        `'${c.to.host}' is not a host name or address`,
        "write the API's host, e.g. api.openai.com",
      );
  }
  policy.requests.forEach((r, i) => {
    checkClients(["requests", i, "from"], r.from);
    if (!singleHost(r.host))
      add(
        ["requests", i, "host"],
        `'${r.host}' is not a host name or address`,
        "write the API's host, e.g. api.openai.com",
      );
  });

  if (policy.audit?.checkpoint) {
    const logDir = resolve(baseDir, policy.audit.path);
    const key = resolve(baseDir, policy.audit.checkpoint.key);
    const rel = relative(logDir, key);
    if (!rel.startsWith("..") && !isAbsolute(rel)) {
      add(
        ["audit", "checkpoint", "key"],
        "the checkpoint key is inside the audit log directory",
        "keep the signing key outside the log directory (e.g. /etc/corral/audit.key), or whoever can rewrite the log can re-sign it",
      );
    }
  }
  const anchored = (policy.audit?.witnesses.length ?? 0) + (policy.audit?.anchor_sinks.length ?? 0);
  for (const [volume, v] of Object.entries(policy.seal?.volumes ?? {}))
    if (!v.key_file && !policy.seal?.key_service)
      add(
        ["seal", "volumes", volume],
        `sealed volume ${volume} has no key source`,
        "add seal.key_service (corral keys serve on another machine), or key_file (weaker: the key is on this host)",
      );
  if (policy.audit?.retention && !policy.audit.checkpoint)
    add(
      ["audit", "retention"],
      "retention replaces old segments with a signed summary, but the log has no checkpoint key",
      "add audit.checkpoint: { key: /etc/corral/audit.key }",
    );
  if (policy.audit && anchored > 0 && !policy.audit.checkpoint)
    add(
      ["audit", policy.audit.witnesses.length > 0 ? "witnesses" : "anchor_sinks"],
      "checkpoints are anchored off the host, but the log signs none",
      "add audit.checkpoint: { key: /etc/corral/audit.key } (corral audit keygen --key PATH)",
    );
  return problems;
}
