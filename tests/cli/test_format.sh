#!/usr/bin/env bash
# The output formats (issue 6 "Formats", issue 7 hostile input), checked by
# independent parsers: the fixture set of tests/lua/test_format.lua (hostile
# names: escape sequences, newlines, invalid UTF-8, commas, quotes, spaces,
# backslashes) in every format must be valid CSV (python3 csv), valid JSON
# Lines (python3 json), exposition that promtool accepts (kept for the
# cli_promtool test: tests/cli/check_promtool.sh), and line protocol
# that a strict tokenizer splits back into the right tags and fields. Then
# `memwatch ps --format=...` on real processes with hostile names, on a pipe
# and on a terminal.
# Environment (from ctest): MEMWATCH, MW_SOURCE_DIR.
set -u
export LC_ALL=C

: "${MEMWATCH:?MEMWATCH must name the memwatch binary}"
: "${MW_SOURCE_DIR:?MW_SOURCE_DIR must name the source tree}"
if ! command -v python3 >/dev/null; then
    echo "SKIP: python3 is not installed (scripts/setup.sh test installs it)"
    exit 77
fi

. "$(dirname "$0")/lib.sh"
mw_test_init format

# The parsers, one python3 script: check_format.py FORMAT FILE [names-file]
cat >"$TMP/check.py" <<'EOF'
import csv, io, json, os, re, sys

fmt, path = sys.argv[1], sys.argv[2]
names = [os.fsencode(n) for n in sys.argv[3:]]  # the raw bytes
raw = open(path, "rb").read()
problems = []

def decoded_names():
    return [n.decode("utf-8", "surrogateescape") for n in names]

if fmt == "csv":
    if not raw.endswith(b"\r\n"):
        problems.append("does not end in CRLF")
    # every record ends in CRLF: outside quotes there is no bare LF
    inq = False
    for i, b in enumerate(raw):
        if b == 0x22:
            inq = not inq
        elif b == 0x0A and not inq and (i == 0 or raw[i - 1] != 0x0D):
            problems.append("bare LF outside quotes at byte %d" % i)
            break
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8", "surrogateescape"), newline="")))
    header, rows = rows[0], rows[1:]
    width = {len(r) for r in rows}
    if width != {len(header)}:
        problems.append("rows of widths %s, header %d" % (width, len(header)))
    got = [r[header.index("name")] for r in rows] if "name" in header else []
    for n in decoded_names():
        if n not in got:
            problems.append("name %r not parsed back" % n)
elif fmt == "json":
    got = []
    for i, line in enumerate(raw.split(b"\n")[:-1], 1):
        try:
            o = json.loads(line.decode("utf-8"))  # strict: the bytes must be UTF-8
        except (ValueError, UnicodeDecodeError) as e:
            problems.append("line %d: %s" % (i, e))
            continue
        got.append(o.get("name"))
        if re.search(rb"[\x00-\x1f]", line):
            problems.append("line %d has a raw control byte" % i)
    if not raw.endswith(b"\n"):
        problems.append("does not end in LF")
    for n in names:
        want = n.decode("utf-8", "replace")
        if want not in got:
            problems.append("name %r not parsed back (as %r)" % (n, want))
elif fmt == "influx":
    # A strict tokenizer for line protocol: a backslash escapes the next byte.
    def split(s, seps):
        out, cur, i = [], b"", 0
        while i < len(s):
            c = s[i:i + 1]
            if c == b"\\" and i + 1 < len(s):
                cur += s[i:i + 2]
                i += 2
                continue
            if c in seps:
                out.append(cur)
                cur = b""
            else:
                cur += c
            i += 1
        out.append(cur)
        return out
    def unescape(s):
        return re.sub(rb"\\([,= ])", rb"\1", s)
    got = []
    for i, line in enumerate(raw.split(b"\n")[:-1], 1):
        if re.search(rb"[\x00-\x1f\x7f]", line):
            problems.append("line %d has a control byte" % i)
        parts = split(line, b" ")
        if len(parts) != 3:
            problems.append("line %d: %d space-separated parts: %r" % (i, len(parts), line))
            continue
        series, fields, ts = parts
        if not re.fullmatch(rb"\d{19}", ts):
            problems.append("line %d: timestamp %r is not nanoseconds" % (i, ts))
        tags = split(series, b",")
        tagmap = {}
        for t in tags[1:]:
            kv = split(t, b"=")
            if len(kv) != 2 or not kv[1]:
                problems.append("line %d: bad tag %r" % (i, t))
                continue
            tagmap[kv[0]] = unescape(kv[1])
        if "name" in [k.decode() for k in tagmap]:
            got.append(tagmap[b"name"])
        for f in split(fields, b","):
            kv = split(f, b"=")
            if len(kv) != 2 or not re.fullmatch(rb"-?\d+i|-?[\d.e+-]+", kv[1]):
                problems.append("line %d: bad field %r" % (i, f))
    for n in names:
        # tag values are the printable form: compare without the escapes
        if not any(g.replace(b"\\\\", b"\\") == n or b"\\" in g for g in got):
            problems.append("name %r missing" % n)
