import { existsSync, statSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, isAbsolute, join, relative, resolve } from "node:path";
import { GATE_UID, type OverlayOptions } from "../compile/compose-overlay.ts";
import { applyRuleset, NftError } from "../compile/nft-apply.ts";
import { compileTarget, TARGETS, type Target } from "../compile/targets.ts";
import { DockerClient, socketPath } from "../engine/docker-api.ts";
import { type EnforceReport, Enforcer } from "../engine/enforce.ts";
import { liveRuleset } from "../engine/live-ruleset.ts";
import { readDeployment } from "../model/load.ts";
import type { Deployment } from "../model/types.ts";
import { type LoadedPolicy, loadPolicy, type Policy } from "../policy/index.ts";
import { paint } from "../report/paint.ts";
import { parseCommandArgs } from "./args.ts";
import { type Command, EXIT, UsageError } from "./command.ts";
import { printDiagnostics } from "./diagnostics.ts";
import { describeReport } from "./enforce.ts";
import { PACKAGE_ROOT, packageVersion } from "./package-root.ts";

/**
 * A host path as Compose resolves it in any `-f` file: relative to the project directory (the
 * first file's folder), not to the file that names it. Absolute when no relative path exists.
 */
export function composePath(projectDir: string, path: string): string {
  const rel = relative(projectDir, path);
  if (rel === "") return ".";
  if (isAbsolute(rel)) return path;
  return rel.startsWith("..") ? rel : `./${rel}`;
}

/**
 * How the overlay's gate container gets its image and files. Every host path is checked here:
 * a missing one is an error now, not a gate crash-looping in its container later.
 */
function gateContainer(
  policy: Policy,
  policyPath: string,
  projectDir: string,
  gateImage: string | undefined,
  targets: readonly string[],
): OverlayOptions {
  const out: OverlayOptions = { policyPath: composePath(projectDir, policyPath) };
  if (!targets.includes("compose")) return out;
  const sealed = Object.keys(policy.seal?.volumes ?? {});
  if (policy.seal && sealed.length > 0)
    out.sealed = { dir: composePath(projectDir, resolve(dirname(policyPath), policy.seal.dir)), volumes: sealed };
  const key = policy.audit?.checkpoint?.key;
  if (key) {
    const keyPath = isAbsolute(key) ? key : resolve(dirname(policyPath), key);
    if (!existsSync(keyPath))
      throw new UsageError(
        `audit.checkpoint.key ${keyPath} does not exist; the gate container would fail to start`,
        `create it with: corral audit keygen --key ${keyPath}`,
      );
    // The key stays 0600 (the audit writer refuses anything looser), so only its owner reads it:
    // that must be the gate image's unprivileged user, who also owns the state volume.
    if (statSync(keyPath).uid !== GATE_UID)
      throw new UsageError(
        `audit.checkpoint.key ${keyPath} is not owned by uid ${GATE_UID}, the gate container's user, which could not read it`,
        `give the key to the gate's user: chown ${GATE_UID}:${GATE_UID} ${keyPath} (it stays mode 0600)`,
      );
    out.auditKeyPath = composePath(projectDir, keyPath);
  }
  const witnesses = policy.audit?.witnesses ?? [];
  if (witnesses.length > 0)
    out.witnessKeys = witnesses.map((w) => {
      const path = isAbsolute(w.key) ? w.key : resolve(dirname(policyPath), w.key);
      if (!existsSync(path))
        throw new UsageError(
          `audit.witnesses key ${path} does not exist; the gate container would fail to start`,
          "copy DIR/witness.pub from the machine that runs 'corral audit witness'",
        );
      return { url: w.url, path: composePath(projectDir, path) };
    });
  if (gateImage) return { ...out, gateImage };
  if (!existsSync(join(PACKAGE_ROOT, "docker/gate/Dockerfile")))
    throw new UsageError(
      `the gate's Dockerfile is missing from ${PACKAGE_ROOT}`,
      "reinstall Corral, or name a prebuilt image with --gate-image REF",
    );
  if (!existsSync(join(PACKAGE_ROOT, "dist/cli/main.js")))
    throw new UsageError(
      `the gate image is built from Corral's dist/, which ${PACKAGE_ROOT} lacks`,
      "run npm run build in Corral's checkout, or name a prebuilt image with --gate-image REF",
    );
  return { ...out, gateBuildContext: composePath(projectDir, PACKAGE_ROOT), gateTag: packageVersion() };
}

