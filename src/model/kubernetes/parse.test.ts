import assert from "node:assert/strict";
import { test } from "node:test";
import { InputError } from "../errors.ts";
import type { Service } from "../types.ts";
import { kubernetesFromText } from "./parse.ts";

const F = "m.yaml";
const svc = (text: string, i = 0): Service => {
  const s = kubernetesFromText(text, F).services[i];
  assert.ok(s, "expected a workload");
  return s;
};

const WORKLOADS = `
apiVersion: v1
kind: ConfigMap
metadata: { name: cfg }
data: { a: b }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  template:
    metadata: { labels: { app: web } }
    spec: { containers: [{ name: c, image: nginx }] }
---
apiVersion: apps/v1
kind: StatefulSet
metadata: { name: db }
spec: { template: { metadata: { labels: { app: db } }, spec: { containers: [{ name: pg }] } } }
---
apiVersion: apps/v1
kind: DaemonSet
metadata: { name: agent }
spec: { template: { spec: { containers: [{ name: a }] } } }
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: { name: rs }
spec: { template: { spec: { containers: [{ name: a }] } } }
---
apiVersion: v1
kind: Pod
metadata: { name: lone, labels: { run: lone } }
spec: { containers: [{ name: a }] }
---
apiVersion: batch/v1
kind: Job
metadata: { name: migrate }
spec: { template: { spec: { containers: [{ name: m }] } } }
---
apiVersion: batch/v1
kind: CronJob
metadata: { name: nightly }
spec:
  jobTemplate:
    spec:
      template:
        metadata: { labels: { job: nightly } }
        spec: { containers: [{ name: n, image: busybox }] }
---
apiVersion: v1
kind: Secret
metadata: { name: s }
---
`;

test("every workload kind becomes a Service; other kinds are ignored", () => {
  const d = kubernetesFromText(WORKLOADS, F);
  assert.equal(d.platform, "kubernetes");
  assert.deepEqual(d.networks, []);
  assert.deepEqual(d.diagnostics, []);
  assert.deepEqual(
    d.services.map((s) => [s.namespace, s.kind, s.name, s.labels]),
    [
      ["shop", "Deployment", "web", { app: "web" }],
      ["default", "StatefulSet", "db", { app: "db" }],
      ["default", "DaemonSet", "agent", {}],
      ["default", "ReplicaSet", "rs", {}],
      ["default", "Pod", "lone", { run: "lone" }],
      ["default", "Job", "migrate", {}],
      ["default", "CronJob", "nightly", { job: "nightly" }],
    ],
  );
  assert.equal(d.services[6]?.containers[0]?.image, "busybox");
  assert.deepEqual(d.services[1]?.pos, { file: F, line: 16, col: 1 });
});

test("kind: List items are read like documents", () => {
  const d = kubernetesFromText(
    `apiVersion: v1
kind: List
items:
  - apiVersion: v1
    kind: Pod
    metadata: { name: p1 }
    spec:
      containers:
        - name: c
          securityContext: { privileged: true }
  - apiVersion: v1
    kind: Service
    metadata: { name: s1 }
    spec: { selector: { a: b }, ports: [{ port: 80 }] }
`,
    F,
  );
  assert.equal(d.services[0]?.name, "p1");
  assert.equal(d.services[0]?.containers[0]?.privileged, true);
  // Positions are relative to the item, pointing at the right line of the file.
  assert.deepEqual(d.services[0]?.positions["spec.containers.0.securityContext.privileged"], {
    file: F,
    line: 10,
    col: 30,
  });
  assert.equal(d.k8s?.services[0]?.name, "s1");
});

