# Sourced by scripts/test and scripts/quickstart: the kernel tools Corral drives, installed the
# same way for both. verify --lab needs ip and nft; corral run needs bwrap.
HOST_TOOLS=(nft:nftables ip:iproute2 bwrap:bubblewrap)

# need_packages CMD:PACKAGE|PACKAGE ...: as root, apt-get installs the packages whose command is
# missing (a bare PACKAGE is always installed). Returns non-zero when the install failed.
need_packages() {
  local need=() item
  for item in "$@"; do
    case "$item" in
      *:*) command -v "${item%%:*}" >/dev/null 2>&1 || need+=("${item#*:}") ;;
      *) need+=("$item") ;;
    esac
  done
  [ ${#need[@]} -gt 0 ] || return 0
  [ "$(id -u)" = 0 ] || return 1
  echo "installing: ${need[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
}

# verify's lab filters same-bridge traffic through br_netfilter, as a Docker host does.
load_br_netfilter() {
  [ -e /proc/sys/net/bridge/bridge-nf-call-iptables ] || modprobe br_netfilter 2>/dev/null || true
}

# prepare_lab: makes the machine ready for `corral verify --lab` when it can (root installs what
# is missing). Returns 0 when ready; otherwise sets LAB_SKIPPED to why, for a one-line skip.
prepare_lab() {
  LAB_SKIPPED=""
  if [ "$(id -u)" != 0 ]; then
    LAB_SKIPPED="corral verify --lab needs root, iproute2 and nftables: skipped (sudo bash scripts/quickstart to see it)"
    return 1
  fi
  need_packages "${HOST_TOOLS[@]}" || true
  load_br_netfilter
  if ! command -v nft >/dev/null 2>&1 || ! command -v ip >/dev/null 2>&1; then
    LAB_SKIPPED="corral verify --lab needs iproute2 and nftables, and installing them failed: skipped (apt-get install nftables iproute2)"
    return 1
  fi
}