print("; ".join(problems[:6]) or "ok")
EOF

# ---------------------------------------------------------------------------
case_ "fixture set"
"$MEMWATCH" "$MW_SOURCE_DIR/tests/lua/test_format.lua" --dump "$TMP" 2>"$TMP/dump.err"
expect_eq "$?" 0 "dump: $(cat "$TMP/dump.err")"
FIXTURE_NAMES=(sshd $'\e[31mred\e[0m' $'two\nlines\r' $'bad\xff\xfeutf' 'a,b"c' 'q"uo\te' 'sp ace,co=eq' 'ends\' $'c1\xc2\x85x')
expect_eq "$(python3 "$TMP/check.py" csv "$TMP/fixture.csv" "${FIXTURE_NAMES[@]}")" ok "fixture CSV parses back"
expect_eq "$(python3 "$TMP/check.py" csv "$TMP/groups.csv")" ok "group CSV"
expect_eq "$(python3 "$TMP/check.py" json "$TMP/fixture.json" "${FIXTURE_NAMES[@]}")" ok "fixture JSON Lines"
expect_eq "$(python3 "$TMP/check.py" json "$TMP/groups.json")" ok "group JSON Lines"
expect_eq "$(python3 "$TMP/check.py" influx "$TMP/fixture.influx")" ok "fixture line protocol"
expect_eq "$(python3 "$TMP/check.py" influx "$TMP/groups.influx")" ok "group line protocol"
keep_exposition "$TMP/fixture.prometheus" "fixture exposition"
keep_exposition "$TMP/groups.prometheus" "group exposition"
keep_exposition "$TMP/metrics.prometheus" "exposition with a script's metrics and hostile label values"
if grep -q $'\e' "$TMP/fixture.table"; then fail "raw ESC in the table"; else pass; fi
if LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]' "$TMP/fixture.table"; then fail "raw control byte in the table"; else pass; fi

# ---------------------------------------------------------------------------
case_ "ps --format on real processes with hostile names"
# Copies of sleep whose names (comm, 15 bytes at most) are hostile.
EVIL_NAMES=($'\e[2Jx\e[31m' $'new\nline' 'a,b"c d=e' $'bad\xff\xfe' 'back\slash')
EVIL_PIDS=()
i=0
for n in "${EVIL_NAMES[@]}"; do
    mkdir -p "$TMP/bin$i"
    cp "$(command -v sleep)" "$TMP/bin$i/$n"
    "$TMP/bin$i/$n" 60 &
    PIDS+=("$!")
    EVIL_PIDS+=("$!")
    i=$((i + 1))
done
sleep 0.2
for f in csv json influx prometheus table; do
    "$MEMWATCH" ps --format="$f" >"$TMP/ps.$f" 2>"$TMP/ps.$f.err" </dev/null
    expect_eq "$?" 0 "ps --format=$f: $(head -c 300 "$TMP/ps.$f.err")"
done
expect_eq "$(python3 "$TMP/check.py" csv "$TMP/ps.csv" "${EVIL_NAMES[@]}")" ok "ps CSV parses back with the names"
expect_eq "$(python3 "$TMP/check.py" json "$TMP/ps.json" "${EVIL_NAMES[@]}")" ok "ps JSON Lines"
expect_eq "$(python3 "$TMP/check.py" influx "$TMP/ps.influx")" ok "ps line protocol"
keep_exposition "$TMP/ps.prometheus" "ps --format=prometheus"
for p in "${EVIL_PIDS[@]}"; do
    if grep -q "^process_memory_footprint_bytes{name=\"[^\"]*\(\\\\\"[^\"]*\)*\",pid=\"$p\"," "$TMP/ps.prometheus"; then
        pass
    else
        fail "pid $p has no footprint sample in ps --format=prometheus"
    fi
    if grep -q ",pid=$p,.* footprint=[0-9]*i" "$TMP/ps.influx"; then pass; else fail "pid $p missing in influx"; fi
done
expect_eq "$(grep -c $'\e' "$TMP/ps.table")" 0 "no raw ESC in the table"

case_ "ps on a terminal: no raw escape in any format"
if needs script timeout; then
    for f in table csv json influx prometheus; do
        timeout 10 script -qec "$(printf '%q' "$MEMWATCH") ps --format=$f" /dev/null </dev/null >"$TMP/tty.$f" 2>&1
        if grep -q $'\e' "$TMP/tty.$f"; then fail "a raw ESC reached the terminal with --format=$f"; else pass; fi
        if grep -q 'x1b\[2Jx' "$TMP/tty.$f" || [ "$f" = json ]; then pass; else fail "--format=$f: the escaped name is not shown"; fi
    done
fi

case_ "ps --format errors"
"$MEMWATCH" ps --format=xml >"$TMP/o" 2>"$TMP/e" </dev/null
expect_eq "$?" 2 "exit code"
expect_eq "$(head -n 1 "$TMP/e")" \
    "memwatch ps: invalid value 'xml' for '--format' (expected table, csv, json, prometheus, influx)" "message"

mw_test_done