test("pod spec fields: host namespaces, security contexts, mounts, env, resources, ports, probes", () => {
  const s = svc(`apiVersion: apps/v1
kind: Deployment
metadata: { name: api, namespace: ai }
spec:
  template:
    metadata:
      labels: { app: api }
      annotations:
        container.apparmor.security.beta.kubernetes.io/main: unconfined
    spec:
      hostNetwork: true
      hostPID: true
      hostIPC: true
      automountServiceAccountToken: false
      securityContext:
        runAsUser: 1000
        runAsNonRoot: true
        seccompProfile: { type: RuntimeDefault }
      volumes:
        - { name: sock, hostPath: { path: /var/run/docker.sock } }
        - { name: tmp, emptyDir: {} }
        - { name: cfg, configMap: { name: cfg } }
      initContainers:
        - name: init
          image: busybox
          securityContext: { runAsUser: 0, seccompProfile: { type: Unconfined } }
      containers:
        - name: main
          image: app:1
          securityContext:
            privileged: true
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: { add: [NET_ADMIN], drop: [ALL] }
          volumeMounts:
            - { name: sock, mountPath: /var/run/docker.sock }
            - { name: tmp, mountPath: /tmp }
            - { name: cfg, mountPath: /etc/app, readOnly: true }
          env:
            - { name: PLAIN, value: x }
            - name: KEY
              valueFrom: { secretKeyRef: { name: s, key: k } }
            - name: CM
              valueFrom: { configMapKeyRef: { name: c, key: k } }
            - name: NODE
              valueFrom: { fieldRef: { fieldPath: spec.nodeName } }
          resources: { limits: { memory: 256Mi, cpu: 250m } }
          ports:
            - { containerPort: 8080, name: http }
            - { containerPort: 53, protocol: UDP, hostPort: 5353 }
            - { containerPort: 9090, hostPort: 9090, hostIP: 127.0.0.1 }
          readinessProbe:
            tcpSocket: { port: 8080 }
`);
  assert.equal(s.namespace, "ai");
  assert.deepEqual(s.networkMode, { kind: "host" });
  assert.equal(s.pid, "host");
  assert.equal(s.ipc, "host");
  assert.equal(s.automountServiceAccountToken, false);
  const [main, init] = s.containers;
  assert.ok(main && init);
  assert.equal(main.name, "main");
  assert.equal(main.privileged, true);
  assert.equal(main.noNewPrivileges, true);
  assert.equal(main.readOnlyRootfs, true);
  assert.deepEqual(main.capAdd, ["NET_ADMIN"]);
  assert.deepEqual(main.capDrop, ["ALL"]);
  assert.equal(main.user, "1000");
  assert.equal(main.runAsNonRoot, true);
  assert.equal(main.seccomp, "default");
  assert.equal(main.apparmor, "unconfined");
  assert.deepEqual(
    main.mounts.map((m) => [m.type, m.source, m.target, m.readOnly]),
    [
      ["hostPath", "/var/run/docker.sock", "/var/run/docker.sock", false],
      ["emptyDir", "tmp", "/tmp", false],
      ["other", "cfg", "/etc/app", true],
    ],
  );
  assert.deepEqual(
    main.env.map((e) => [e.name, e.value, e.from]),
    [
      ["PLAIN", "x", "inline"],
      ["KEY", undefined, "secretRef"],
      ["CM", undefined, "configMapRef"],
      ["NODE", undefined, "fieldRef"],
    ],
  );
  assert.deepEqual(main.resources, { memory: 256 * 2 ** 20, cpus: 0.25 });
  assert.deepEqual(main.listens, [
    { from: 8080, to: 8080, protocol: "tcp", name: "http" },
    { from: 53, to: 53, protocol: "udp" },
    { from: 9090, to: 9090, protocol: "tcp" },
  ]);
  assert.deepEqual(main.healthcheck?.test, ["TCP", "8080"]);
  assert.deepEqual(
    s.ports.map((p) => [p.hostIp, p.hostIpDefaulted, p.hostPort, p.target, p.protocol]),
    [
      ["0.0.0.0", true, { from: 5353, to: 5353 }, { from: 53, to: 53 }, "udp"],
      ["127.0.0.1", false, { from: 9090, to: 9090 }, { from: 9090, to: 9090 }, "tcp"],
    ],
  );
  // Init containers inherit the pod context and override it.
  assert.equal(init.user, "0");
  assert.equal(init.runAsNonRoot, true);
  assert.equal(init.seccomp, "unconfined");
  assert.equal(init.apparmor, undefined);
  assert.deepEqual(s.positions["spec.template.spec.hostNetwork"], { file: F, line: 11, col: 7 });
  assert.deepEqual(s.positions["spec.template.spec.containers.0.securityContext.privileged"], {
    file: F,
    line: 31,
    col: 13,
  });
  assert.deepEqual(main.pos, { file: F, line: 28, col: 11 });
  assert.equal(s.containers[0]?.mounts[0]?.pos.line, 36);
});

