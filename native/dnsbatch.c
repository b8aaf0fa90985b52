// The DNS server's UDP socket, read and written in batches (recvmmsg/sendmmsg), with a table of
// answers the JavaScript side has already decided. Node's dgram pays one syscall and one trip
// into JavaScript per datagram each way; on a busy resolver that was most of the cost.
//
// This file never parses DNS. A repeated query is recognised by its exact bytes after the id
// (flags, counts, question, OPT) together with the client's address: JavaScript installs such a
// pair only after it has answered those very bytes for that very client through decide(), with a
// deadline at which the answer would change (the cached answer's age ticks, a grant expires)
// and clears the whole table whenever the policy, the grants or the resolver change. A hit is
// answered by copying the stored response and writing the query's id into it; every hit is
// reported back (entry id and count) so each one is still logged, counted and watched as a
// decision. Everything else goes to JavaScript unchanged, one callback per batch.
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define BATCH 64
#define ROUNDS_PER_WAKE 8
#define SLOT_DATA 4096
// Inbox slot: [0..1] length, [2..3] port, [4] status (0 answered here, 1 for JavaScript, 2 dropped),
// [5] address text length, [8..63] address text, [64..] datagram.
#define SLOT_HEAD 64
#define SLOT_SIZE (SLOT_HEAD + SLOT_DATA)
#define TABLE_SLOTS 8192
#define TABLE_MAX 4096
#define PROBE_MAX 32
#define MAX_QUERY 512
#define MAX_RESPONSE 4096
#define MAX_VALID_MS 5000.0

typedef struct {
  uint8_t used;
  uint32_t id;
  uint64_t hash;
  uint64_t deadline_ns;
  uint16_t key_len;
  uint16_t resp_len;
  uint8_t *key; // family, 16 address bytes, query bytes after the id
  uint8_t *resp;
} entry_t;

typedef struct {
  napi_env env;
  int fd;
  int family;
  uv_poll_t poll;
  int polling;
  int closed;
  // Freed when both are true: JavaScript may still hold the handle after close, and libuv
  // needs the poll handle until its close callback.
  int handle_gone;
  int js_gone;
  napi_ref callback;
  napi_ref inbox_ref;
  napi_ref hits_ref;
  napi_async_context async;
  uint8_t *inbox;   // BATCH slots, shared with JavaScript
  uint32_t *hits;   // BATCH pairs (entry id, count), shared with JavaScript
  struct sockaddr_storage from[BATCH];
  struct iovec in_iov[BATCH];
  struct mmsghdr in_msg[BATCH];
  uint8_t out[BATCH][MAX_RESPONSE];
  struct iovec out_iov[BATCH];
  struct mmsghdr out_msg[BATCH];
  entry_t table[TABLE_SLOTS];
  uint32_t entries;
  uint64_t seed;
  uint64_t stats_native, stats_js, stats_send_drops;
} sock_t;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

// FNV-1a with a per-socket random start: entries are only ever made for answers the policy
// allowed, so the table needs no stronger hash than one an outsider cannot aim at.
static uint64_t hash_bytes(uint64_t h, const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

static int addr_key(const struct sockaddr_storage *ss, uint8_t key[17]) {
  memset(key, 0, 17);
  if (ss->ss_family == AF_INET) {
    key[0] = 4;
    memcpy(key + 1, &((const struct sockaddr_in *)ss)->sin_addr, 4);
    return 0;
  }
  if (ss->ss_family == AF_INET6) {
    key[0] = 6;
    memcpy(key + 1, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
    return 0;
  }
  return -1;
}

static void entry_free(entry_t *e) {
  free(e->key);
  free(e->resp);
  memset(e, 0, sizeof *e);
}

static void table_clear(sock_t *s) {
  for (size_t i = 0; i < TABLE_SLOTS; i++)
    if (s->table[i].used) entry_free(&s->table[i]);
  s->entries = 0;
}

static entry_t *table_find(sock_t *s, const uint8_t addr[17], const uint8_t *q, size_t qlen, uint64_t now) {
  uint64_t h = hash_bytes(hash_bytes(s->seed, addr, 17), q, qlen);
  for (size_t i = 0; i < PROBE_MAX; i++) {
    entry_t *e = &s->table[(h + i) & (TABLE_SLOTS - 1)];
    if (!e->used) return NULL;
    if (e->hash == h && e->key_len == 17 + qlen && memcmp(e->key, addr, 17) == 0 &&
        memcmp(e->key + 17, q, qlen) == 0)
      return e->deadline_ns > now ? e : NULL;
  }
  return NULL;
}

static void poll_cb(uv_poll_t *handle, int status, int events);
static void on_env_teardown(void *data);

// ---- JavaScript helpers ------------------------------------------------------------------

#define CHECK(call)                                                                                \
  do {                                                                                             \
    if ((call) != napi_ok) return throw_last(env);                                                 \
  } while (0)

static napi_value throw_last(napi_env env) {
  const napi_extended_error_info *info = NULL;
  napi_get_last_error_info(env, &info);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, NULL, info && info->error_message ? info->error_message : "napi call failed");
  return NULL;
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value code, text, error;
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &text);
  const char *name = err == EADDRINUSE ? "EADDRINUSE" : err == EACCES ? "EACCES" : "ESOCKET";
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_error(env, code, text, &error);
  napi_set_named_property(env, error, "code", code);
  napi_throw(env, error);
  return NULL;
}

