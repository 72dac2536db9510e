#!/usr/bin/env python3
"""Check a Mach-O file built for macOS on another system (scripts/cross-macos.sh).

    macho-check.py --arch arm64|x86_64 --minos 11.0 [--lua-module] FILE

Reads the header and load commands (no Apple tool needed) and checks:
- a thin 64-bit little-endian Mach-O of the given architecture: an
  executable, or with --lua-module a dylib or bundle;
- LC_BUILD_VERSION names macOS with the given minos;
- every library it loads is libSystem (nothing the Mac may lack);
- every undefined symbol is bound to libSystem, except, with --lua-module,
  Lua's C API (lua_*, luaL_*), looked up at load time in the interpreter
  (-undefined dynamic_lookup).
Prints one line saying what the file is; on failure, every problem.
Exit: 0 good, 1 a check failed, 2 usage or unreadable file.
"""
import argparse
import struct
import sys

MH_MAGIC_64 = 0xFEEDFACF
CPU = {"arm64": 0x0100000C, "x86_64": 0x01000007}
MH_EXECUTE, MH_DYLIB, MH_BUNDLE = 2, 6, 8
LC_SYMTAB, LC_LOAD_DYLIB, LC_BUILD_VERSION = 0x2, 0xC, 0x32
LC_REQ_DYLD = 0x80000000
LOAD_DYLIB_CMDS = {LC_LOAD_DYLIB, 0x18 | LC_REQ_DYLD, 0x1F | LC_REQ_DYLD, 0x23 | LC_REQ_DYLD}
PLATFORM_MACOS = 1
N_STAB, N_TYPE, N_EXT, N_UNDF = 0xE0, 0x0E, 0x01, 0x0
DYNAMIC_LOOKUP_ORDINAL = 0xFE
LIBSYSTEM = "/usr/lib/libSystem.B.dylib"


def version(v):
    return "%d.%d" % (v >> 16, (v >> 8) & 0xFF) + ("" if v & 0xFF == 0 else ".%d" % (v & 0xFF))


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 32:
        raise ValueError("too short for a Mach-O header")
    magic, cputype, _sub, filetype, ncmds, _size, _flags, _res = struct.unpack_from("<IiiIIIII", data, 0)
    if magic != MH_MAGIC_64:
        raise ValueError("not a thin 64-bit little-endian Mach-O (magic %#x)" % magic)
    info = {"cputype": cputype & 0xFFFFFFFF, "filetype": filetype, "dylibs": [], "build": None,
            "undefined": []}
    off = 32
    symtab = None
    for _ in range(ncmds):
        cmd, cmdsize = struct.unpack_from("<II", data, off)
        if cmd in LOAD_DYLIB_CMDS:
            name_off = struct.unpack_from("<I", data, off + 8)[0]
            name = data[off + name_off:off + cmdsize].split(b"\0", 1)[0].decode()
            info["dylibs"].append(name)
        elif cmd == LC_BUILD_VERSION:
            platform, minos, sdk = struct.unpack_from("<III", data, off + 8)
            info["build"] = (platform, minos, sdk)
        elif cmd == LC_SYMTAB:
            symtab = struct.unpack_from("<IIII", data, off + 8)
        off += cmdsize
    if symtab:
        symoff, nsyms, stroff, _strsize = symtab
        for i in range(nsyms):
            strx, ntype, _sect, desc, _value = struct.unpack_from("<IBBhQ", data, symoff + 16 * i)
            if ntype & N_STAB or not ntype & N_EXT or ntype & N_TYPE != N_UNDF:
                continue
            name = data[stroff + strx:data.index(b"\0", stroff + strx)].decode()
            ordinal = (desc >> 8) & 0xFF
            info["undefined"].append((name, ordinal))
    return info


def main():
    ap = argparse.ArgumentParser(description="Check a cross-built macOS Mach-O file.")
    ap.add_argument("--arch", required=True, choices=sorted(CPU))
    ap.add_argument("--minos", required=True)
    ap.add_argument("--lua-module", action="store_true")
    ap.add_argument("file")
    a = ap.parse_args()
    try:
        m = read(a.file)
    except (OSError, ValueError, struct.error) as e:
        print("%s: %s" % (a.file, e), file=sys.stderr)
        return 2
    bad = []
    if m["cputype"] != CPU[a.arch]:
        bad.append("cputype %#x, not %s" % (m["cputype"], a.arch))
    want_types = {MH_DYLIB, MH_BUNDLE} if a.lua_module else {MH_EXECUTE}
    if m["filetype"] not in want_types:
        bad.append("file type %d, not %s" % (m["filetype"], "a dylib or bundle" if a.lua_module else "an executable"))
    if not m["build"]:
        bad.append("no LC_BUILD_VERSION")
    else:
        platform, minos, _sdk = m["build"]
        if platform != PLATFORM_MACOS:
            bad.append("platform %d, not macOS" % platform)
        if version(minos) != a.minos:
            bad.append("minos %s, not %s" % (version(minos), a.minos))
    for d in m["dylibs"]:
        if d != LIBSYSTEM:
            bad.append("loads %s (only %s is on every Mac)" % (d, LIBSYSTEM))
    system_ordinal = m["dylibs"].index(LIBSYSTEM) + 1 if LIBSYSTEM in m["dylibs"] else None
    lua_api = 0
    for name, ordinal in m["undefined"]:
        if ordinal == system_ordinal:
            continue
        if a.lua_module and ordinal == DYNAMIC_LOOKUP_ORDINAL and name.startswith(("_lua_", "_luaL_")):
            lua_api += 1
            continue
        bad.append("undefined %s (ordinal %d) is neither libSystem's%s" %
                   (name, ordinal, " nor Lua's C API" if a.lua_module else ""))
    for b in bad:
        print("%s: %s" % (a.file, b), file=sys.stderr)
    if bad:
        return 1
    print("%s: Mach-O %s %s, minos %s, loads %s; %d undefined symbols from libSystem%s" % (
        a.file, a.arch, "Lua module" if a.lua_module else "executable", a.minos,
        ", ".join(m["dylibs"]) or "nothing",
        len(m["undefined"]) - lua_api, ", %d of Lua's C API looked up at load" % lua_api if a.lua_module else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