test("securityContext.appArmorProfile and Localhost profiles", () => {
  const s = svc(`kind: Pod
metadata: { name: p }
spec:
  securityContext: { appArmorProfile: { type: RuntimeDefault } }
  containers:
    - name: a
      securityContext: { appArmorProfile: { type: Localhost, localhostProfile: x }, seccompProfile: { type: Localhost } }
    - name: b
`);
  assert.equal(s.containers[0]?.apparmor, "profile");
  assert.equal(s.containers[0]?.seccomp, "profile");
  assert.equal(s.containers[1]?.apparmor, "default");
  assert.equal(s.containers[1]?.seccomp, undefined);
  assert.equal(s.containers[1]?.noNewPrivileges, false);
});

test("Services: type, headless, ports with defaults", () => {
  const d = kubernetesFromText(
    `kind: Service
metadata: { name: a, namespace: x }
spec:
  type: NodePort
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: http, nodePort: 30080 }, { port: 53, protocol: UDP, targetPort: "5353" }]
---
kind: Service
metadata: { name: h }
spec: { clusterIP: None, selector: { app: db } }
`,
    F,
  );
  assert.deepEqual(
    d.k8s?.services.map((s) => [s.namespace, s.name, s.type, s.selector, s.ports]),
    [
      [
        "x",
        "a",
        "NodePort",
        { app: "web" },
        [
          { name: "http", port: 80, targetPort: "http", nodePort: 30080, protocol: "tcp" },
          { port: 53, targetPort: 5353, protocol: "udp" },
        ],
      ],
      ["default", "h", "Headless", { app: "db" }, []],
    ],
  );
});

test("NetworkPolicy: full structure and API-server defaults", () => {
  const d = kubernetesFromText(
    `kind: NetworkPolicy
metadata: { name: np, namespace: ai }
spec:
  podSelector:
    matchLabels: { app: api }
    matchExpressions: [{ key: tier, operator: In, values: [backend] }]
  ingress:
    - from:
        - podSelector: { matchLabels: { app: web } }
        - namespaceSelector: { matchLabels: { team: ops } }
          podSelector: {}
        - ipBlock: { cidr: 10.0.0.0/8, except: [10.1.0.0/16] }
      ports:
        - { port: 8080 }
        - { port: http, protocol: TCP }
        - { port: 30000, endPort: 30100, protocol: UDP }
    - {}
  egress:
    - to: []
---
kind: NetworkPolicy
metadata: { name: deny }
spec: { podSelector: {} }
---
kind: NetworkPolicy
metadata: { name: egress-only }
spec: { podSelector: {}, policyTypes: [Egress] }
`,
    F,
  );
  const [np, deny, eo] = d.k8s?.networkPolicies ?? [];
  assert.ok(np && deny && eo);
  assert.deepEqual(np.podSelector, {
    matchLabels: { app: "api" },
    matchExpressions: [{ key: "tier", operator: "In", values: ["backend"] }],
  });
  assert.deepEqual(np.policyTypes, ["Ingress", "Egress"]);
  assert.deepEqual(np.ingress[0], {
    peers: [
      { podSelector: { matchLabels: { app: "web" }, matchExpressions: [] } },
      {
        namespaceSelector: { matchLabels: { team: "ops" }, matchExpressions: [] },
        podSelector: { matchLabels: {}, matchExpressions: [] },
      },
      { ipBlock: { cidr: "10.0.0.0/8", except: ["10.1.0.0/16"] } },
    ],
    ports: [
      { protocol: "tcp", port: 8080 },
      { protocol: "tcp", port: "http" },
      { protocol: "udp", port: 30000, endPort: 30100 },
    ],
  });
  assert.deepEqual(np.ingress[1], {});
  // An empty `to` means every peer in Kubernetes, the same as a missing one.
  assert.deepEqual(np.egress, [{}]);
  assert.deepEqual(deny.policyTypes, ["Ingress"]);
  assert.equal(deny.namespace, "default");
  assert.deepEqual(deny.ingress, []);
  assert.deepEqual(eo.policyTypes, ["Egress"]);
});

