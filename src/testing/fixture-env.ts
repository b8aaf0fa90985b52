// The .env a user writes beside a fixture that ships none (upstream keeps it elsewhere in its
// repository): the reference test and the stack tests read the same values.

/** RAGFlow's docker/.env defaults, for every profile its compose files name. */
export function ragflowDotenv(): string {
  return [
    "STACK_VERSION=8.11.3",
    "ES_PORT=1200",
    "OS_PORT=1201",
    "ELASTIC_PASSWORD=infini_rag_flow",
    "OPENSEARCH_PASSWORD=infini_rag_flow_OS_01",
    "KIBANA_PORT=6601",
    "MEM_LIMIT=8073741824",
    "INFINITY_THRIFT_PORT=23817",
    "INFINITY_HTTP_PORT=23820",
    "INFINITY_PSQL_PORT=5432",
    "MYSQL_PASSWORD=infini_rag_flow",
    "EXPOSE_MYSQL_PORT=5455",
    "MINIO_PORT=9000",
    "MINIO_CONSOLE_PORT=9001",
    "MINIO_USER=rag_flow",
    "MINIO_PASSWORD=infini_rag_flow",
    "REDIS_PORT=6379",
    "REDIS_PASSWORD=infini_rag_flow",
    "SERENEDB_PORT=5433",
    "SERENEDB_PASSWORD=infini_rag_flow",
    "TEI_MODEL=BAAI/bge-small-en-v1.5",
    "TEI_IMAGE_CPU=infiniflow/text-embeddings-inference:cpu-1.8",
    "TEI_IMAGE_GPU=infiniflow/text-embeddings-inference:1.8",
    "SVR_WEB_HTTP_PORT=80",
    "SVR_WEB_HTTPS_PORT=443",
    "SVR_HTTP_PORT=9380",
    "ADMIN_SVR_HTTP_PORT=9381",
    "SVR_MCP_PORT=9382",
    "GO_HTTP_PORT=9384",
    "GO_ADMIN_PORT=9383",
    "RAGFLOW_IMAGE=infiniflow/ragflow:v0.22.1",
    "TZ=Asia/Shanghai",
    "",
  ].join("\n");
}
