#!/usr/bin/env python3
"""Seed corpora for the fuzz targets: tests/fuzz/corpus/<target>/.

Seeds come from the fixture trees (tests/fixtures/linux) and from literal
cases: hostile names, cut-off lines, overflows, odd units. Run it again after
adding fixtures; it only adds or overwrites its own seed-* files, so inputs the
fuzzers found (crash-*, min-*) stay.
"""
import os
import random
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "fixtures", "linux")
CORPUS = os.path.join(HERE, "corpus")


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


def fixture_files(basename):
    for root, _, files in os.walk(FIX):
        for f in sorted(files):
            if f == basename:
                path = os.path.join(root, f)
                rel = os.path.relpath(path, FIX).replace("/", "_")
                with open(path, "rb") as fh:
                    yield rel, fh.read()


def from_fixtures(target, basename):
    for rel, data in fixture_files(basename):
        put(target, rel, data)


from_fixtures("status", "status")
put("status", "kthread", "Name:\tkthreadd\nState:\tS (sleeping)\nPid:\t2\nPPid:\t0\nKthread:\t1\n")
put("status", "escaped-name", "Name:\ta\\nb\\\\c\\td \nState:\tZ (zombie)\nPid:\t9\n")
put("status", "cut", "Name:\tx\nRssAnon:\t12 kB\nRssShmem:\t4 kB\nVmSwap:\t0 kB\nVmPTE:\t8")
put("status", "huge", "Name:\tx\nRssAnon:\t18446744073709551615 kB\nRssShmem:\t9007199254740991 kB\n"
    "VmSwap:\t9007199254740991 kB\nVmPTE:\t9007199254740991 kB\n")
put("status", "no-tab-name", "Name:")
put("status", "crlf", "Name:\tx\r\nVmRSS:\t  1 kB \r\nUid:\t1\t2\t3\t4\r\n")

from_fixtures("stat", "stat")
put("stat", "hostile", "400 (a b) Z\n(c) S 1 400 400 0 -1 4194560 0 0 0 0 1 2 0 0 20 0 1 0 99 "
    "1000 10 18446744073709551615\n")
put("stat", "no-close", "1 (abc S 1 2 3")
put("stat", "only-paren", "()")
put("stat", "negative", "7 (x) R -1 -2 -3 -4 -5 -6 -7 -8 -9 -10 -11 -12 -13 -14 -15 -16 -17 -18 "
    "-19 -20 -21 -22 -23")
put("stat", "overflow", "7 (x) R " + " ".join(["99999999999999999999"] * 30))
put("stat", "long-comm", "5 (" + "n" * 200 + ") R 1 " + "0 " * 40)

from_fixtures("smaps_rollup", "smaps_rollup")
put("smaps_rollup", "minimal", "Rss: 4 kB\nPss: 2 kB\n")
put("smaps_rollup", "units", "Rss: 4 MiB\nPss: 3 GiB\nSwap: 1 KiB\nLocked: 7\nKSM: 9 TB\n")
put("smaps_rollup", "overflow", "Rss: 18014398509481984 kB\nPss: 9007199254740991 kB\n")

for name in ("threaded", "memfd_shm", "truncated", "kthread"):
    with open(os.path.join(FIX, "smaps", name), "rb") as fh:
        put("smaps", name, fh.read())
put("smaps", "unknown-keys", "7f00-7f10 rw-p 00000000 00:00 0 \nSize: 64 kB\nFutureKey: 1 kB\n"
    "AnonHugePages: 2048 kB\nSwap: x kB\nVmFlags: rd wr\n"
    "8000-9000 r--s 00001000 08:01 42   /data/my file (deleted)\r\nRss: 4 kB\nVmFlags: rd sh")
put("smaps", "bad-headers", "2000-1000 rw-p 0 00:00 0\nRss: 1 kB\n1000-2000 rw 0 00:00 0\n"
    "7g00-1 rw-p 0 00:00 0 /x\n1000-2000 rw-p 0 1000:00 0\n10000000000000000-1 rw-p 0 0:0 0\n"
    "1-2 rw-s 0 0:0 0 /dev/zero (deleted)\nSwap: 18446744073709551615 kB\n")
put("smaps", "syscall", "230 0x1 0x1 0x7f4ea99f9ab0 0x0 0x0 0x7f4eaa74e6e8 0x7f4ea99f9a70 0x7f4eaa0ed545\n")
put("smaps", "syscall-blocked", "-1 0x7ffd00001000 0x401000\n")
put("smaps", "names", "1-2 rw-p 0 0:0 0 [anon:pool]\n3-4 rw-s 0 0:0 0 [anon_shmem:x]\n"
    "5-6 r--p 0 0:0 0 /memfd:a (deleted)\n7-8 rw-s 0 0:0 0 /SYSV00000000 (deleted)\n"
    "9-a rw-s 0 0:0 0  (deleted)\n")

