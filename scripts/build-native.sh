#!/bin/sh
# Builds Corral's small native helpers (native/*.c) into build/native/. Idempotent: a helper is
# rebuilt only when its source is newer. Needs a C compiler and libseccomp-dev
# (Debian/Ubuntu: apt-get install gcc libseccomp-dev; Fedora: dnf install gcc libseccomp-devel).
# The gate's DNS batching addon (dnsbatch.node) also needs Node's headers: $npm_config_nodedir, or
# the include/node directory beside the running node; without them it is skipped (the gate then
# uses its portable UDP path), except under CI=true, where a missing addon is an error.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
out="${CORRAL_NATIVE_DIR:-$root/build/native}"
cc="${CC:-cc}"
mkdir -p "$out"
build() { # name, extra flags...
  name=$1
  shift
  src="$root/native/$name.c"
  if [ ! -x "$out/$name" ] || [ "$src" -nt "$out/$name" ]; then
    "$cc" -O2 -Wall -Wextra -Werror -o "$out/$name.tmp" "$src" "$@"
    mv "$out/$name.tmp" "$out/$name"
  fi
}
# Node-API is ABI-stable: one build serves every Node >= 18.
node_headers() {
  for dir in "${npm_config_nodedir:-}/include/node" \
    "$(dirname "$(dirname "$(node -p 'require("fs").realpathSync(process.execPath)' 2>/dev/null || echo /nonexistent/x/y)")")/include/node" \
    /usr/include/node /usr/include/nodejs/src /usr/include/nodejs; do
    [ -f "$dir/node_api.h" ] && [ -f "$dir/uv.h" ] && { echo "$dir"; return 0; }
  done
  return 1
}
src="$root/native/dnsbatch.c"
if [ ! -f "$out/dnsbatch.node" ] || [ "$src" -nt "$out/dnsbatch.node" ]; then
  if headers=$(node_headers); then
    "$cc" -O2 -Wall -Wextra -Werror -shared -fPIC -I"$headers" -o "$out/dnsbatch.node.tmp" "$src"
    mv "$out/dnsbatch.node.tmp" "$out/dnsbatch.node"
  elif [ "${CI:-}" = true ]; then
    echo "build-native: Node headers (node_api.h, uv.h) not found; set npm_config_nodedir" >&2
    exit 1
  else
    echo "build-native: Node headers not found, dnsbatch.node skipped (the gate uses its portable UDP path)" >&2
  fi
fi
build seccomp-gen -lseccomp
build launch -static 2>/dev/null || build launch
# Static when possible: it runs inside the sandbox, where only /usr is visible anyway.
build netstub -static 2>/dev/null || build netstub
echo "$out"
