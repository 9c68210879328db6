"""The http_get and http_post tools against a real HTTP server on loopback: only allow-listed hosts are reached,
what comes back is the status and (at most 64 KiB of) the body, and nothing a model writes into the arguments can
reshape the request (header or request-line injection, framing headers)."""
import http.server
import json
import subprocess
import threading

import pytest


class Recorder(http.server.BaseHTTPRequestHandler):
    seen = []

    def _answer(self):
        n = int(self.headers.get("content-length") or 0)
        Recorder.seen.append({"method": self.command, "path": self.path, "headers": dict(self.headers),
                              "body": self.rfile.read(n).decode() if n else ""})
        body = ("x" * 70000) if self.path == "/big" else json.dumps({"you_sent": self.path})
        self.send_response(404 if self.path == "/missing" else 200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    do_GET = do_POST = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    Recorder.seen = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv.server_address[1]
    srv.shutdown()


def call(request, port, tool, args):
    r = subprocess.run([request.config.getoption("--tandem-bin"), "tools", "--tools", f"http=127.0.0.1:{port}",
                        "--call", tool, "--args", json.dumps(args)], capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


def test_get_and_post_reach_the_allowed_host(request, server):
    code, out = call(request, server, "http_get", {"url": f"http://127.0.0.1:{server}/hello?x=1",
                                                   "headers": {"x-trace": "abc"}})
    assert code == 0, out
    assert json.loads(out) == {"status": 200, "body": json.dumps({"you_sent": "/hello?x=1"})}
    code, out = call(request, server, "http_post", {"url": f"http://127.0.0.1:{server}/items", "body": '{"a":1}'})
    assert code == 0 and json.loads(out)["status"] == 200, out
    get, post = Recorder.seen
    assert get["method"] == "GET" and get["path"] == "/hello?x=1" and get["headers"]["x-trace"] == "abc"
    assert post["method"] == "POST" and post["body"] == '{"a":1}'
    assert post["headers"]["content-type"] == "application/json"


def test_errors_and_large_bodies_come_back_bounded(request, server):
    code, out = call(request, server, "http_get", {"url": f"http://127.0.0.1:{server}/missing"})
    assert code == 3 and '"status":404' in out, out  # an error result the model reads
    code, out = call(request, server, "http_get", {"url": f"http://127.0.0.1:{server}/big"})
    result = json.loads(out)
    assert code == 0 and result["truncated"] is True and len(result["body"]) == 64 * 1024, out[:200]


@pytest.mark.parametrize("args,why", [
    ({"url": "http://localhost:{port}/"}, "not in the allow list"),
    ({"url": "http://127.0.0.1:1/"}, "not in the allow list"),
    ({"url": "http://127.0.0.1:{port}/a HTTP/1.1\r\nHost: evil\r\n\r\nGET /b"}, "control characters"),
    ({"url": "http://127.0.0.1:{port}/a", "headers": {"x-a": "v\r\nx-injected: 1"}}, "control characters"),
    ({"url": "http://127.0.0.1:{port}/a", "headers": {"x-a: 1\r\nx-b": "v"}}, "a name is letters"),
    ({"url": "http://127.0.0.1:{port}/a", "headers": {"Host": "internal.example"}}, "set by the tool itself"),
    ({"url": "http://127.0.0.1:{port}/a", "headers": {"content-length": "0"}}, "set by the tool itself"),
    ({"url": "http://127.0.0.1:{port}/a", "headers": {"Transfer-Encoding": "chunked"}}, "set by the tool itself"),
])
def test_what_the_model_writes_cannot_reshape_the_request(request, server, args, why):
    args = {k: (v.format(port=server) if isinstance(v, str) else v) for k, v in args.items()}
    code, out = call(request, server, "http_get", args)
    assert code == 3 and why in out, out
    assert Recorder.seen == []
