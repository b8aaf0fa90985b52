/*
 * seccomp-gen: reads a filter spec (one rule per line) on stdin and writes the classic-BPF
 * program libseccomp generates for it to the file named by argv[1]. Corral hands that file to
 * bubblewrap (`--seccomp FD`). Kept dumb on purpose: all policy lives in TypeScript
 * (src/sandbox/seccomp.ts); this only translates lines into libseccomp calls.
 *
 * Spec lines (whitespace separated, numbers decimal or 0x hex):
 *   arch <x86_64|aarch64|native>       target architecture (first line; default native)
 *   errno <errno> <syscall>            fail the syscall with errno
 *   errno-arg-eq <errno> <syscall> <argidx> <value>           ... when arg == value (32-bit)
 *   errno-arg-ge <errno> <syscall> <argidx> <value>           ... when arg >= value (32-bit)
 *   errno-arg-masked <errno> <syscall> <argidx> <mask> <value> ... when (arg & mask) == value
 * libseccomp allows one comparison per argument per rule, so "not in a set" is written by the
 * caller as several rules (they OR together).
 * Exit status: 0 ok, 2 bad spec (message names the line), 1 libseccomp failure.
 */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

static int lineno = 0;

static void die(int code, const char *what, const char *detail) {
  fprintf(stderr, "seccomp-gen: line %d: %s%s%s\n", lineno, what, detail ? ": " : "", detail ? detail : "");
  exit(code);
}

static unsigned long long num(const char *s) {
  char *end = NULL;
  if (!s) die(2, "missing number", NULL);
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || !end || *end) die(2, "not a number", s);
  return v;
}

/*
 * Rules take the number in libseccomp's native numbering; it translates each rule for the
 * filter's architecture by name, and a name the target lacks (iopl on aarch64) is skipped.
 * A name unknown everywhere is an error.
 */
static int sysno(const char *name, uint32_t arch) {
  if (!name) die(2, "missing syscall name", NULL);
  int nr = seccomp_syscall_resolve_name(name);
  if (nr == __NR_SCMP_ERROR && arch) nr = seccomp_syscall_resolve_name_arch(arch, name);
  if (nr == __NR_SCMP_ERROR) die(2, "unknown syscall", name);
  return nr;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: seccomp-gen OUT.bpf < spec\n");
    return 2;
  }
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (!ctx) die(1, "seccomp_init failed", NULL);
  uint32_t arch = 0;
  char line[512];
  while (fgets(line, sizeof line, stdin)) {
    lineno++;
    char *save = NULL;
    char *op = strtok_r(line, " \t\r\n", &save);
    if (!op || op[0] == '#') continue;
    if (strcmp(op, "arch") == 0) {
      const char *a = strtok_r(NULL, " \t\r\n", &save);
      if (!a) die(2, "missing arch", NULL);
      if (strcmp(a, "native") == 0) continue;
      uint32_t want = seccomp_arch_resolve_name(a);
      if (!want) die(2, "unknown arch", a);
      if (want != seccomp_arch_native()) {
        /* Cross-generation: replace the native arch with the target one. */
        if (seccomp_arch_add(ctx, want) < 0) die(1, "seccomp_arch_add failed", a);
        if (seccomp_arch_remove(ctx, SCMP_ARCH_NATIVE) < 0) die(1, "seccomp_arch_remove failed", a);
      }
      arch = want;
      continue;
    }
    int err = (int)num(strtok_r(NULL, " \t\r\n", &save));
    int nr = sysno(strtok_r(NULL, " \t\r\n", &save), arch);
    int rc;
    if (strcmp(op, "errno") == 0) {
      rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), nr, 0);
    } else {
      unsigned idx = (unsigned)num(strtok_r(NULL, " \t\r\n", &save));
      if (idx > 5) die(2, "argument index must be 0..5", NULL);
      unsigned long long a = num(strtok_r(NULL, " \t\r\n", &save));
      if (strcmp(op, "errno-arg-eq") == 0) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), nr, 1, SCMP_CMP32(idx, SCMP_CMP_EQ, a));
      } else if (strcmp(op, "errno-arg-ge") == 0) {
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), nr, 1, SCMP_CMP32(idx, SCMP_CMP_GE, a));
      } else if (strcmp(op, "errno-arg-masked") == 0) {
        unsigned long long v = num(strtok_r(NULL, " \t\r\n", &save));
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(err), nr, 1, SCMP_CMP32(idx, SCMP_CMP_MASKED_EQ, a, v));
      } else {
        die(2, "unknown rule", op);
        return 2;
      }
    }
    if (rc < 0) die(1, "seccomp_rule_add failed", strerror(-rc));
  }
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    perror(argv[1]);
    return 1;
  }
  int rc = seccomp_export_bpf(ctx, fd);
  if (rc < 0) {
    fprintf(stderr, "seccomp-gen: seccomp_export_bpf: %s\n", strerror(-rc));
    return 1;
  }
  if (close(fd) < 0) {
    perror(argv[1]);
    return 1;
  }
  seccomp_release(ctx);
  return 0;
}
