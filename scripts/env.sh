# Sourced by the other scripts: puts a Node.js >= 22 first in PATH. Uses the machine's node when
# it is new enough; otherwise installs Node 24 LTS from the npm registry into .cache/node24.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }

if ! command -v node >/dev/null 2>&1 || [ "$(node_major)" -lt 22 ]; then
  NODE_DIR="$ROOT/.cache/node24"
  if [ ! -x "$NODE_DIR/node_modules/.bin/node" ]; then
    echo "corral: Node.js >= 22 not found; installing node@24 from the npm registry into .cache/node24" >&2
    npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error node@24 >&2
  fi
  export PATH="$NODE_DIR/node_modules/.bin:$PATH"
  for headers in "$NODE_DIR"/node_modules/node/node_modules/node-linux-*; do
    [ -d "$headers" ] && export npm_config_nodedir="$headers"
  done
fi
