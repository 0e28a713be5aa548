"""virtio-net (issue 6) seen from Linux guests, over a tap and over slirp.

Two guests carry every check (a Linux boot is the expensive part), booted
side by side:
  A  one NIC on tap tapbhv0, mac= and mtu=9000 given;
  B  a slirp NIC (hostfwd rule) and a NIC on tap tapbhv1, its MAC derived
     from slot, function and VM name as bhyve(8) describes.
Both taps sit in bridge brbhv, which holds the host's address 192.168.77.1.

tap:   A sees its mac= and mtu=9000, configures an address, pings the host
       and is pinged; 64 MiB go A -> host and host -> A with equal SHA-256.
bridge: A and B exchange pings and a TCP message through brbhv.
slirp: B gets 10.0.2.15 by DHCP (busybox udhcpc), fetches from a server on
       the host's loopback through 10.0.2.2, resolves a name through the
       DNS forwarder 10.0.2.3 (answered by a responder this test puts at the
       host's resolver address), and a host client reaches a server in B
       through the hostfwd rule.
Start-up errors (no guest boots): a missing tap, a busy tap, a bad mtu=.
"""
import contextlib
import hashlib
import os
import re
import socket
import struct
import subprocess
import threading
import time

import pytest

from bhyveguest import Guest
from guestlib import assets, bhyve_path, make_initramfs, repo_root

NET_MODULES = ["virtio", "virtio_ring", "virtio_pci_modern_dev", "virtio_pci_legacy_dev",
               "virtio_pci", "virtio_net"]
BRIDGE, TAP_A, TAP_B = "brbhv", "tapbhv0", "tapbhv1"
HOST_IP, A_IP, B_IP = "192.168.77.1", "192.168.77.10", "192.168.77.11"
A_MAC = "02:bb:00:00:00:0a"
B_NAME = "netb"
B_TAP_SLOT = 3
MIB = 1 << 20
BIG = 64 * MIB
XFER_TIMEOUT = 600

# busybox udhcpc runs this at each event ($mask is the prefix length).
DHCP_SCRIPT = b"""#!/bin/sh
case "$1" in
deconfig)
	ip link set "$interface" up
	ip addr flush dev "$interface"
	;;
bound|renew)
	ip addr flush dev "$interface"
	ip addr add "$ip/$mask" dev "$interface"
	[ -n "$router" ] && ip route add default via "${router%% *}" dev "$interface"
	echo "ip=$ip router=$router dns=$dns" > "/dhcp.$interface"
	;;
esac
exit 0
"""


def sh(*cmd, check=True):
    return subprocess.run(cmd, check=check, capture_output=True, text=True, timeout=30)


def derived_mac(slot, func, vmname):
    """bhyve(8): OUI 58:9c:fc, then MD5("slot-func-vmname") bytes 0-2."""
    d = hashlib.md5(b"%d-%d-%s" % (slot, func, vmname.encode())).digest()
    return "58:9c:fc:%02x:%02x:%02x" % (d[0], d[1], d[2])


def free_port(addr="127.0.0.1"):
    s = socket.socket()
    s.bind((addr, 0))
    port = s.getsockname()[1]
    s.close()
    return port


class OneShot(threading.Thread):
    """A TCP server for one client: send (an HTTP response carrying data),
    or receive exactly `expect` bytes; result holds what happened."""

    def __init__(self, addr, send=None, expect=0, http=False):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, 0))
        self.sock.listen(1)
        self.sock.settimeout(XFER_TIMEOUT)
        self.port = self.sock.getsockname()[1]
        self.send, self.expect, self.http = send, expect, http
        self.result = None
        self.start()

    def run(self):
        try:
            c, _ = self.sock.accept()
            c.settimeout(XFER_TIMEOUT)
            with c:
                if self.send is not None:
                    req = b""
                    while self.http and b"\r\n\r\n" not in req:
                        chunk = c.recv(4096)
                        if not chunk:
                            break
                        req += chunk
                    head = b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(self.send)
                    c.sendall((head if self.http else b"") + self.send)
                    self.result = "sent"
                else:
                    h, got = hashlib.sha256(), 0
                    while got < self.expect:
                        b = c.recv(1 << 16)
                        if not b:
                            break
                        h.update(b)
                        got += len(b)
                    self.result = (got, h.hexdigest())
        except OSError as e:
            self.result = e
        finally:
            self.sock.close()