from_fixtures("meminfo", "meminfo")
put("meminfo", "total-only", "MemTotal: 16384 kB")
put("meminfo", "swapcached-first", "SwapCached: 1 kB\nMemTotal: 2 kB\nSwapFree: x kB\n")

put("psi", "basic", open(os.path.join(FIX, "basic", "pressure", "memory"), "rb").read())
put("psi", "some-only", "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n")
put("psi", "long-frac", "some avg10=1.123456789012345678901 avg60=99999999999999999999.5 "
    "avg300=0. total=18446744073709551615\n")
put("psi", "junk", "some avg10= avg60 total=1 =\nfull \n")

from_fixtures("io", "io")
put("io", "negative", "read_bytes: -5\nwrite_bytes: 9223372036854775808\n")

from_fixtures("btime", "stat")
put("btime", "only", "btime 1700000000")
put("btime", "negative", "cpu 1 2 3\nbtime   -42\n")
put("btime", "empty-value", "btime \n")

from_fixtures("cgroup", "cgroup")
put("cgroup", "v1", "12:name=systemd:/system.slice/nginx.service\n1:cpu:/x.service\n")
put("cgroup", "user-session",
    "0::/user.slice/user-1000.slice/user@1000.service/session-3.scope\n")
put("cgroup", "init", "0::/init.scope")
put("cgroup", "long", "0::/" + "a" * 300 + ".service\n")
put("cgroup", "bare", "0::.scope\n0::/.service/\n:::\n")

for target, base in (("kv", "status"), ("kv", "meminfo"), ("kv", "io")):
    for rel, data in fixture_files(base):
        put(target, rel, data)
put("kv", "sizes", "a: 1 kB\nb: 2 KiB\nc: 3 MiB\nd: 4 GiB\ne: 5\nf: 6 kb\ng:\t\t7   kB  \r\n:\n::\n")
put("kv", "overflow", "x: 18446744073709551615\ny: 18446744073709551616 kB\nz: 9007199254740992 GiB\n")

for i in range(3, 7):
    with open(os.path.join(FIX, "basic", "100", "fdinfo", str(i)), "rb") as fh:
        put("fdinfo", "fixture-%d" % i, fh.read())
put("fdinfo", "many", "".join("drm-total-r%d:\t%d KiB\n" % (i, i) for i in range(40)))
put("fdinfo", "long-keys", "drm-pdev:\t" + "p" * 100 + "\ndrm-client-id:\t" + "9" * 50 +
    "\ndrm-memory-" + "k" * 80 + ":\t1 MiB\n")
put("fdinfo", "not-drm", "pos:\t0\nflags:\t02\n")
put("fdinfo", "bad-sizes", "drm-total-vram:\t1 TiB\ndrm-resident-vram:\t-1 KiB\ndrm-memory-x:\n")

units = ["1.5G", "0", "512", "1K", "1KB", "1KiB", "1kib", " 2 M ", "8191P", "8192P", "7.99E",
         "1e3", "0x10", "inf", "nan", "-1", ".5", "5.", "1..2", "", " ", "30s", "100ms", "2m",
         "1.5h", "1 s", "3d", "99999999999999999999999", "1B", "1BB", "1iB", "1Kib",
         "\x00", "1\x00K", "1023.95P", "1023.9P", "15.0M", "812K"]
for i, u in enumerate(units):
    put("units", "%02d" % i, u)
for i, v in enumerate([0, 1, 1023, 1024, 1048575, 1048576, 2**53 + 1, 2**60, 2**63 - 1, -2**63,
                       -1, -1048576, 1023 * 2**50 + 2**49]):
    put("units", "int-%02d" % i, struct.pack("<q", v) + b"x")

# JSON: valid documents, edge numbers, invalid UTF-8, deep nesting, junk.
json_cases = [
    '{"pid":42,"name":"firefox","footprint":123456789012345678}',
    '[1,2.5,-3,true,false,null,"x"]', '{"a":{"b":{"c":[[],{}]}}}', 'null', '"\\u0000x"',
    '{"k\\u0000":1,"k":2}', '9223372036854775807', '-9223372036854775808', '9223372036854775808',
    '1e308', '1e400', '-0.0', '0.1', '"\\ud83d\\ude00"', '"\\ud800"', '[' * 70 + ']' * 70,
    '[' * 3000, '{"a":', '', '  ', '{"1":1,"2":2}', '[null,null,1]',
    b'"\xff\xfe"', b'\xc3\x28', b'"\xed\xa0\x80"', b'"\xf4\x90\x80\x80"', b'\xe2\x82\xac',
    b'name\x1b[31mred\x1b[0m\n', b'\xc0\xaf',
]
for i, c in enumerate(json_cases):
    put("json", "%02d" % i, c)

