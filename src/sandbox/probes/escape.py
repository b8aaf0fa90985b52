#!/usr/bin/env python3
# Escape probes for Corral's sandbox tests. Runs INSIDE the sandbox only: the first argument
# carries the host's namespace inodes and every probe refuses to run if any of them matches
# ours (i.e. we are not sandboxed). Prints one JSON line per probe:
#   {"probe": name, "contained": bool, "detail": "..."}
# usage: escape.py HOSTNS PROBE[=ARG] ...     HOSTNS = "user:123,pid:456,net:789,mnt:1011"
import ctypes
import ctypes.util
import errno
import json
import os
import platform
import socket
import sys
import time

libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
ARCH = platform.machine()
NR = {
    "x86_64": {"io_uring_setup": 425, "bpf": 321, "keyctl": 250, "add_key": 248, "clone": 56, "clone3": 435, "unshare": 272, "setns": 308, "userfaultfd": 323, "perf_event_open": 298, "process_vm_readv": 310},
    "aarch64": {"io_uring_setup": 425, "bpf": 280, "keyctl": 219, "add_key": 217, "clone": 220, "clone3": 435, "unshare": 97, "setns": 268, "userfaultfd": 282, "perf_event_open": 241, "process_vm_readv": 270},
}[ARCH]
libc.syscall.restype = ctypes.c_long


def sys_call(name, *args):
    ctypes.set_errno(0)
    r = libc.syscall(ctypes.c_long(NR[name]), *[ctypes.c_long(a) if isinstance(a, int) else a for a in args])
    return r, ctypes.get_errno()


def guard(hostns):
    for item in hostns.split(","):
        kind, inode = item.split(":")
        mine = os.readlink(f"/proc/self/ns/{kind}")
        if mine == f"{kind}:[{inode}]":
            print(json.dumps({"probe": "guard", "contained": False, "detail": f"refusing: same {kind} namespace as the host"}))
            sys.exit(99)


def fails(f):
    try:
        f()
        return False, "succeeded"
    except OSError as e:
        return True, f"{errno.errorcode.get(e.errno, e.errno)}"


def p_inet(port):
    out = []
    for fam, addr in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        def go():
            s = socket.socket(fam, socket.SOCK_STREAM)
            s.settimeout(2)
            s.connect((addr, int(port)))
        out.append((addr,) + fails(go))
    return all(o[1] for o in out), "; ".join(f"{a}: {d}" for a, _, d in out)


def p_unix(path):
    def go():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        s.connect(path.replace("@", "\0", 1) if path.startswith("@") else path)
    return fails(go)


def p_read(paths):
    got = []
    for p in paths.split(":"):
        try:
            with open(p, "rb") as f:
                data = f.read()
            if data:
                got.append(f"{p}: read {len(data)} bytes")
        except OSError:
            pass
    return not got, "; ".join(got) or "nothing readable"


def p_listdir(paths):
    seen = []
    for p in paths.split(":"):
        try:
            entries = os.listdir(p)
            if entries:
                seen.append(f"{p}: {entries}")
        except OSError:
            pass
    return not seen, "; ".join(seen) or "absent or empty"


def p_environ(secret):
    leaks = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                if secret.encode() in f.read():
                    leaks.append(pid)
        except OSError:
            pass
    return not leaks, f"secret visible in pids {leaks}" if leaks else "secret in no /proc/*/environ"


def p_write(paths):
    wrote = []
    for p in paths.split(":"):
        try:
            with open(p, "w") as f:
                f.write("escaped")
            wrote.append(p)
        except OSError:
            pass
    return not wrote, f"wrote {wrote}" if wrote else "every write refused"


def p_openw(paths):
    # Opens for writing and closes WITHOUT writing: a successful open is the finding (writing to
    # /proc/sysrq-trigger would act on the host).
    opened = []
    for p in paths.split(":"):
        try:
            fd = os.open(p, os.O_WRONLY)
            os.close(fd)
            opened.append(p)
        except OSError:
            pass
    return not opened, f"opened for writing: {opened}" if opened else "every open for writing refused"


def p_forkbomb(seconds):
    end = time.time() + float(seconds)
    refused = 0
    kids = []
    while time.time() < end:
        try:
            pid = os.fork()
            if pid == 0:
                time.sleep(float(seconds) + 5)
                os._exit(0)
            kids.append(pid)
        except OSError as e:
            if e.errno == errno.EAGAIN:
                refused += 1
            time.sleep(0.001)
    return refused > 0, f"{len(kids)} forks, {refused} refused with EAGAIN"


def p_memhog(mib):
    blocks = []
    for _ in range(int(mib)):
        blocks.append(bytearray(1024 * 1024))
    return False, f"allocated {mib} MiB without being stopped"


def p_ptrace(_):
    pid = os.fork()
    if pid == 0:
        time.sleep(5)
        os._exit(0)
    ctypes.set_errno(0)
    r = libc.ptrace(ctypes.c_long(16), ctypes.c_long(pid), None, None)  # PTRACE_ATTACH
    e = ctypes.get_errno()
    r2 = libc.ptrace(ctypes.c_long(0), ctypes.c_long(0), None, None)  # PTRACE_TRACEME
    e2 = ctypes.get_errno()
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    r3, e3 = sys_call("process_vm_readv", pid, 0, 0, 0, 0, 0)
    return r == -1 and r2 == -1 and r3 == -1, f"attach {errno.errorcode.get(e, r)}, traceme {errno.errorcode.get(e2, r2)}, process_vm_readv {errno.errorcode.get(e3, r3)}"