class DnsResponder(threading.Thread):
    """Answers every A query with 10.9.8.7 (RFC 1035 §4.1), others with no
    record, until stopped."""

    def __init__(self, addr):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((addr, 53))
        self.sock.settimeout(0.5)
        self.stop = False
        self.queries = 0
        self.start()

    def run(self):
        while not self.stop:
            try:
                q, peer = self.sock.recvfrom(512)
            except socket.timeout:
                continue
            if len(q) < 17:
                continue
            self.queries += 1
            end = 12
            while end < len(q) and q[end]:
                end += q[end] + 1
            qtype = struct.unpack(">H", q[end + 1:end + 3])[0]
            question = q[12:end + 5]
            answer = b""
            if qtype == 1:
                answer = (b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 60, 4) +
                          socket.inet_aton("10.9.8.7"))
            hdr = q[:2] + struct.pack(">HHHHH", 0x8180, 1, 1 if answer else 0, 0, 0)
            self.sock.sendto(hdr + question + answer, peer)
        self.sock.close()


def host_resolver():
    """The first IPv4 nameserver of /etc/resolv.conf, which libslirp forwards
    the guest's DNS to; None when there is none."""
    try:
        for line in open("/etc/resolv.conf"):
            m = re.match(r"\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$", line)
            if m:
                return m.group(1)
    except OSError:
        pass
    return None


@pytest.fixture(scope="module")
def net_initrd(tmp_path_factory):
    d = tmp_path_factory.mktemp("netinitrd")
    init = open(os.path.join(repo_root(), "tests/guests/linux/test-init")).read()
    return str(make_initramfs(d, init, modules=NET_MODULES, name="net.cpio.gz",
                              files={"/etc/udhcpc.script": DHCP_SCRIPT}))


@pytest.fixture(scope="module")
def bridge(kvm):
    """brbhv with tapbhv0 and tapbhv1, the host at 192.168.77.1, MTU 9000."""
    def cleanup():
        for dev in (TAP_A, TAP_B, BRIDGE):
            sh("ip", "link", "del", dev, check=False)
    cleanup()
    try:
        sh("ip", "link", "add", BRIDGE, "type", "bridge")
        for tap in (TAP_A, TAP_B):
            sh("ip", "tuntap", "add", "dev", tap, "mode", "tap")
            sh("ip", "link", "set", tap, "mtu", "9000", "master", BRIDGE, "up")
        sh("ip", "link", "set", BRIDGE, "mtu", "9000", "up")
        sh("ip", "addr", "add", HOST_IP + "/24", "dev", BRIDGE)
    except subprocess.CalledProcessError as e:
        cleanup()
        pytest.fail("cannot set up the bridge (run under scripts/kvm-run): %s" % e.stderr,
                    pytrace=False)
    yield BRIDGE
    cleanup()


@pytest.fixture(scope="module")
def hostfwd_port():
    return free_port()


@pytest.fixture(scope="module")
def guests(net_initrd, bridge, hostfwd_port):
    """Guests A and B, booted in parallel."""
    specs = {
        "a": dict(args=["-s", "2,virtio-net,%s,mac=%s,mtu=9000" % (TAP_A, A_MAC)],
                  mem="512M", name="neta"),
        "b": dict(args=["-s", "2,virtio-net,slirp,hostfwd=tcp:127.0.0.1:%d-:8080" %
                        hostfwd_port,
                        "-s", "%d,virtio-net,%s" % (B_TAP_SLOT, TAP_B)],
                  mem="256M", name=B_NAME),
    }
    made = {}

    def boot(key):
        try:
            made[key] = Guest(net_initrd, **specs[key])
        except Exception as e:  # reported below, in the test's thread
            made[key] = e

    threads = [threading.Thread(target=boot, args=(k,)) for k in specs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        for k, g in made.items():
            if isinstance(g, Exception):
                pytest.fail("guest %s did not boot: %s" % (k, g), pytrace=False)
        yield made
    finally:
        for g in made.values():
            if isinstance(g, Guest):
                g.kill()


def iface_with_mac(g, mac):
    out = g.sh("for i in /sys/class/net/eth*; do echo ${i##*/} $(cat $i/address); done")
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1] == mac:
            return parts[0]
    pytest.fail("no interface with MAC %s in:\n%s" % (mac, out), pytrace=False)


@pytest.fixture(scope="module")
def a_up(guests):
    a = guests["a"]
    a.sh("ip addr add %s/24 dev eth0 && ip link set eth0 up" % A_IP)
    return a


@pytest.fixture(scope="module")
def b_tap(guests):
    b = guests["b"]
    ifc = iface_with_mac(b, derived_mac(B_TAP_SLOT, 0, B_NAME))
    b.sh("ip addr add %s/24 dev %s && ip link set %s up" % (B_IP, ifc, ifc))
    return ifc


