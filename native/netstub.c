/*
 * netstub: runs inside a Corral sandbox whose network is `gate`. The sandbox has its own network
 * namespace with only loopback, so this is its only way out:
 *   - TCP 127.0.0.1:<port> (HTTP_PROXY) is relayed byte for byte to a unix socket that Corral
 *     binds into the sandbox; on the host side Corral forwards it to the gate, adding the run's
 *     Proxy-Authorization token.
 *   - UDP 127.0.0.1:53 answers every query REFUSED and reports the name on the events fd, so a
 *     client ignoring the proxy is seen trying.
 * Then it drops every capability (it needed CAP_NET_BIND_SERVICE for port 53) and runs the
 * command as its child, exiting with the child's status.
 *
 * usage: netstub --unix PATH --port N --events-fd FD -- command [args]
 * Small and single-purpose by design: no allocation beyond fixed buffers, fork per connection.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *unix_path;
static int events_fd = -1;
static volatile sig_atomic_t child_pid = -1;

static void fail(const char *what) {
  fprintf(stderr, "corral-netstub: %s: %s\n", what, strerror(errno));
  exit(125);
}

static void drop_caps(void) {
  struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  memset(data, 0, sizeof data);
  prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
  if (syscall(SYS_capset, &hdr, data) < 0) fail("capset");
}

static int listen_tcp(int port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) fail("socket tcp");
  int one = 1;
  setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) fail("bind tcp");
  if (listen(s, 128) < 0) fail("listen");
  return s;
}

static int bind_dns(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) fail("socket udp");
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(53)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) fail("bind udp 53");
  return s;
}

static int connect_unix(void) {
  int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (s < 0) return -1;
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  strncpy(a.sun_path, unix_path, sizeof a.sun_path - 1);
  if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
    close(s);
    return -1;
  }
  return s;
}

/* Copies both directions until both are closed; half-closes so request bodies end cleanly. */
static void relay(int a, int b) {
  char buf[65536];
  struct pollfd p[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
  int open_dirs = 2;
  while (open_dirs > 0) {
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; i++) {
      if (p[i].fd < 0 || !(p[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(p[i].fd, buf, sizeof buf);
      int out = i == 0 ? b : a;
      if (n <= 0) {
        shutdown(out, SHUT_WR);
        p[i].fd = -1;
        open_dirs--;
        continue;
      }
      for (ssize_t off = 0; off < n;) {
        ssize_t w = write(out, buf + off, (size_t)(n - off));
        if (w <= 0) _exit(0);
        off += w;
      }
    }
  }
  _exit(0);
}

/* Reads the question name of a DNS query into out (dotted); returns 0 when malformed. */
static int qname(const unsigned char *m, ssize_t n, char *out, size_t cap) {
  ssize_t i = 12;
  size_t o = 0;
  while (i < n && m[i] != 0) {
    unsigned len = m[i++];
    if (len > 63 || i + len > n || o + len + 2 > cap) return 0;
    if (o) out[o++] = '.';
    for (unsigned k = 0; k < len; k++) {
      unsigned char c = m[i + k];
      out[o++] = (c > 32 && c < 127 && c != ' ') ? (char)c : '?';
    }
    i += len;
  }
  out[o] = 0;
  return i < n;
}

static void answer_dns(int s) {
  unsigned char m[512];
  struct sockaddr_in from;
  socklen_t fl = sizeof from;
  ssize_t n = recvfrom(s, m, sizeof m, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
  if (n < 12) return;
  char name[300];
  if (qname(m, n, name, sizeof name) && events_fd >= 0) {
    dprintf(events_fd, "dns %s\n", name[0] ? name : ".");
  }
  m[2] = (unsigned char)(0x80 | (m[2] & 0x79)); /* QR=1, keep opcode and RD */
  m[3] = 0x05;                                   /* REFUSED */
  memset(m + 6, 0, 6);                           /* no answer/authority/additional */
  sendto(s, m, (size_t)n, 0, (struct sockaddr *)&from, fl);
}

static void on_signal(int sig) {
  if (child_pid > 0) kill(child_pid, sig);
}

int main(int argc, char **argv) {
  int port = 3128, i = 1;
  for (; i < argc; i++) {
    if (strcmp(argv[i], "--") == 0) {
      i++;
      break;
    }
    if (i + 1 >= argc) break;
    if (strcmp(argv[i], "--unix") == 0) unix_path = argv[++i];
    else if (strcmp(argv[i], "--port") == 0) port = atoi(argv[++i]);
    else if (strcmp(argv[i], "--events-fd") == 0) events_fd = atoi(argv[++i]);
    else break;
  }
  if (!unix_path || i >= argc) {
    fprintf(stderr, "usage: netstub --unix PATH [--port N] [--events-fd FD] -- command [args]\n");
    return 125;
  }
  if (events_fd >= 0) fcntl(events_fd, F_SETFD, FD_CLOEXEC);
  int tcp = listen_tcp(port);
  int dns = bind_dns();
  drop_caps();
  signal(SIGCHLD, SIG_DFL);
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);

  pid_t pid = fork();
  if (pid < 0) fail("fork");
  if (pid == 0) {
    execvp(argv[i], argv + i);
    fprintf(stderr, "corral-netstub: %s: %s\n", argv[i], strerror(errno));
    _exit(errno == ENOENT ? 127 : 126);
  }
  child_pid = pid;
  struct pollfd p[2] = {{tcp, POLLIN, 0}, {dns, POLLIN, 0}};
  for (;;) {
    int status;
    pid_t w;
    while ((w = waitpid(-1, &status, WNOHANG)) > 0) {
      if (w != pid) continue;
      if (WIFEXITED(status)) return WEXITSTATUS(status);
      signal(WTERMSIG(status), SIG_DFL);
      raise(WTERMSIG(status));
      return 128 + WTERMSIG(status);
    }
    /* Short timeout: waitpid above notices the child without a SIGCHLD handler race. */
    int r = poll(p, 2, 50);
    if (r < 0 && errno != EINTR) fail("poll");
    if (r <= 0) continue;
    if (p[1].revents & POLLIN) answer_dns(dns);
    if (p[0].revents & POLLIN) {
      int c = accept4(tcp, NULL, NULL, SOCK_CLOEXEC);
      if (c < 0) continue;
      pid_t r2 = fork();
      if (r2 == 0) {
        close(tcp);
        close(dns);
        int u = connect_unix();
        if (u < 0) _exit(0);
        relay(c, u);
      }
      close(c);
    }
  }
}
