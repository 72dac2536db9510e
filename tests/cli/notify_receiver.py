#!/usr/bin/env python3
"""A service manager's end of sd_notify(3) for the tests: binds an AF_UNIX
datagram socket (a path, or an abstract name given as @name) and writes each
datagram it receives to OUT as one line, newlines shown as '|', prefixed with
the receive time (CLOCK_MONOTONIC). Writes BOUND once the socket is bound;
runs until killed."""
import socket
import sys
import time


def main():
    name, out, bound = sys.argv[1:4]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name[1:] if name.startswith("@") else name)
    with open(bound, "w") as f:
        f.write("bound\n")
    with open(out, "a", buffering=1) as f:
        while True:
            data = sock.recv(4096)
            f.write("%.3f %s\n" % (time.monotonic(), data.decode("utf-8", "replace").replace("\n", "|")))


if __name__ == "__main__":
    main()