csv_cases = ["a\x1fb\x1fc", "comma,inside\x1f\"quoted\"\x1fnew\nline\x1fcr\rhere", "",
             "\x1f", "\x1f\x1f", '"', '""', 'a"b', "trailing,", "\r\n", b"\xff\xfe\x00bytes",
             "firefox\x1f100\x1f123456789\x1f1.5", "=cmd|' /C calc'!A0"]
for i, c in enumerate(csv_cases):
    put("csv", "%02d" % i, c)

# webconfig: exporter-toolkit web configurations, valid and broken.
HASH = "$2y$10$mDwo.lAisC94iLAyP81MCesa29IzH37oigHC/42V2pdJlUprsJPze"
webconfig_cases = [
    "",
    "# nothing\n",
    "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n",
    "tls_server_config:\n  cert: |\n    -----BEGIN CERTIFICATE-----\n    MIIB\n    -----END CERTIFICATE-----\n"
    "  key: |\n    -----BEGIN PRIVATE KEY-----\n    MIIE\n    -----END PRIVATE KEY-----\n",
    "tls_server_config:\n  cert_file: a\n  key_file: b\n  client_ca_file: c\n"
    "  client_auth_type: RequireAndVerifyClientCert\n  client_allowed_sans: [x.example, 10.0.0.1]\n"
    "  min_version: TLS12\n  max_version: TLS13\n  prefer_server_cipher_suites: false\n"
    "  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,"
    " TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256]\n  curve_preferences: [X25519, CurveP256, CurveP384]\n",
    "tls_server_config:\n  cert_file: a\n  key_file: b\n  max_version: TLS12\n"
    "  cipher_suites:\n    - TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA\n",
    "http_server_config:\n  http2: true\n  headers:\n    X-Frame-Options: deny\n"
    "    X-Content-Type-Options: nosniff\n    Content-Security-Policy: default-src 'self'\n"
    "    X-XSS-Protection: 1; mode=block\n    Strict-Transport-Security: max-age=1\n",
    "basic_auth_users:\n  alice: %s\n  bob: '%s'\n" % (HASH, HASH.replace("$2y$", "$2b$")),
    "rate_limit:\n  interval: 1m30.5s\n  burst: 20\n",
    "rate_limit:\n  interval: 0\n",
    "basic_auth_users:\n  a: &h x\n  b: *h\n",
    "tls_server_config: ~\nhttp_server_config: null\nbasic_auth_users:\nrate_limit: {}\n",
    "a: 1\n---\nb: 2\n",
    "{tls_server_config: {cert_file: a, key_file: b}}",
    "basic_auth_users: [alice\n",
    "basic_auth_users:\n  \"nul\\0user\": x\n",
    "tls_server_config:\n  cert_file: a\n  cert_file: b\n",
]
for i, c in enumerate(webconfig_cases):
    put("webconfig", "%02d" % i, c)

# darwin: selector byte (0 proc, 1 system, 2 ledger, 3 time) and raw rows.
rng = random.Random(7)
for sel in range(4):
    put("darwin", "zeros-%d" % sel, bytes([sel]) + bytes(64))
    put("darwin", "ones-%d" % sel, bytes([sel]) + b"\xff" * 1600)
    for k in range(3):
        put("darwin", "random-%d-%d" % (sel, k),
            bytes([sel]) + bytes(rng.randrange(256) for _ in range(rng.choice((40, 400, 1500)))))
# A process whose every call worked, with a KERN_PROCARGS2 buffer at the end.
proc = bytearray([0])
proc += struct.pack("<II", 125, 3) + b"\x00" + struct.pack("<Q", 24000000) + bytes([0x3f])
proc += struct.pack("<i", 639)
for size in (64, 136, 56, 96):  # sbi, bi, uniq, ti with their call results first
    proc += b"\x00" + bytes(size)
proc += b"\x00" + bytes([6]) + bytes(464)  # rusage ok, flavor 6
proc += b"\x00" + b"/usr/sbin/sshd".ljust(32, b"\x00")
proc += b"\x00" + struct.pack("<i", 2) + b"/usr/sbin/sshd\x00\x00\x00sshd\x00-D\x00HOME=/\x00"
put("darwin", "proc-ok", bytes(proc))
put("darwin", "args-short", bytes(proc[:-10]))