// The arguments of a call whose first argument is the socket handle.
#define SOCK_ARGS(n)                                                                               \
  size_t argc = (n);                                                                               \
  napi_value argv[(n)];                                                                            \
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));                                     \
  sock_t *s = get_sock(env, argv[0]);                                                              \
  if (!s) return NULL

static sock_t *get_sock(napi_env env, napi_value v) {
  sock_t *s = NULL;
  if (napi_get_value_external(env, v, (void **)&s) != napi_ok || s == NULL || s->closed) {
    napi_throw_error(env, NULL, "dnsbatch: closed or invalid socket");
    return NULL;
  }
  return s;
}

static int parse_addr(napi_env env, napi_value v, int family, struct sockaddr_storage *ss, socklen_t *len,
                      uint16_t port) {
  char text[64];
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, text, sizeof text, &n) != napi_ok) return -1;
  memset(ss, 0, sizeof *ss);
  if (family == AF_INET6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    char *pct = strchr(text, '%');
    if (pct) *pct = 0;
    if (inet_pton(AF_INET6, text, &a->sin6_addr) == 1) {
      *len = sizeof *a;
      return 0;
    }
    // An IPv4 client of a dual-stack socket arrives as ::ffff:a.b.c.d.
    struct in_addr v4;
    if (inet_pton(AF_INET, text, &v4) != 1) return -1;
    a->sin6_addr.s6_addr[10] = 0xff;
    a->sin6_addr.s6_addr[11] = 0xff;
    memcpy(&a->sin6_addr.s6_addr[12], &v4, 4);
    *len = sizeof *a;
    return 0;
  }
  struct sockaddr_in *a = (struct sockaddr_in *)ss;
  a->sin_family = AF_INET;
  a->sin_port = htons(port);
  if (inet_pton(AF_INET, text, &a->sin_addr) != 1) return -1;
  *len = sizeof *a;
  return 0;
}

// ---- the socket --------------------------------------------------------------------------

static void sock_release(sock_t *s) {
  if (!s->handle_gone || !s->js_gone) return;
  table_clear(s);
  free(s);
}

static void on_poll_closed(uv_handle_t *h) {
  sock_t *s = (sock_t *)h->data;
  s->handle_gone = 1;
  sock_release(s);
}

// As libuv closes its own sockets: stop watching (uv_close takes the fd out of epoll at once),
// then close the descriptor, so the port is free when close() returns. The handle's memory is
// libuv's until on_poll_closed.
static void close_fd(sock_t *s) {
  if (s->polling) {
    s->polling = 0;
    uv_close((uv_handle_t *)&s->poll, on_poll_closed);
  } else {
    s->handle_gone = 1;
  }
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  sock_release(s);
}

static void on_external_collected(napi_env env, void *data, void *hint) {
  (void)hint;
  sock_t *s = (sock_t *)data;
  if (!s->closed) {
    // Collected without close(): nothing can reach the socket any more, so close it here.
    // It was never started (a started socket's callback keeps its handle alive), so there
    // are no references or async context to release.
    s->closed = 1;
    napi_remove_env_cleanup_hook(env, on_env_teardown, s);
    s->js_gone = 1;
    close_fd(s);
    return;
  }
  s->js_gone = 1;
  sock_release(s);
}

