"""What each emulated host (tests/lab/emulate.py) must give under the shipped baseline policy.

Worked out by hand from the captures each emulation replays: the baseline allows TCP 22,
anything on loopback and the DHCP client, forbids TCP 1923 and calls the rest stray.
"""

from __future__ import annotations

import os
from typing import Any

SPICE = {("forbidden", "tcp", 1923, "0.0.0.0", "spiced")}
EXPECTED: dict[str, tuple[str, str, set[tuple[Any, ...]]]] = {
    # host: (os as reported, collector, findings as (kind, proto, port, address, process))
    "macos": ("Darwin 23.4.0", "lsof-fields", SPICE | {
        ("stray", "udp", 123, "192.168.20.14", "timed"),
        ("stray", "udp", 5353, "0.0.0.0", "mDNSResponder"),
        ("stray", "udp", 5353, "::", "mDNSResponder")}),
    "macos-user": ("Darwin 23.4.0", "bsd-netstat", SPICE | {
        ("stray", "tcp", 4164, "fd7a:115c:a1e0::1", "tailscaled"),  # truncated by netstat
        ("stray", "tcp", 5000, "0.0.0.0", "ControlCenter"),
        ("stray", "tcp", 5000, "::", "ControlCenter"),
        ("stray", "udp", 137, "0.0.0.0", "kernel_task"),
        ("stray", "udp", 5353, "0.0.0.0", "mDNSResponder"),
        ("stray", "udp", 5353, "::", "mDNSResponder")}),
    "freebsd": ("FreeBSD 14.1-RELEASE", "sockstat", SPICE | {
        ("stray", "tcp", 80, "::", "nginx"), ("stray", "tcp", 443, "::", "nginx"),
        ("stray", "tcp", 2049, "::", None), ("stray", "udp", 2049, "0.0.0.0", None),
        ("stray", "tcp", 9100, "::", "node_expor"),
        # ntpd on fe80::1%lo0 is bound to the loopback device: loopback, which it allows
        ("stray", "udp", 123, "10.0.2.15", "ntpd")}),
    "freebsd-no-sockstat": ("FreeBSD 13.2-RELEASE", "bsd-netstat", {
        ("stray", "tcp", 443, "2001:db8:85a3:8d3:1319:8a2e:370:7348", None),
        ("stray", "tcp", 8080, "::", None), ("stray", "udp", 514, "0.0.0.0", None),
        ("stray", "udp", 546, "fe80::5054:ff:fe12:3456", None)}),
    "openbsd": ("OpenBSD 7.4", "openbsd-netstat", SPICE | {
        ("stray", "udp", 514, "0.0.0.0", "syslogd")}),  # fe80::1%lo0:123 is loopback
    "solaris": ("SunOS 5.10", "solaris-netstat", {
        ("forbidden", "tcp", 1923, "0.0.0.0", None),
        ("stray", "tcp", 111, "0.0.0.0", None), ("stray", "tcp", 111, "::", None),
        ("stray", "tcp", 8080, "fe80::214:4fff:fe8e:e6b1", None),
        ("stray", "udp", 111, "0.0.0.0", None), ("stray", "udp", 111, "::", None),
        ("stray", "udp", 123, "0.0.0.0", None), ("stray", "udp", 123, "192.168.10.5", None),
        ("stray", "udp", 546, "fe80::214:4fff:fe8e:e6b1", None)}),
    "hpux": ("HP-UX B.11.31", "hpux-netstat", {
        ("forbidden", "tcp", 1923, "0.0.0.0", None),
        ("stray", "tcp", 443, "2001:db8:10:4::21", None),
        ("stray", "tcp", 5989, "10.16.4.21", None), ("stray", "udp", 161, "0.0.0.0", None),
        ("stray", "udp", 123, "10.16.4.21", None),
        ("stray", "udp", 123, "::ffff:10.16.4.21", None),  # IPv4-mapped, kept as printed
        ("stray", "udp", 547, "::", None)}),
    "aix": ("AIX 2", "aix-netstat", SPICE | {
        ("stray", "tcp", 44, "2001:db8:1:20::", None),  # truncated, and held by nobody
        ("stray", "tcp", 111, "0.0.0.0", "rpcbind"), ("stray", "udp", 111, "0.0.0.0", "rpcbind"),
        ("stray", "udp", 123, "10.1.1.15", "xntpd"), ("stray", "udp", 123, "::", "xntpd")}),
    # On Linux the probe's shell reads the release from /proc, not from `uname -r`: an
    # emulated Linux host reports the kernel it really runs on.
    "busybox": (f"Linux {os.uname().release}", "busybox-netstat", {
        ("forbidden", "tcp", 1923, "0.0.0.0", "spiced"),
        ("stray", "tcp", 8000, "0.0.0.0", "master"), ("stray", "tcp", 9000, "0.0.0.0", "userapp"),
        ("stray", "tcp", 8080, "::", "web d"), ("stray", "tcp", 8081, "::", "webv6"),
        ("stray", "tcp", 8088, "fd00:1234:5678::10", "exact23"),
        ("stray", "tcp", 443, "2001:db8:aaaa:bbbb:cccc:dddd:eeee:1", "longv6"),
        ("stray", "tcp", 9200, "fe80::1", "linklocal"),
        # Two sockets on UDP 4789 (vxa and vxb) are one problem: one finding, the first owner.
        ("stray", "udp", 4789, "0.0.0.0", "vxa"),
        ("stray", "udp", 5353, "0.0.0.0", "mdns"), ("stray", "udp", 5353, "::", "mdns"),
        ("stray", "udp", 123, "10.20.30.40", "ntpd"), ("stray", "udp", 547, "fe80::1", "dhcp6")}),
    "windows-cmd": ("Windows 10.0.20348.0", "powershell", {
        ("forbidden", "tcp", 1923, "0.0.0.0", "spiced.exe"),
        ("stray", "tcp", 135, "0.0.0.0", "svchost.exe"), ("stray", "tcp", 135, "::", "svchost.exe"),
        ("stray", "tcp", 445, "0.0.0.0", "System"),
        ("stray", "tcp", 2179, "fe80::8d2c:1f3a:6b1e:9d21", "vmms.exe"),
        ("stray", "udp", 123, "0.0.0.0", "svchost.exe"),
        ("stray", "udp", 5353, "::", "Code Helper.exe")}),
    "windows-powershell": ("Windows 10.0.20348.0", "windows-netstat", {
        ("forbidden", "tcp", 1923, "0.0.0.0", "spiced.exe"),
        ("stray", "tcp", 135, "0.0.0.0", "svchost.exe"), ("stray", "tcp", 135, "::", "svchost.exe"),
        ("stray", "tcp", 139, "10.0.0.21", "System"), ("stray", "tcp", 445, "0.0.0.0", "System"),
        ("stray", "tcp", 2179, "fe80::8d2c:1f3a:6b1e:9d21", None),
        ("stray", "tcp", 3389, "0.0.0.0", None), ("stray", "tcp", 3389, "::", None),
        ("stray", "udp", 123, "0.0.0.0", None), ("stray", "udp", 123, "::", None),
        ("stray", "udp", 137, "10.0.0.21", "System"),
        ("stray", "udp", 1900, "fe80::8d2c:1f3a:6b1e:9d21", None),
        ("stray", "udp", 5353, "0.0.0.0", "Code Helper.exe")}),
}