/**
 * The one-shot load: the file's addresses are the lab's, so the ruleset is rendered from the
 * engine's running containers, as `corral enforce --once` does. Without an engine it seals
 * rather than leave a previous policy in force.
 */
async function applyLive(
  loaded: LoadedPolicy,
  deployment: Deployment,
  logGroup: number,
  env: NodeJS.ProcessEnv,
  netns: string | undefined,
): Promise<EnforceReport> {
  const ruleset = liveRuleset(loaded.policy, deployment, { comment: `policy sha256 ${loaded.hash}`, logGroup });
  let socket: string;
  try {
    socket = socketPath(env.DOCKER_HOST);
  } catch (err) {
    throw new UsageError((err as Error).message, "run compile --apply on the Docker host");
  }
  const enforcer = new Enforcer({
    project: deployment.project ?? "",
    client: new DockerClient(socket),
    members: ruleset.members,
    render: ruleset.render,
    whenUnreachable: "seal",
    ...(netns ? { netns } : {}),
  });
  return enforcer.reconcile("compile --apply");
}

export const command: Command = {
  name: "compile",
  summary: "turn the policy into enforcement (compose overlay, nftables, NetworkPolicy, Cilium, Traefik)",
  help: `usage: corral compile --policy corral.yaml -f docker-compose.yml [-f …] [--profile P]…
                      [--target compose|nftables|kubernetes|cilium|traefik]… [-o out/]
                      [--check] [--apply [--netns NAME]] [--log-group N] [--format text|json]
                      [--gate-image REF] [--project-directory DIR]

Writes one set of files per target (default: every target) into the output directory:
  compose     compose.corral.yml    use after the shipped file: docker compose -f … -f compose.corral.yml up
  nftables    corral.nft            table inet corral, loaded in one transaction with nft -f
  kubernetes  networkpolicies.yaml  default deny + one allow per flow, DNS and the gate
  cilium      cilium-egress.yaml    CiliumNetworkPolicy toFQDNs for the egress allowlists
  traefik     traefik-dynamic.yml   HSTS, rate limit, IP allow-list, TLS ≥ 1.2 for published routes

--check  validate the nftables ruleset against the kernel (nft -c), changing nothing
--apply  load it now (nft -f, atomic: a refused ruleset leaves the running one in place), with
         the addresses of the project's running containers on the engine at $DOCKER_HOST (as
         corral enforce --once); with no engine, the sealed ruleset. --netns runs nft inside
         a named network namespace. To keep the rules in step, run corral enforce.
--profile    compose profiles to activate (as docker compose --profile); services of
             inactive profiles are left out of the overlay
--log-group  NFLOG group for dropped packets (default 1; see docs/nftables.md for ulogd2)
--gate-image the gate's image; without it the overlay builds Corral's docker/gate/Dockerfile
             (base image: $CORRAL_GATE_BASE_IMAGE when set, else node:24-slim)
--project-directory  Compose's project directory (default: the first -f file's folder); the
             overlay's host paths are written relative to it, as Compose reads them
Exit codes: 0 written (and checked/applied), 1 nft refused the ruleset, 2 bad input.`,
  async run(args, ctx) {
    const { values } = parseCommandArgs("compile", args, {
      policy: { type: "string", short: "p", default: "corral.yaml" },
      file: { type: "string", short: "f", multiple: true },
      profile: { type: "string", multiple: true },
      target: { type: "string", short: "t", multiple: true },
      out: { type: "string", short: "o", default: "corral-out" },
      check: { type: "boolean", default: false },
      apply: { type: "boolean", default: false },
      netns: { type: "string" },
      "log-group": { type: "string", default: "1" },
      format: { type: "string", default: "text" },
      "gate-image": { type: "string" },
      "project-directory": { type: "string" },
    });
    const files = (values.file ?? []).map((f) => resolve(ctx.cwd, f));
    if (files.length === 0) throw new UsageError("no deployment file given", "pass -f docker-compose.yml");
    if (values.format !== "text" && values.format !== "json")
      throw new UsageError(`unknown format '${values.format}'`, "use --format text or json");
    const logGroup = Number(values["log-group"]);
    if (!Number.isInteger(logGroup) || logGroup < 0 || logGroup > 65535)
      throw new UsageError(`--log-group ${values["log-group"]} is not an NFLOG group`, "use a number from 0 to 65535");
    const asked = values.target?.flatMap((t) => t.split(","));
    for (const t of asked ?? [])
      if (!(TARGETS as readonly string[]).includes(t))
        throw new UsageError(`unknown target '${t}'`, `use one of ${TARGETS.join(", ")}`);

    const policyPath = resolve(ctx.cwd, values.policy);
    const loaded = await loadPolicy(policyPath);
    const deployment = readDeployment(files, { env: ctx.env, ...(values.profile ? { profiles: values.profile } : {}) });
    printDiagnostics(deployment.diagnostics, ctx);
    // The compose overlay and the host ruleset only make sense for a compose deployment.
    const hostOnly = ["compose", "nftables"];
    if (deployment.platform === "kubernetes" && asked?.some((t) => hostOnly.includes(t)))
      throw new UsageError(
        "the compose and nftables targets need a compose deployment",
        "for Kubernetes manifests use --target kubernetes, cilium or traefik",
      );
    const targets = asked ?? TARGETS.filter((t) => deployment.platform === "compose" || !hostOnly.includes(t));
    if ((values.check || values.apply) && !targets.includes("nftables"))
      throw new UsageError(
        "--check and --apply act on the nftables ruleset",
        "add --target nftables (compose deployments only)",
      );

    // Everything is compiled before anything is written or loaded: a compile error leaves no files.
    const outDir = resolve(ctx.cwd, values.out);
    const projectDir = values["project-directory"]
      ? resolve(ctx.cwd, values["project-directory"])
      : dirname(files[0] ?? policyPath);
    const gate = gateContainer(loaded.policy, policyPath, projectDir, values["gate-image"], targets);
    const outputs = new Map<string, string>();
    for (const t of new Set(targets) as Set<Target>) {
      const produced = compileTarget(t, loaded.policy, deployment, {
        ...gate,
        comment: `policy sha256 ${loaded.hash}`,
        logGroup,
      });
      for (const [name, text] of Object.entries(produced)) outputs.set(name, text);
    }
    await mkdir(outDir, { recursive: true });
    for (const [name, text] of outputs) await writeFile(join(outDir, name), text);

    const report: Record<string, unknown> = { out: outDir, files: [...outputs.keys()] };
    const nft = outputs.get("corral.nft");
    try {
      if (nft && values.check)
        report.check = await applyRuleset(nft, { check: true, ...(values.netns ? { netns: values.netns } : {}) });
      if (nft && values.apply) report.apply = await applyLive(loaded, deployment, logGroup, ctx.env, values.netns);
    } catch (err) {
      if (!(err instanceof NftError)) throw err;
      ctx.stderr.write(`${paint("error", "red", ctx.color)}: ${err.message}\n`);
      return EXIT.failed;
    }
    if (values.format === "json") {
      ctx.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
      return EXIT.ok;
    }
    for (const name of outputs.keys()) ctx.stdout.write(`wrote ${join(values.out, name)}\n`);
    if (report.check) ctx.stdout.write(`${paint("ok", "green", ctx.color)}: nft -c accepted corral.nft\n`);
    const applied = report.apply as EnforceReport | undefined;
    if (applied)
      ctx.stdout.write(
        `${paint("ok", "green", ctx.color)}: ${describeReport(applied, deployment.project ?? "?").replace(/^[^:]*: /, "")}${values.netns ? ` in netns ${values.netns}` : ""}\n`,
      );
    return EXIT.ok;
  },
};
