// Pure core: a profile → the seccomp filter spec that native/seccomp-gen turns into BPF with
// libseccomp. Default allow, with a deny set of the syscalls sandbox escapes are made of.
import type { SandboxProfile } from "../policy/schema.ts";
import { SandboxConfigError } from "./profile.ts";

export type SeccompArch = "x86_64" | "aarch64";

const EPERM = 1;
const ENOSYS = 38;
const EAFNOSUPPORT = 97;

/** Denied with EPERM unless the profile's `syscalls.allow` names them. */
export const DEFAULT_DENY = [
  "ptrace",
  "process_vm_readv",
  "process_vm_writev",
  "pidfd_getfd",
  "mount",
  "umount2",
  "pivot_root",
  "chroot",
  "move_mount",
  "open_tree",
  "fsopen",
  "fsconfig",
  "fsmount",
  "fspick",
  "mount_setattr",
  "kexec_load",
  "kexec_file_load",
  "init_module",
  "finit_module",
  "delete_module",
  "bpf",
  "perf_event_open",
  "keyctl",
  "add_key",
  "request_key",
  "userfaultfd",
  "io_uring_setup",
  "io_uring_enter",
  "io_uring_register",
  "unshare",
  "setns",
  "open_by_handle_at",
  "name_to_handle_at",
  "reboot",
  "swapon",
  "swapoff",
  "syslog",
  "acct",
  "quotactl",
  "lookup_dcookie",
  "fanotify_init",
  "iopl",
  "ioperm",
  "vhangup",
  "uselib",
  "_sysctl",
  "settimeofday",
  "clock_settime",
  "clock_adjtime",
];

/** Namespace flags of clone(2); CLONE_NEWTIME (0x80) overlaps the exit-signal byte, so clone3 only. */
export const CLONE_NS_FLAGS = [0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000];

const AF_UNIX = 1;
const AF_INET = 2;
const AF_INET6 = 10;
/** AF_MAX on current kernels (AF_MCTP = 45); anything at or above is refused too. */
const AF_MAX = 46;

const SYSCALL_NAME = /^[a-z_][a-z0-9_]*$/;

export interface SeccompSpec {
  arch: SeccompArch;
  /** Spec text for seccomp-gen, one rule per line; also the cache key. */
  text: string;
}

/** The rules for a profile. `arch` defaults to the host's (the BPF is arch-specific). */
export function seccompSpec(profile: SandboxProfile, arch: SeccompArch): SeccompSpec {
  for (const n of [...profile.syscalls.allow, ...profile.syscalls.deny]) {
    if (!SYSCALL_NAME.test(n))
      throw new SandboxConfigError(
        `'${n}' is not a syscall name`,
        "use the kernel's name, e.g. ptrace or io_uring_setup",
      );
  }
  const allow = new Set(profile.syscalls.allow);
  const lines = [`arch ${arch}`];
  const deny = [...new Set([...DEFAULT_DENY, ...profile.syscalls.deny])].filter(
    (s) => !allow.has(s) || profile.syscalls.deny.includes(s),
  );
  for (const s of deny) lines.push(`errno ${EPERM} ${s}`);
  if (!allow.has("clone"))
    for (const f of CLONE_NS_FLAGS)
      lines.push(`errno-arg-masked ${EPERM} clone 0 0x${f.toString(16)} 0x${f.toString(16)}`);
  // clone3 passes its flags in memory seccomp cannot read: ENOSYS makes libc fall back to clone.
  if (!allow.has("clone3")) lines.push(`errno ${ENOSYS} clone3`);
  if (!allow.has("personality")) {
    // Any flag bit (ADDR_NO_RANDOMIZE, READ_IMPLIES_EXEC, …) is refused; the query value
    // 0xffffffff and plain personas (PER_LINUX, PER_LINUX32) pass. One comparison per rule.
    for (let bit = 8; bit < 31; bit++) {
      const b = 2 ** bit;
      lines.push(`errno-arg-masked ${EPERM} personality 0 0x${(b + 0x80000000).toString(16)} 0x${b.toString(16)}`);
    }
    for (let bit = 0; bit < 31; bit++) {
      const b = 2 ** bit;
      lines.push(`errno-arg-masked ${EPERM} personality 0 0x${(b + 0x80000000).toString(16)} 0x80000000`);
    }
  }
  if (!allow.has("socket")) {
    const families = new Set([AF_UNIX, ...(profile.network === "gate" ? [AF_INET, AF_INET6] : [])]);
    for (let af = 0; af < AF_MAX; af++)
      if (!families.has(af)) lines.push(`errno-arg-eq ${EAFNOSUPPORT} socket 0 ${af}`);
    lines.push(`errno-arg-ge ${EAFNOSUPPORT} socket 0 ${AF_MAX}`);
  }
  return { arch, text: `${lines.join("\n")}\n` };
}

export function hostArch(nodeArch: string = process.arch): SeccompArch {
  if (nodeArch === "x64") return "x86_64";
  if (nodeArch === "arm64") return "aarch64";
  throw new SandboxConfigError(`seccomp filters are built for x86_64 and aarch64, not ${nodeArch}`);
}
