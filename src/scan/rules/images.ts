// Image references: mutable tags and missing digests. (CIS Docker 4.x/5.27; KICS, Checkov
// CKV_K8S_14/43, kube-score container-image-tag, Trivy KSV013.)
import type { Container, Service } from "../../model/types.ts";
import type { Rule } from "../types.ts";
import { containerPos } from "../where.ts";
import { inCtr, perContainer } from "./util.ts";

export interface ImageRef {
  name: string;
  tag?: string;
  digest?: string;
}

/** `registry:5000/org/name:tag@sha256:…` → parts. A colon after the last slash is the tag. */
export function parseImage(ref: string): ImageRef {
  const [withTag = "", digest] = ref.split("@", 2);
  const slash = withTag.lastIndexOf("/");
  const colon = withTag.lastIndexOf(":");
  const hasTag = colon > slash;
  return {
    name: hasTag ? withTag.slice(0, colon) : withTag,
    ...(hasTag ? { tag: withTag.slice(colon + 1) } : {}),
    ...(digest ? { digest } : {}),
  };
}

/** Images pulled from a registry: skip locally built ones and unresolved variables. */
function pulled(c: Container): ImageRef | undefined {
  if (c.build || !c.image || c.image.includes("${") || c.image.includes("{{")) return undefined;
  return parseImage(c.image.trim());
}

// Branch-style tags move with every push exactly like `latest` (Open WebUI ships `:main`).
const MUTABLE_TAGS = new Set(["latest", "main", "master", "nightly", "edge", "dev", "develop"]);

function mutableTag(ref: ImageRef): boolean {
  return ref.tag !== undefined && MUTABLE_TAGS.has(ref.tag.toLowerCase());
}

function imagePos(s: Service, c: Container) {
  return containerPos(s, c, ["image"], ["image"]);
}

export const imageRules: Rule[] = [
  {
    id: "CRL-I001",
    title: "Image uses the latest tag or a branch tag",
    severity: "medium",
    family: "images",
    cwe: "CWE-1357",
    platforms: ["compose", "kubernetes"],
    rationale:
      "`latest` (and branch tags such as `main`, `nightly`, `dev`) change under you: each pull may run different, unreviewed code, and a rollback cannot name what ran before.",
    fix: "image: redis/redis-stack-server:7.4.0-v1@sha256:<digest>",
    references: ["KICS", "Checkov CKV_K8S_14", "kube-score container-image-tag", "Trivy KSV013"],
    check: (ctx) =>
      perContainer(ctx, (s, c) => {
        const ref = pulled(c);
        return ref && mutableTag(ref) && !ref.digest
          ? {
              service: s,
              message: `image ${c.image} uses the mutable ${ref.tag} tag${inCtr(s, c)}`,
              pos: imagePos(s, c),
            }
          : undefined;
      }),
  },
  {
    id: "CRL-I002",
    title: "Image has no tag",
    severity: "medium",
    family: "images",
    cwe: "CWE-1357",
    platforms: ["compose", "kubernetes"],
    rationale: "An image without a tag or digest means `latest`: whatever the registry serves today.",
    fix: "image: qdrant/qdrant:v1.12.4@sha256:<digest>",
    references: ["KICS", "Checkov CKV_K8S_14", "kube-score container-image-tag"],
    check: (ctx) =>
      perContainer(ctx, (s, c) => {
        const ref = pulled(c);
        return ref && !ref.tag && !ref.digest
          ? {
              service: s,
              message: `image ${c.image} has no tag (implicitly latest)${inCtr(s, c)}`,
              pos: imagePos(s, c),
            }
          : undefined;
      }),
  },
  {
    id: "CRL-I003",
    title: "Image not pinned by digest",
    severity: "low",
    family: "images",
    cwe: "CWE-494",
    platforms: ["compose", "kubernetes"],
    rationale: "Tags can be re-pushed; only a digest guarantees the bytes you reviewed are the bytes that run.",
    fix: "image: postgres:16.4@sha256:<digest>   # `docker buildx imagetools inspect postgres:16.4` prints it",
    references: ["CIS Docker 5.27", "Checkov CKV_K8S_43"],
    check: (ctx) =>
      perContainer(ctx, (s, c) => {
        const ref = pulled(c);
        return ref?.tag && !mutableTag(ref) && !ref.digest
          ? { service: s, message: `image ${c.image} is not pinned by digest${inCtr(s, c)}`, pos: imagePos(s, c) }
          : undefined;
      }),
  },
];
