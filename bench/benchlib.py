"""Helpers the newer bench scripts share: a free loopback port, a
process's CPU time, waiting for a TCP listener."""
import os
import socket
import time


def as_root():
    """The daemons' option to stay root when run as root: they refuse
    otherwise, and the benchmarks' data sits in root's temporary files."""
    return ["--user", "root"] if os.geteuid() == 0 else []


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1 (the kernel picks it)."""
    for _ in range(50):
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        t.bind(("127.0.0.1", 0))
        port = t.getsockname()[1]
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            u.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            u.close()
            t.close()
        return port
    raise RuntimeError("no free port")


def cpu_seconds(pid):
    """User plus system CPU time of a process, from /proc."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    """A process's resident set size, in KiB (0 when /proc has none)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_tcp(port, timeout=10.0):
    """Until something accepts on 127.0.0.1:port; False after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False
