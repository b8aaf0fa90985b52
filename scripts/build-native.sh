#!/bin/sh
# Builds Corral's small native helpers (native/*.c) into build/native/. Idempotent: a helper is
# rebuilt only when its source is newer. Needs a C compiler and libseccomp-dev
# (Debian/Ubuntu: apt-get install gcc libseccomp-dev; Fedora: dnf install gcc libseccomp-devel).
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
build seccomp-gen -lseccomp
build launch -static 2>/dev/null || build launch
# Static when possible: it runs inside the sandbox, where only /usr is visible anyway.
build netstub -static 2>/dev/null || build netstub
echo "$out"
