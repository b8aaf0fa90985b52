import assert from "node:assert/strict";
import { test } from "node:test";
import { tierOf } from "./tiers.ts";

test("data stores by image", () => {
  for (const image of [
    "docker.io/library/postgres:15",
    "redis/redis-stack-server:latest",
    "pgvector/pgvector:pg16",
    "qdrant/qdrant",
    "quay.io/minio/minio:RELEASE.2024",
    "chromadb/chroma:0.5",
    "valkey/valkey:8@sha256:abcd",
    "falkordb/falkordb",
    "elasticsearch:8.11.3",
  ]) {
    assert.equal(tierOf("x", image), "data", image);
  }
});

test("web tier by image and by name, admin UIs are web", () => {
  assert.equal(tierOf("proxy", "nginx:stable-alpine"), "web");
  assert.equal(tierOf("gui"), "web");
  assert.equal(tierOf("open-webui", "ghcr.io/open-webui/open-webui:main"), "web");
  assert.equal(tierOf("mongo-express", "mongo-express"), "web");
  assert.equal(tierOf("pgadmin", "dpage/pgadmin4"), "web");
  assert.equal(tierOf("x", "traefik:v3.1"), "web");
});

test("everything else is an agent", () => {
  assert.equal(tierOf("backend"), "agents");
  assert.equal(tierOf("celery"), "agents");
  assert.equal(tierOf("openhands", "openhands:latest"), "agents");
  assert.equal(tierOf("n8n", "n8nio/n8n:latest"), "agents");
});

test("a service named after a data store without an image is data", () => {
  assert.equal(tierOf("super__postgres"), "data");
  assert.equal(tierOf("db"), "data");
});

test("search engines hold data: Meilisearch and Typesense are data stores", () => {
  // LibreChat's meilisearch was an "agent" before, so it drew agent-egress findings instead of data ones
  assert.equal(tierOf("meilisearch", "getmeili/meilisearch:v1.12.3"), "data");
  assert.equal(tierOf("search", "typesense/typesense:27.1"), "data");
});