static void sock_shutdown(sock_t *s) {
  if (s->closed) return;
  s->closed = 1;
  napi_env env = s->env;
  napi_remove_env_cleanup_hook(env, on_env_teardown, s);
  if (s->callback) napi_delete_reference(env, s->callback);
  if (s->inbox_ref) napi_delete_reference(env, s->inbox_ref);
  if (s->hits_ref) napi_delete_reference(env, s->hits_ref);
  if (s->async) napi_async_destroy(env, s->async);
  s->callback = s->inbox_ref = s->hits_ref = NULL;
  s->async = NULL;
  table_clear(s);
  close_fd(s);
}

// The environment is going away (a worker thread ends, an embedder tears down) with the
// socket still open: close it now, while the references and the loop are still valid.
static void on_env_teardown(void *data) {
  sock_shutdown((sock_t *)data);
}

// open(host, port, reusePort, bufferBytes) -> external
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char host[64];
  size_t hn = 0;
  CHECK(napi_get_value_string_utf8(env, argv[0], host, sizeof host, &hn));
  uint32_t port = 0, buffer = 0;
  bool reuse = false;
  CHECK(napi_get_value_uint32(env, argv[1], &port));
  CHECK(napi_get_value_bool(env, argv[2], &reuse));
  CHECK(napi_get_value_uint32(env, argv[3], &buffer));
  struct sockaddr_storage ss;
  socklen_t sl = 0;
  int family = strchr(host, ':') ? AF_INET6 : AF_INET;
  if (parse_addr(env, argv[0], family, &ss, &sl, (uint16_t)port) != 0) {
    napi_throw_type_error(env, NULL, "dnsbatch: host must be an IP address");
    return NULL;
  }
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  int one = 1;
  if (reuse) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (family == AF_INET6) {
    int zero = 0;
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  }
  if (buffer) {
    int b = (int)buffer;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &b, sizeof b);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &b, sizeof b);
  }
  if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind", err);
  }
  sock_t *s = calloc(1, sizeof *s);
  if (!s) {
    close(fd);
    return throw_errno(env, "calloc", ENOMEM);
  }
  s->env = env;
  s->fd = fd;
  s->family = family;
  if (getrandom(&s->seed, sizeof s->seed, 0) != sizeof s->seed) s->seed = now_ns() ^ (uint64_t)(uintptr_t)s;
  s->seed ^= 0xcbf29ce484222325ull;
  napi_value ext;
  if (napi_create_external(env, s, on_external_collected, NULL, &ext) != napi_ok) {
    close(fd);
    free(s);
    return throw_last(env);
  }
  napi_add_env_cleanup_hook(env, on_env_teardown, s);
  return ext;
}

// port(sock) -> number
static napi_value js_port(napi_env env, napi_callback_info info) {
  SOCK_ARGS(1);
  struct sockaddr_storage ss;
  socklen_t sl = sizeof ss;
  if (getsockname(s->fd, (struct sockaddr *)&ss, &sl) != 0) return throw_errno(env, "getsockname", errno);
  uint16_t port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                           : ntohs(((struct sockaddr_in *)&ss)->sin_port);
  napi_value out;
  CHECK(napi_create_uint32(env, port, &out));
  return out;
}

