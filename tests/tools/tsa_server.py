#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# tsa_server.py MODE CONF PORTFILE - a local RFC 3161 TSA for the tests:
# an HTTP server on 127.0.0.1 (a free port, written to PORTFILE) that
# answers each POSTed TimeStampReq with `openssl ts -reply -config CONF`.
# MODE: reply (answer), sleep (accept, read, never answer).
import http.server
import os
import subprocess
import sys
import tempfile
import time

mode, conf, portfile = sys.argv[1], sys.argv[2], sys.argv[3]


class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        if mode == "sleep":
            time.sleep(3600)
            return
        if self.headers.get("Content-Type") != "application/timestamp-query":
            self.send_error(415)
            return
        with tempfile.TemporaryDirectory() as d:
            q = os.path.join(d, "q.tsq")
            r = os.path.join(d, "r.tsr")
            with open(q, "wb") as f:
                f.write(body)
            p = subprocess.run(["openssl", "ts", "-reply", "-config", conf, "-queryfile", q,
                                "-out", r], capture_output=True)
            if p.returncode != 0:
                self.send_error(500)
                return
            with open(r, "rb") as f:
                data = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
tmp = portfile + ".tmp"
with open(tmp, "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(tmp, portfile)
srv.serve_forever()