def p_mount(_):
    os.makedirs("/tmp/m", exist_ok=True)
    ctypes.set_errno(0)
    r = libc.mount(b"none", b"/tmp/m", b"tmpfs", ctypes.c_ulong(0), None)
    e = ctypes.get_errno()
    r2 = libc.umount2(b"/proc", 2)
    e2 = ctypes.get_errno()
    return r == -1 and r2 == -1, f"mount {errno.errorcode.get(e, r)}, umount2 {errno.errorcode.get(e2, r2)}"


def p_setuid(_):
    status = open("/proc/self/status").read()
    fields = dict(line.split(":\t", 1) for line in status.splitlines() if ":\t" in line)
    caps = {k: int(fields[k].strip(), 16) for k in ("CapPrm", "CapEff", "CapBnd", "CapAmb")}
    nnp = fields.get("NoNewPrivs", "0").strip() == "1"
    problems = [f"{k}={v:x}" for k, v in caps.items() if v]
    if not nnp:
        problems.append("NoNewPrivs=0")
    if os.geteuid() != 0:
        ok, d = fails(lambda: os.setuid(0))
        if not ok:
            problems.append("setuid(0) succeeded")
    # Changing a file's owner needs CAP_CHOWN, which nobody inside has.
    open("/tmp/own", "w").close()
    ok, d = fails(lambda: os.chown("/tmp/own", 1, 1))
    if not ok:
        problems.append("chown succeeded")
    return not problems, ", ".join(problems) or "no capabilities, no_new_privs set, setuid/chown refused"


def p_raw(_):
    out = []
    for name, args in (("AF_PACKET", (17, socket.SOCK_RAW, 0)), ("AF_INET raw", (socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)), ("AF_NETLINK", (16, socket.SOCK_RAW, 0)), ("AF_VSOCK", (40, socket.SOCK_STREAM, 0))):
        out.append((name,) + fails(lambda: socket.socket(*args)))
    return all(o[1] for o in out), "; ".join(f"{n}: {d}" for n, _, d in out)


def p_errno_syscall(name, *args):
    r, e = sys_call(name, *args)
    return r == -1, f"{name} -> {errno.errorcode.get(e, r)}" if r == -1 else f"{name} returned {r}"


def p_io_uring(_):
    params = ctypes.create_string_buffer(120)
    return p_errno_syscall("io_uring_setup", 8, params)


def p_bpf(_):
    attr = ctypes.create_string_buffer(128)
    return p_errno_syscall("bpf", 0, attr, 128)  # BPF_MAP_CREATE


def p_keyctl(_):
    a = p_errno_syscall("keyctl", 0, -3, 0)  # KEYCTL_GET_KEYRING_ID of the session keyring
    b = p_errno_syscall("add_key", ctypes.c_char_p(b"user"), ctypes.c_char_p(b"x"), ctypes.c_char_p(b"y"), 1, -3)
    return a[0] and b[0], f"{a[1]}; {b[1]}"


def p_unshare(_):
    out = []
    for flag, name in ((0x10000000, "NEWUSER"), (0x00020000, "NEWNS"), (0x40000000, "NEWNET")):
        ctypes.set_errno(0)
        r = libc.unshare(flag)
        out.append((name, r == -1, errno.errorcode.get(ctypes.get_errno(), r)))
    # clone(2) with a namespace flag: if it ever succeeded, the child leaves at once.
    r, e = sys_call("clone", 0x10000000 | 17, 0, 0, 0, 0)
    if r == 0:
        os._exit(0)
    if r > 0:
        os.waitpid(r, 0)
    out.append(("clone NEWUSER", r == -1, errno.errorcode.get(e, r)))
    r, e = sys_call("clone3", ctypes.create_string_buffer(88), 88)
    out.append(("clone3", r == -1 and e == errno.ENOSYS, errno.errorcode.get(e, r)))
    r, e = sys_call("setns", 0, 0)
    out.append(("setns", r == -1, errno.errorcode.get(e, r)))
    # Ordinary children still work (libc falls back from clone3 to clone).
    pid = os.fork()
    if pid == 0:
        os._exit(7)
    _, st = os.waitpid(pid, 0)
    out.append(("fork still works", os.waitstatus_to_exitcode(st) == 7, str(os.waitstatus_to_exitcode(st))))
    return all(o[1] for o in out), "; ".join(f"{n}: {d}" for n, _, d in out)


def p_personality(_):
    libc.personality.restype = ctypes.c_int
    ctypes.set_errno(0)
    r = libc.personality(ctypes.c_ulong(0x0040000))  # ADDR_NO_RANDOMIZE
    e = ctypes.get_errno()
    q = libc.personality(ctypes.c_ulong(0xFFFFFFFF))
    return r == -1 and q != -1, f"ADDR_NO_RANDOMIZE -> {errno.errorcode.get(e, r)}, query -> {q}"


PROBES = {
    "inet": p_inet, "unix": p_unix, "read": p_read, "listdir": p_listdir, "environ": p_environ,
    "write": p_write, "openw": p_openw, "forkbomb": p_forkbomb, "memhog": p_memhog, "ptrace": p_ptrace,
    "mount": p_mount, "setuid": p_setuid, "raw": p_raw, "io_uring": p_io_uring, "bpf": p_bpf,
    "keyctl": p_keyctl, "unshare": p_unshare, "personality": p_personality,
}

if __name__ == "__main__":
    guard(sys.argv[1])
    for spec in sys.argv[2:]:
        name, _, arg = spec.partition("=")
        label = f"{name}={arg}" if name in ("unix", "read", "listdir", "write", "openw") else name
        try:
            contained, detail = PROBES[name](arg)
        except Exception as e:  # a probe that crashes proves nothing either way
            contained, detail = False, f"probe error: {type(e).__name__}: {e}"
        print(json.dumps({"probe": label, "contained": bool(contained), "detail": detail}), flush=True)
