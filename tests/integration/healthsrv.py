"""A stand-in health endpoint for the health-check tests (an API server's
/readyz, a DNS server's /healthz): every GET answers as the file MODE says
at that moment:

    ok    200 "NAME ok"           fail  503
    hang  accepts, never answers  flap  200, 503, 200, 503, ... per request
    down  the listening socket is closed (connections refused) until the
          mode changes

usage: healthsrv.py ADDR PORT MODEFILE NAME
"""
import http.server
import socket
import sys
import threading
import time

ADDR, PORT, MODEFILE, NAME = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
flap = [0]


def mode():
    try:
        with open(MODEFILE) as f:
            return f.read().strip() or "ok"
    except OSError:
        return "ok"


class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        m = mode()
        if m == "hang":
            time.sleep(3600)
            return
        if m == "flap":
            flap[0] += 1
            m = "ok" if flap[0] % 2 else "fail"
        code = 200 if m == "ok" else 503
        body = f"{NAME} {m}\n".encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass


class S(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024
    address_family = socket.AF_INET6 if ":" in ADDR else socket.AF_INET


def main():
    while True:
        if mode() == "down":
            time.sleep(0.05)
            continue
        srv = S((ADDR, PORT), H)
        t = threading.Thread(target=srv.serve_forever, daemon=True)
        t.start()
        while mode() != "down":
            time.sleep(0.05)
        srv.shutdown()
        srv.server_close()


if __name__ == "__main__":
    main()