test("namespaces: declared ones keep labels; implicit ones get the name label", () => {
  const d = kubernetesFromText(
    `kind: Namespace
metadata: { name: ai, labels: { team: ml } }
---
kind: Pod
metadata: { name: p, namespace: ai }
spec: { containers: [{ name: c }] }
---
kind: Pod
metadata: { name: q, namespace: web }
spec: { containers: [{ name: c }] }
`,
    F,
  );
  assert.deepEqual(d.k8s?.namespaces, [
    { name: "ai", labels: { team: "ml", "kubernetes.io/metadata.name": "ai" } },
    { name: "web", labels: { "kubernetes.io/metadata.name": "web" } },
  ]);
});

test("defaultNamespace option applies to objects without one", () => {
  const d = kubernetesFromText("kind: Pod\nmetadata: { name: p }\nspec: { containers: [] }\n", F, {
    defaultNamespace: "team",
  });
  assert.equal(d.services[0]?.namespace, "team");
});

test("bad input: clear errors with positions", () => {
  const expectError = (text: string, line: number, re: RegExp) => {
    assert.throws(
      () => kubernetesFromText(text, F),
      (e: unknown) => {
        assert.ok(e instanceof InputError);
        assert.equal(e.pos?.file, F);
        assert.equal(e.pos?.line, line);
        assert.match(e.message, re);
        assert.ok(e.hint);
        return true;
      },
    );
  };
  expectError("kind: Pod\nmetadata: { name: p }\nspec:\n  containers: {a: 1}\n", 4, /containers: expected a list/);
  expectError("kind: Pod\nmetadata: { name: p\n", 3, /invalid YAML/);
  expectError("kind: Deployment\nmetadata: {}\n", 2, /no metadata.name/);
  expectError(
    "kind: NetworkPolicy\nmetadata: { name: n }\nspec:\n  podSelector:\n    matchExpressions: [{ key: a, operator: in }]\n",
    5,
    /operator: expected one of In/,
  );
  expectError(
    "kind: Pod\nmetadata: { name: p }\nspec:\n  containers:\n    - name: c\n      ports: [{ containerPort: 80, protocol: HTTP }]\n",
    6,
    /expected TCP, UDP or SCTP/,
  );
  expectError("- just\n- a list\n", 1, /expected a Kubernetes object/);
  expectError(
    "kind: NetworkPolicy\nmetadata: { name: n }\nspec:\n  podSelector: {}\n  egress:\n    - to:\n        - ipBlock: { cidr: 10.0.0.0/33 }\n",
    7,
    /ipBlock.cidr: expected a CIDR/,
  );
});

test("a document without kind is skipped with a warning; duplicates are flagged", () => {
  const d = kubernetesFromText(
    `metadata: { name: x }
---
kind: Deployment
metadata: { name: web }
spec: { template: { spec: { containers: [] } } }
---
kind: Job
metadata: { name: web }
spec: { template: { spec: { containers: [] } } }
`,
    F,
  );
  assert.equal(d.diagnostics.length, 2);
  assert.match(d.diagnostics[0]?.message ?? "", /no `kind`/);
  assert.match(d.diagnostics[1]?.message ?? "", /two workloads are named default\/web/);
});

test("helm template output: comment-only documents and # Source headers", () => {
  const d = kubernetesFromText(
    `---
# Source: chart/templates/serviceaccount.yaml
---
# Source: chart/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: release-app
  labels: { helm.sh/chart: app-1.0.0 }
spec:
  template:
    metadata: { labels: { app.kubernetes.io/name: app } }
    spec:
      containers:
        - name: app
          image: "app:1.0.0"
          env: [{ name: PORT, value: 8080 }]
---
`,
    F,
  );
  assert.deepEqual(
    d.services.map((s) => s.name),
    ["release-app"],
  );
  assert.equal(d.services[0]?.containers[0]?.env[0]?.value, "8080");
  assert.deepEqual(d.diagnostics, []);
});

test("kubectl get -o json: a JSON List", () => {
  const d = kubernetesFromText(
    JSON.stringify({
      apiVersion: "v1",
      kind: "List",
      items: [
        {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: "p", namespace: "x" },
          spec: { containers: [{ name: "c" }] },
        },
        { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm" } },
      ],
    }),
    "get.json",
  );
  assert.deepEqual(
    d.services.map((s) => `${s.namespace}/${s.name}`),
    ["x/p"],
  );
});