@pytest.fixture(scope="module")
def b_slirp(guests):
    """B's slirp interface after DHCP: (name, the lease line)."""
    b = guests["b"]
    ifc = iface_with_mac(b, derived_mac(2, 0, B_NAME))
    out = b.sh("udhcpc -i %s -s /etc/udhcpc.script -n -q -t 5 -T 2 >/dev/null 2>&1; "
               "cat /dhcp.%s" % (ifc, ifc), timeout=120)
    return ifc, out


def ping_ok(out):
    return re.search(r"\b[1-9]\d* packets received", out) is not None


# ---- tap ----

def test_tap_mac_and_mtu(guests):
    a = guests["a"]
    assert a.sh("cat /sys/class/net/eth0/address") == A_MAC
    assert a.sh("cat /sys/class/net/eth0/mtu") == "9000"


def test_tap_ping_both_ways(a_up):
    out = a_up.sh("ping -c 3 -W 10 %s" % HOST_IP, timeout=90)
    assert ping_ok(out), out
    r = subprocess.run(["busybox", "ping", "-c", "3", "-W", "10", A_IP], capture_output=True,
                       text=True, timeout=90)
    assert r.returncode == 0 and ping_ok(r.stdout), r.stdout + r.stderr


@pytest.fixture(scope="module")
def big_in_guest(a_up):
    """64 MiB of host-made random data fetched by A over the tap (host ->
    guest), kept in A as /big: (its SHA-256 as the host made it, A's)."""
    data = os.urandom(BIG)
    srv = OneShot(HOST_IP, send=data, http=True)
    out = a_up.sh("wget -q -O /big http://%s:%d/big && sha256sum /big" % (HOST_IP, srv.port),
                  timeout=XFER_TIMEOUT)
    srv.join(XFER_TIMEOUT)
    assert srv.result == "sent"
    return hashlib.sha256(data).hexdigest(), out.split()[0]


def test_tap_64mib_host_to_guest(big_in_guest):
    want, got = big_in_guest
    assert got == want