// start(sock, onBatch(count, hitPairs, nsPerHit), inbox: Buffer(BATCH*SLOT_SIZE), hits: Buffer(BATCH*8))
static napi_value js_start(napi_env env, napi_callback_info info) {
  SOCK_ARGS(4);
  if (s->polling) {
    napi_throw_error(env, NULL, "dnsbatch: already started");
    return NULL;
  }
  void *inbox = NULL, *hits = NULL;
  size_t inbox_len = 0, hits_len = 0;
  CHECK(napi_get_buffer_info(env, argv[2], &inbox, &inbox_len));
  CHECK(napi_get_buffer_info(env, argv[3], &hits, &hits_len));
  if (inbox_len < (size_t)BATCH * SLOT_SIZE || hits_len < (size_t)BATCH * 8 || ((uintptr_t)hits & 3) != 0) {
    napi_throw_range_error(env, NULL, "dnsbatch: inbox or hits buffer too small or misaligned");
    return NULL;
  }
  CHECK(napi_create_reference(env, argv[1], 1, &s->callback));
  CHECK(napi_create_reference(env, argv[2], 1, &s->inbox_ref));
  CHECK(napi_create_reference(env, argv[3], 1, &s->hits_ref));
  napi_value name;
  CHECK(napi_create_string_utf8(env, "corral.dnsbatch", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, NULL, name, &s->async));
  s->inbox = inbox;
  s->hits = hits;
  for (int i = 0; i < BATCH; i++) {
    s->in_iov[i].iov_base = s->inbox + (size_t)i * SLOT_SIZE + SLOT_HEAD;
    s->in_iov[i].iov_len = SLOT_DATA;
    s->out_iov[i].iov_base = s->out[i];
  }
  uv_loop_t *loop = NULL;
  CHECK(napi_get_uv_event_loop(env, &loop));
  if (uv_poll_init(loop, &s->poll, s->fd) != 0) {
    napi_throw_error(env, NULL, "dnsbatch: uv_poll_init failed");
    return NULL;
  }
  s->poll.data = s;
  s->polling = 1;
  uv_poll_start(&s->poll, UV_READABLE, poll_cb);
  return NULL;
}

// One round: read up to BATCH datagrams, answer the known ones here, hand the rest to JavaScript.
// Returns the number read, 0 when the socket is drained, -1 when JavaScript closed the socket.
static int round_once(sock_t *s) {
  for (int i = 0; i < BATCH; i++) {
    memset(&s->in_msg[i].msg_hdr, 0, sizeof s->in_msg[i].msg_hdr);
    s->in_msg[i].msg_hdr.msg_name = &s->from[i];
    s->in_msg[i].msg_hdr.msg_namelen = sizeof s->from[i];
    s->in_msg[i].msg_hdr.msg_iov = &s->in_iov[i];
    s->in_msg[i].msg_hdr.msg_iovlen = 1;
  }
  int n = recvmmsg(s->fd, s->in_msg, BATCH, MSG_DONTWAIT, NULL);
  if (n <= 0) return 0;
  uint64_t started = now_ns();
  int outs = 0, to_js = 0, pairs = 0;
  for (int i = 0; i < n; i++) {
    uint8_t *slot = s->inbox + (size_t)i * SLOT_SIZE;
    uint8_t *data = slot + SLOT_HEAD;
    unsigned len = s->in_msg[i].msg_len;
    int truncated = (s->in_msg[i].msg_hdr.msg_flags & MSG_TRUNC) != 0;
    uint8_t key[17];
    entry_t *e = NULL;
    if (!truncated && len >= 12 && len <= MAX_QUERY && addr_key(&s->from[i], key) == 0)
      e = table_find(s, key, data + 2, len - 2, started);
    if (e) {
      memcpy(s->out[outs], e->resp, e->resp_len);
      s->out[outs][0] = data[0];
      s->out[outs][1] = data[1];
      s->out_iov[outs].iov_len = e->resp_len;
      memset(&s->out_msg[outs].msg_hdr, 0, sizeof s->out_msg[outs].msg_hdr);
      s->out_msg[outs].msg_hdr.msg_name = &s->from[i];
      s->out_msg[outs].msg_hdr.msg_namelen = s->in_msg[i].msg_hdr.msg_namelen;
      s->out_msg[outs].msg_hdr.msg_iov = &s->out_iov[outs];
      s->out_msg[outs].msg_hdr.msg_iovlen = 1;
      outs++;
      int p = 0;
      while (p < pairs && s->hits[2 * p] != e->id) p++;
      if (p == pairs) {
        s->hits[2 * p] = e->id;
        s->hits[2 * p + 1] = 0;
        pairs++;
      }
      s->hits[2 * p + 1]++;
      slot[4] = 0;
      continue;
    }
    slot[4] = truncated ? 2 : 1; // 2: an over-long datagram, no DNS query we answer
    if (truncated) continue;
    to_js++;
    slot[0] = (uint8_t)(len >> 8);
    slot[1] = (uint8_t)len;
    const struct sockaddr_storage *ss = &s->from[i];
    char *text = (char *)slot + 8;
    uint16_t port = 0;
    text[0] = 0;
    if (ss->ss_family == AF_INET) {
      inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, text, 56);
      port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
    } else if (ss->ss_family == AF_INET6) {
      const struct in6_addr *a6 = &((const struct sockaddr_in6 *)ss)->sin6_addr;
      // As Node reports them: a v4 client of a dual-stack socket is ::ffff:a.b.c.d.
      inet_ntop(AF_INET6, a6, text, 56);
      port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    }
    slot[2] = (uint8_t)(port >> 8);
    slot[3] = (uint8_t)port;
    slot[5] = (uint8_t)strlen(text);
  }
  if (outs > 0) {
    int sent = 0;
    while (sent < outs) {
      int r = sendmmsg(s->fd, s->out_msg + sent, (unsigned)(outs - sent), MSG_DONTWAIT);
      if (r > 0) {
        sent += r;
        continue;
      }
      if (r < 0 && errno == EINTR) continue;
      // A full send buffer or an unreachable client: skip this datagram, as the kernel
      // would drop it anyway; the rest of the batch still goes.
      s->stats_send_drops++;
      sent++;
    }
  }
  s->stats_native += (uint64_t)outs;
  s->stats_js += (uint64_t)to_js;
  if (to_js == 0 && pairs == 0) return n;
  napi_env env = s->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return n;
  napi_value cb, recv, argv[3], result;
  double per_hit = outs > 0 ? (double)(now_ns() - started) / outs : 0;
  napi_get_reference_value(env, s->callback, &cb);
  napi_get_global(env, &recv);
  napi_create_uint32(env, (uint32_t)n, &argv[0]);
  napi_create_uint32(env, (uint32_t)pairs, &argv[1]);
  napi_create_double(env, per_hit, &argv[2]);
  napi_status st = napi_make_callback(env, s->async, recv, cb, 3, argv, &result);
  if (st == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
  }
  napi_close_handle_scope(env, scope);
  return s->closed ? -1 : n;
}

