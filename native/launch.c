/*
 * launch: joins the run's cgroups and sets rlimits, then execs bwrap — so bwrap and everything
 * it forks is counted from its first instruction (no window in which a fork escapes the cgroup).
 *
 *   launch [--procs FILE]... [--rlimit NAME=VALUE]... -- program [args]
 *
 * Warm mode, for callers that start many sandboxes: joining a cgroup costs an RCU grace period
 * (10-20 ms on many kernels), so a pool starts `launch --procs … --request-fd N` ahead of time;
 * it joins, then blocks until the run is known and reads it from fd N (NUL-separated tokens,
 * until EOF):
 *   R NAME=VALUE     rlimit (core, nofile, fsize in bytes, nproc), soft = hard
 *   E KEY=VALUE      environment entry (the environment is exactly these)
 *   S PATH FD        open PATH read-only as fd FD (bwrap's --seccomp program)
 *   C FD             close FD
 *   X ARGV...        exec ARGV (the remaining tokens)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static int fail(const char *what, const char *arg) {
  fprintf(stderr, "corral-launch: %s %s: %s\n", what, arg, strerror(errno));
  return 125;
}

static int set_rlimit(const char *spec) {
  const char *eq = strchr(spec, '=');
  if (!eq) return errno = EINVAL, fail("bad rlimit", spec);
  int res;
  size_t len = (size_t)(eq - spec);
  if (len == 4 && strncmp(spec, "core", 4) == 0) res = RLIMIT_CORE;
  else if (len == 6 && strncmp(spec, "nofile", 6) == 0) res = RLIMIT_NOFILE;
  else if (len == 5 && strncmp(spec, "fsize", 5) == 0) res = RLIMIT_FSIZE;
  else if (len == 5 && strncmp(spec, "nproc", 5) == 0) res = RLIMIT_NPROC;
  else return errno = EINVAL, fail("unknown rlimit", spec);
  struct rlimit rl;
  rl.rlim_cur = rl.rlim_max = (rlim_t)strtoull(eq + 1, NULL, 10);
  if (setrlimit(res, &rl) < 0) return fail("setrlimit", spec);
  return 0;
}

#define MAX_TOKENS 8192
#define MAX_REQUEST (4 << 20)
#define MAX_CGROUPS 16

static const char *joined[MAX_CGROUPS];
static int njoined = 0;

/*
 * The pool went away without handing over a run (its process exited without close()): leave
 * each cgroup for its parent and remove it, so an abandoned warm launcher leaves nothing.
 */
static void leave_cgroups(const char *pid, size_t n) {
  char dir[4096], parent[4096 + 32];
  for (int k = 0; k < njoined; k++) {
    const char *slash = strrchr(joined[k], '/');
    if (!slash || (size_t)(slash - joined[k]) >= sizeof dir) continue;
    memcpy(dir, joined[k], (size_t)(slash - joined[k]));
    dir[slash - joined[k]] = 0;
    snprintf(parent, sizeof parent, "%s/../cgroup.procs", dir);
    int fd = open(parent, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      if (write(fd, pid, n) < 0) { /* best effort */ }
      close(fd);
    }
    rmdir(dir);
  }
}

static int serve(int fd, const char *pid, size_t pidlen) {
  char *buf = malloc(MAX_REQUEST + 1);
  if (!buf) return fail("malloc", "request");
  size_t len = 0;
  for (;;) {
    ssize_t n = read(fd, buf + len, MAX_REQUEST - len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail("read", "request");
    if (n == 0) break;
    len += (size_t)n;
    if (len == MAX_REQUEST) return errno = E2BIG, fail("request", "too large");
  }
  close(fd);
  if (len == 0) {
    leave_cgroups(pid, pidlen);
    return 125;
  }
  buf[len] = 0;
  static char *tok[MAX_TOKENS];
  static char *envp[MAX_TOKENS];
  int nt = 0, ne = 0;
  for (size_t i = 0; i < len && nt < MAX_TOKENS - 1;) {
    tok[nt++] = buf + i;
    i += strlen(buf + i) + 1;
  }
  for (int i = 0; i < nt; i++) {
    const char *op = tok[i];
    if (strcmp(op, "R") == 0 && i + 1 < nt) {
      int r = set_rlimit(tok[++i]);
      if (r) return r;
    } else if (strcmp(op, "E") == 0 && i + 1 < nt) {
      envp[ne++] = tok[++i];
    } else if (strcmp(op, "S") == 0 && i + 2 < nt) {
      const char *path = tok[++i];
      int want = atoi(tok[++i]);
      int f = open(path, O_RDONLY);
      if (f < 0) return fail("open", path);
      if (f != want) {
        if (dup2(f, want) < 0) return fail("dup2", path);
        close(f);
      }
    } else if (strcmp(op, "C") == 0 && i + 1 < nt) {
      close(atoi(tok[++i]));
    } else if (strcmp(op, "X") == 0 && i + 1 < nt) {
      envp[ne] = NULL;
      tok[nt] = NULL;
      execve(tok[i + 1], tok + i + 1, envp);
      return fail("cannot exec", tok[i + 1]);
    } else {
      return errno = EINVAL, fail("bad request token", op);
    }
  }
  return errno = EINVAL, fail("request", "has no X");
}

int main(int argc, char **argv) {
  char pid[32];
  int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
  int request_fd = -1;
  int i = 1;
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    }
    if (i + 1 >= argc) break;
    if (strcmp(argv[i], "--procs") == 0) {
      const char *f = argv[++i];
      int fd = open(f, O_WRONLY | O_CLOEXEC);
      if (fd < 0 || write(fd, pid, (size_t)n) != n) return fail("cannot join cgroup", f);
      close(fd);
      if (njoined < MAX_CGROUPS) joined[njoined++] = f;
    } else if (strcmp(argv[i], "--rlimit") == 0) {
      int r = set_rlimit(argv[++i]);
      if (r) return r;
    } else if (strcmp(argv[i], "--request-fd") == 0) {
      request_fd = atoi(argv[++i]);
    } else {
      break;
    }
  }
  if (request_fd >= 0) return serve(request_fd, pid, (size_t)n);
  if (i >= argc) {
    fprintf(stderr, "usage: launch [--procs FILE]... [--rlimit NAME=VALUE]... (-- program [args] | --request-fd N)\n");
    return 125;
  }
  execv(argv[i], argv + i);
  return fail("cannot exec", argv[i]);
}