def http_get_sha256(addr, port, path, deadline=60):
    """GET path over HTTP/1.0: (status line, body length, body SHA-256)."""
    end = time.monotonic() + deadline
    while True:
        try:
            c = socket.create_connection((addr, port), timeout=XFER_TIMEOUT)
            break
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(0.5)
    with c:
        c.sendall(b"GET %s HTTP/1.0\r\n\r\n" % path.encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            chunk = c.recv(1 << 16)
            if not chunk:
                break
            buf += chunk
        head, _, body = buf.partition(b"\r\n\r\n")
        h, got = hashlib.sha256(body), len(body)
        while True:
            chunk = c.recv(1 << 16)
            if not chunk:
                break
            h.update(chunk)
            got += len(chunk)
    return head.split(b"\r\n")[0].decode(errors="replace"), got, h.hexdigest()


def test_tap_64mib_guest_to_host(a_up, big_in_guest):
    """A serves /big back (busybox httpd; sending it with nc to a host server
    took a minute in the test bed, this takes seconds) and the host fetches
    it: the host's SHA-256 of what arrived is the one A computed."""
    a_up.sh("mkdir -p /srv && mv /big /srv/big && httpd -p %s:8080 -h /srv" % A_IP)
    try:
        status, got, digest = http_get_sha256(A_IP, 8080, "/big")
    finally:
        a_up.sh("killall httpd; rm -f /srv/big; true")
    assert " 200 " in status + " ", status
    assert (got, digest) == (BIG, big_in_guest[1])


# ---- two guests on one bridge ----

def test_bridge_two_guests(guests, a_up, b_tap):
    a, b = a_up, guests["b"]
    assert ping_ok(a.sh("ping -c 3 -W 10 %s" % B_IP, timeout=90))
    assert ping_ok(b.sh("ping -c 3 -W 10 %s" % A_IP, timeout=90))
    b.sh("nc -l -p 7001 > /msg & echo $! > /ncpid")
    time.sleep(1)
    a.sh("echo hello-from-a | nc %s 7001" % B_IP, timeout=60)
    out = b.sh("for i in $(seq 30); do [ -s /msg ] && break; sleep 1; done; cat /msg",
               timeout=60)
    b.sh("kill $(cat /ncpid) 2>/dev/null; true")
    assert out == "hello-from-a"


# ---- slirp ----

def test_slirp_dhcp(b_slirp):
    _, lease = b_slirp
    assert "ip=10.0.2.15" in lease
    assert "router=10.0.2.2" in lease
    assert "dns=10.0.2.3" in lease


def test_slirp_reaches_host_loopback(guests, b_slirp):
    data = os.urandom(4 * MIB)
    srv = OneShot("127.0.0.1", send=data, http=True)
    out = guests["b"].sh("wget -q -O - http://10.0.2.2:%d/x | sha256sum" % srv.port,
                         timeout=XFER_TIMEOUT)
    srv.join(XFER_TIMEOUT)
    assert out.split()[0] == hashlib.sha256(data).hexdigest()


def test_slirp_dns_forwarded(guests, b_slirp):
    """The guest's query to 10.0.2.3 reaches the host's resolver (read by
    libslirp from /etc/resolv.conf inside its sandbox) and the answer
    comes back."""
    addr = host_resolver()
    if addr is None:
        pytest.skip("no IPv4 nameserver in /etc/resolv.conf")
    added = False
    if sh("ip", "route", "get", addr, check=False).stdout.find("dev lo") < 0:
        sh("ip", "addr", "add", addr + "/32", "dev", "lo")
        added = True
    dns = DnsResponder(addr)
    try:
        out = guests["b"].sh("nslookup bhyve.test 10.0.2.3 2>&1", timeout=90)
    finally:
        dns.stop = True
        dns.join(5)
        if added:
            sh("ip", "addr", "del", addr + "/32", "dev", "lo", check=False)
    assert "10.9.8.7" in out, out
    assert dns.queries >= 1


def test_slirp_hostfwd(guests, b_slirp, hostfwd_port):
    b = guests["b"]
    b.sh("echo hello-from-guest | nc -l -p 8080 & echo $! > /fwdpid")
    time.sleep(1)
    got = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not got:
        with contextlib.suppress(OSError), socket.create_connection(
                ("127.0.0.1", hostfwd_port), timeout=10) as c:
            while True:
                chunk = c.recv(4096)
                if not chunk:
                    break
                got += chunk
        if not got:
            time.sleep(1)
    b.sh("kill $(cat /fwdpid) 2>/dev/null; true")
    assert got.strip() == b"hello-from-guest"


# ---- start-up errors (no guest runs) ----

def start_fails(args):
    r = subprocess.run([bhyve_path(), "-m", "64M", "-s", "0,hostbridge", *args, "--kernel",
                        str(assets().vmlinuz), "errvm"],
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stderr


def test_startup_errors(guests, bridge):
    rc, err = start_fails(["-s", "2,virtio-net,tapbhv9"])
    assert rc == 4 and "-s 0:2:0,virtio-net: backend=tapbhv9: no such tap interface" in err, err
    # Guest A holds tapbhv0.
    rc, err = start_fails(["-s", "5,virtio-net,%s" % TAP_A])
    assert rc == 4 and "backend=%s: tap interface busy" % TAP_A in err, err
    rc, err = start_fails(["-s", "2,virtio-net,%s,mtu=67" % TAP_B])
    assert rc == 4 and "mtu=67: not a number in 68..65535" in err, err
    rc, err = start_fails(["-s", "2,virtio-net,slirp,mac=01:00:00:00:00:01"])
    assert rc == 4 and "mac=01:00:00:00:00:01" in err, err


# ---- a tap deleted under a running guest (issue 9: faults) ----

def cpu_seconds(pid):
    """utime + stime of every thread of pid, in seconds."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_tap_deleted_under_running_guest(guests, b_tap, b_slirp):
    """Last: tapbhv1 goes away while B runs.  The runner says once that the
    back end failed and keeps running without spinning on the dead fd (it
    uses less than half a CPU while B idles); B's frames to the dead tap are
    dropped (its ping gets no answer), its other NIC (slirp) still carries
    traffic, and its console still answers."""
    b = guests["b"]
    sh("ip", "link", "del", TAP_B)
    b.p.expect(r"virtio-net: the network back end failed \(([^)]*)\); receiving stops",
               timeout=60)
    seen = b.sh("sleep 2; echo console-alive", timeout=60)
    seen += b.sh("ping -c 2 -W 2 %s 2>&1; true" % HOST_IP, timeout=60)
    assert not ping_ok(seen)
    data = os.urandom(MIB)
    srv = OneShot("127.0.0.1", send=data, http=True)
    out = b.sh("wget -q -O - http://10.0.2.2:%d/x | sha256sum" % srv.port, timeout=XFER_TIMEOUT)
    srv.join(XFER_TIMEOUT)
    seen += out
    assert hashlib.sha256(data).hexdigest() in out, out
    pid = b.p.pid
    t0, c0 = time.monotonic(), cpu_seconds(pid)
    seen += b.sh("sleep 4; echo idle-done", timeout=60)
    used = (cpu_seconds(pid) - c0) / (time.monotonic() - t0)
    assert "console-alive" in seen and "idle-done" in seen
    assert b.p.isalive()
    assert used < 0.5, "the runner used %.2f CPUs with a dead tap" % used
    assert "back end failed" not in seen, seen  # said once
    b.p.sendline("poweroff -f")
    status = b.wait_exit(timeout=120)
    assert status == 1, (status, (b.p.before or "")[-2000:])
