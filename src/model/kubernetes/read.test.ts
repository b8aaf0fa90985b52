import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fixture, sharedSkip } from "../../testing/shared.ts";
import { InputError } from "../errors.ts";
import { readKubernetes } from "./read.ts";

test("anything-llm manifest: golden summary", { skip: sharedSkip() }, () => {
  const file = fixture("kubernetes", "anything-llm", "manifest.yaml");
  const d = readKubernetes([file]);
  const summary = {
    services: d.services.map((s) => ({
      id: `${s.namespace}/${s.name}`,
      kind: s.kind,
      line: s.pos.line,
      labels: s.labels,
      networkMode: s.networkMode.kind,
      ports: s.ports.length,
      containers: s.containers.map((c) => ({
        name: c.name,
        image: c.image,
        privileged: c.privileged,
        user: c.user,
        runAsNonRoot: c.runAsNonRoot,
        capAdd: c.capAdd,
        noNewPrivileges: c.noNewPrivileges,
        resources: c.resources,
        mounts: c.mounts.map((m) => `${m.type}:${m.target}`),
        env: c.env.map((e) => e.name),
        healthcheck: c.healthcheck?.test,
      })),
    })),
    k8sServices: d.k8s?.services.map((s) => ({ name: s.name, type: s.type, selector: s.selector, ports: s.ports })),
    namespaces: d.k8s?.namespaces,
    policies: d.k8s?.networkPolicies.length,
    diagnostics: d.diagnostics,
  };
  assert.deepEqual(summary, {
    services: [
      {
        id: "{{ namespace }}/anything-llm",
        kind: "Deployment",
        line: 41,
        labels: {
          "anything-llm": "true",
          "k8s-app": "anything-llm",
          "app.kubernetes.io/name": "anything-llm",
          "app.kubernetes.io/part-of": "anything-llm",
        },
        networkMode: "bridge",
        ports: 0,
        containers: [
          {
            name: "anything-llm",
            image: "mintplexlabs/anythingllm:render",
            privileged: false,
            user: "1000",
            runAsNonRoot: true,
            capAdd: ["SYS_ADMIN"],
            noNewPrivileges: false,
            resources: { memory: 1073741824, cpus: 0.5 },
            mounts: ["other:/storage"],
            env: [
              "AWS_REGION",
              "AWS_ACCESS_KEY_ID",
              "AWS_SECRET_ACCESS_KEY",
              "SERVER_PORT",
              "JWT_SECRET",
              "STORAGE_DIR",
              "NODE_ENV",
              "UID",
              "GID",
            ],
            healthcheck: ["HTTP-GET", "8888/v1/api/health"],
          },
        ],
      },
    ],
    k8sServices: [
      {
        name: "anything-llm-svc",
        type: "ClusterIP",
        selector: { "k8s-app": "anything-llm" },
        ports: [
          { name: "traffic", port: 3301, targetPort: 3001, protocol: "tcp" },
          { name: "metrics", port: 9090, targetPort: 9090, protocol: "tcp" },
        ],
      },
    ],
    namespaces: [{ name: "{{ namespace }}", labels: { "kubernetes.io/metadata.name": "{{ namespace }}" } }],
    policies: 0,
    diagnostics: [],
  });
  const s = d.services[0]!;
  assert.equal(s.positions["spec.template.spec.containers.0.securityContext.capabilities.add.0"]?.line, 100);
});

test("directories are read in name order; a missing file is an InputError", () => {
  const dir = mkdtempSync(join(tmpdir(), "corral-k8s-"));
  try {
    writeFileSync(join(dir, "b.yaml"), "kind: Pod\nmetadata: { name: b }\nspec: { containers: [] }\n");
    writeFileSync(join(dir, "a.yml"), "kind: Pod\nmetadata: { name: a }\nspec: { containers: [] }\n");
    writeFileSync(join(dir, "notes.txt"), "not a manifest");
    const d = readKubernetes([dir]);
    assert.deepEqual(
      d.services.map((s) => s.name),
      ["a", "b"],
    );
    assert.deepEqual(d.files, [join(dir, "a.yml"), join(dir, "b.yaml")]);
    assert.throws(() => readKubernetes([join(dir, "nope.yaml")]), InputError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