static void poll_cb(uv_poll_t *handle, int status, int events) {
  (void)events;
  sock_t *s = (sock_t *)handle->data;
  if (status < 0 || s->closed) return;
  for (int r = 0; r < ROUNDS_PER_WAKE; r++) {
    int n = round_once(s);
    if (n < BATCH) return; // drained (or closed); poll wakes us again
  }
}

// install(sock, id, address, query: Buffer, response: Buffer, validMs) -> bool
static napi_value js_install(napi_env env, napi_callback_info info) {
  SOCK_ARGS(6);
  uint32_t id = 0;
  double valid_ms = 0;
  CHECK(napi_get_value_uint32(env, argv[1], &id));
  void *q = NULL, *r = NULL;
  size_t qlen = 0, rlen = 0;
  CHECK(napi_get_buffer_info(env, argv[3], &q, &qlen));
  CHECK(napi_get_buffer_info(env, argv[4], &r, &rlen));
  CHECK(napi_get_value_double(env, argv[5], &valid_ms));
  napi_value ok;
  napi_get_boolean(env, false, &ok);
  struct sockaddr_storage ss;
  socklen_t sl;
  uint8_t key[17];
  // JavaScript asks for at most about a second (the answer's age ticks); anything longer, or
  // not a finite positive number, is refused rather than trusted.
  if (qlen < 12 || qlen > MAX_QUERY || rlen < 12 || rlen > MAX_RESPONSE || !(valid_ms > 0) || !(valid_ms <= MAX_VALID_MS) ||
      parse_addr(env, argv[2], s->family, &ss, &sl, 0) != 0 || addr_key(&ss, key) != 0)
    return ok;
  uint64_t now = now_ns();
  const uint8_t *qb = (const uint8_t *)q + 2;
  size_t qn = qlen - 2;
  uint64_t h = hash_bytes(hash_bytes(s->seed, key, 17), qb, qn);
  entry_t *slot = NULL;
  for (int attempt = 0; attempt < 2 && !slot; attempt++) {
    if (s->entries >= TABLE_MAX) table_clear(s);
    for (size_t i = 0; i < PROBE_MAX; i++) {
      entry_t *e = &s->table[(h + i) & (TABLE_SLOTS - 1)];
      if (!e->used) {
        slot = e;
        break;
      }
      if (e->hash == h && e->key_len == 17 + qn && memcmp(e->key, key, 17) == 0 && memcmp(e->key + 17, qb, qn) == 0) {
        entry_free(e);
        s->entries--;
        slot = e;
        break;
      }
    }
    // A run of PROBE_MAX occupied slots: start the table afresh rather than probe further.
    if (!slot) table_clear(s);
  }
  if (!slot) return ok;
  slot->key = malloc(17 + qn);
  slot->resp = malloc(rlen);
  if (!slot->key || !slot->resp) {
    free(slot->key);
    free(slot->resp);
    memset(slot, 0, sizeof *slot);
    // An empty slot inside a probe run would hide the entries behind it: start afresh.
    table_clear(s);
    return ok;
  }
  memcpy(slot->key, key, 17);
  memcpy(slot->key + 17, qb, qn);
  memcpy(slot->resp, r, rlen);
  slot->key_len = (uint16_t)(17 + qn);
  slot->resp_len = (uint16_t)rlen;
  slot->hash = h;
  slot->id = id;
  slot->deadline_ns = now + (uint64_t)(valid_ms * 1e6);
  slot->used = 1;
  s->entries++;
  napi_get_boolean(env, true, &ok);
  return ok;
}

