#!/usr/bin/env python3
"""A webhook endpoint for the delivery tests, on a free loopback port.

    webhook_receiver.py MODE PORTFILE [OUT]

MODE ok: answers 200 and appends each request to OUT as one JSON line
{"method", "path", "headers" (Title, Priority, Tags, Content-Type, X-*),
"body"}; hang: accepts connections and never answers; fail: answers 500
with a short body; tls: as ok, over TLS with the certificate and key in
$MW_TLS_CERT and $MW_TLS_KEY. Writes the port to PORTFILE once listening; runs until
killed."""
import http.server
import json
import os
import socket
import ssl
import sys
import threading
import time


def write_port(path, port):
    with open(path + ".tmp", "w") as f:
        f.write("%d\n" % port)
    os.rename(path + ".tmp", path)


def main():
    mode, portfile = sys.argv[1:3]
    out = sys.argv[3] if len(sys.argv) > 3 else None
    if mode == "hang":
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        write_port(portfile, sock.getsockname()[1])
        held = []
        while True:
            conn, _ = sock.accept()
            held.append(conn)  # read nothing, answer nothing, close nothing

    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def handle_any(self):
            n = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(n)
            if mode == "fail":
                self.send_response(500)
                self.send_header("Content-Length", "12")
                self.end_headers()
                self.wfile.write(b"server broke")
                return
            keep = {k: v for k, v in self.headers.items()
                    if k in ("Title", "Priority", "Tags", "Content-Type") or k.startswith("X-")}
            rec = {"method": self.command, "path": self.path, "headers": keep,
                   "body": body.decode("utf-8", "replace"), "at": time.time()}
            with lock, open(out, "a") as f:
                f.write(json.dumps(rec, sort_keys=True) + "\n")
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_POST = do_PUT = handle_any

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if mode == "tls":
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(os.environ["MW_TLS_CERT"], os.environ["MW_TLS_KEY"])
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    write_port(portfile, server.server_address[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
