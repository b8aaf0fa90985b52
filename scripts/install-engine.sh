#!/usr/bin/env bash
# What the real-engine tests need (root only): Debian's Docker Engine and busybox for stand-in
# images, and Compose v2 as a CLI plugin. Bookworm ships Compose v1 only, so the plugin comes
# from the next Debian release's package, fetched with this machine's own apt sources (suite
# renamed), unpacked into a private directory: nothing of that release is installed system-wide.
# The same release's Docker Engine (26.x, with its containerd) goes to $ENGINES_DIR/docker-26, so
# the real-engine tests run against two engine generations; it keeps bookworm's runc, since
# trixie's needs a newer glibc.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "install-engine: needs root" >&2; exit 1; }
need=()
for pair in dockerd:docker.io busybox:busybox-static; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
engines_dir=${ENGINES_DIR:-/opt/corral-test/engines}
second="$engines_dir/docker-26"
have_compose=0; docker compose version >/dev/null 2>&1 && have_compose=1
have_second=0; [ -x "$second/usr/sbin/dockerd" ] && have_second=1
[ $have_compose = 1 ] && [ $have_second = 1 ] && exit 0

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/parts" "$work/lists/partial" "$work/archives/partial"
for f in /etc/apt/sources.list.d/*.sources; do
  [ -e "$f" ] || continue
  sed -e 's/bookworm-updates//; s/bookworm-security/trixie-security/; s/\bbookworm\b/trixie/' "$f" >"$work/parts/$(basename "$f")"
done
opts=(-o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$work/parts"
  -o "Dir::State::Lists=$work/lists" -o "Dir::Cache::Archives=$work/archives")
apt-get "${opts[@]}" update -qq
if [ $have_compose = 0 ]; then
  (cd "$work" && apt-get "${opts[@]}" download docker-compose 2>/dev/null)
  dpkg -x "$work"/docker-compose_*.deb "$work/x"
  mkdir -p "${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
  install -m 0755 "$work/x/usr/libexec/docker/cli-plugins/docker-compose" "${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins/"
fi
if [ $have_second = 0 ]; then
  (cd "$work" && apt-get "${opts[@]}" download docker.io containerd 2>/dev/null)
  rm -rf "$second.partial" && mkdir -p "$second.partial"
  for deb in "$work"/docker.io_*.deb "$work"/containerd_*.deb; do dpkg -x "$deb" "$second.partial"; done
  rm -f "$second.partial"/usr/sbin/runc "$second.partial"/usr/bin/runc
  rm -rf "$second" && mv "$second.partial" "$second"
  "$second/usr/sbin/dockerd" --version
fi
docker compose version