// Removing one entry would break the probe runs behind it; invalidation is all-or-nothing.
static napi_value js_clear(napi_env env, napi_callback_info info) {
  SOCK_ARGS(1);
  table_clear(s);
  return NULL;
}

// send(sock, buffer, address, port) -> bool (false: dropped, as UDP may)
static napi_value js_send(napi_env env, napi_callback_info info) {
  SOCK_ARGS(4);
  void *b = NULL;
  size_t blen = 0;
  uint32_t port = 0;
  CHECK(napi_get_buffer_info(env, argv[1], &b, &blen));
  CHECK(napi_get_value_uint32(env, argv[3], &port));
  struct sockaddr_storage ss;
  socklen_t sl = 0;
  napi_value ok;
  if (port > 65535 || parse_addr(env, argv[2], s->family, &ss, &sl, (uint16_t)port) != 0) {
    napi_throw_type_error(env, NULL, "dnsbatch: bad address or port");
    return NULL;
  }
  ssize_t r;
  do r = sendto(s->fd, b, blen, MSG_DONTWAIT, (struct sockaddr *)&ss, sl);
  while (r < 0 && errno == EINTR);
  napi_get_boolean(env, r == (ssize_t)blen, &ok);
  return ok;
}

// stats(sock) -> [answered here, handed to JavaScript, send drops, table entries]
static napi_value js_stats(napi_env env, napi_callback_info info) {
  SOCK_ARGS(1);
  napi_value arr, v;
  CHECK(napi_create_array_with_length(env, 4, &arr));
  double vals[4] = {(double)s->stats_native, (double)s->stats_js, (double)s->stats_send_drops, (double)s->entries};
  for (uint32_t i = 0; i < 4; i++) {
    napi_create_double(env, vals[i], &v);
    napi_set_element(env, arr, i, v);
  }
  return arr;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  sock_t *s = NULL;
  if (napi_get_value_external(env, argv[0], (void **)&s) != napi_ok || !s) return NULL;
  sock_shutdown(s); // a second close finds s->closed set: s lives until the handle is collected
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"port", NULL, js_port, NULL, NULL, NULL, napi_default, NULL},
      {"start", NULL, js_start, NULL, NULL, NULL, napi_default, NULL},
      {"install", NULL, js_install, NULL, NULL, NULL, napi_default, NULL},
      {"clear", NULL, js_clear, NULL, NULL, NULL, napi_default, NULL},
      {"send", NULL, js_send, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_value batch, slot, head;
  napi_create_uint32(env, BATCH, &batch);
  napi_create_uint32(env, SLOT_SIZE, &slot);
  napi_create_uint32(env, SLOT_HEAD, &head);
  napi_set_named_property(env, exports, "BATCH", batch);
  napi_set_named_property(env, exports, "SLOT_SIZE", slot);
  napi_set_named_property(env, exports, "SLOT_HEAD", head);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
