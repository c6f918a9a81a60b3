"""The SSE parser on canned bytes, and the follower's reconnects against a
local HTTP server that plays a scripted event stream."""
import json
import threading
import unittest
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import workspaced  # noqa: F401  (puts example_sdk on sys.path)

from example_sdk import ApiError, Client, EventsExpiredError, SSEMessage, SSEParser

CANNED = ("\ufeff: keep-alive\n"
          "retry: 2500\n"
          "id: 7\r\nevent: task.created\r\ndata: {\"seq\":\"7\"}\r\n\r\n"
          "data: one\rdata: two\r\r"
          "event: ignored-without-data\n\n"
          "id: 9\nevent: error\ndata:{\"success\":false}\n\n"
          "field-without-colon\ndata\n\n"
          "id: 10\ndata: never dispatched, no blank line").encode()

WANT = [
    SSEMessage(id="7", event="task.created", data="{\"seq\":\"7\"}"),
    SSEMessage(id="7", event="message", data="one\ntwo"),
    SSEMessage(id="9", event="error", data="{\"success\":false}"),
    SSEMessage(id="9", event="message", data=""),
]


class SSEParserTest(unittest.TestCase):
    def test_whole(self):
        p = SSEParser()
        self.assertEqual(p.feed(CANNED), WANT)
        self.assertEqual(p.retry, 2500)
        self.assertEqual(p.last_event_id, "10")

    def test_split_everywhere(self):
        text = CANNED + "\n\ndata: é€😀\n\n".encode()
        want = WANT + [SSEMessage(id="10", event="message", data="never dispatched, no blank line"),
                       SSEMessage(id="10", event="message", data="é€😀")]
        for i in range(len(text) + 1):
            p = SSEParser()
            self.assertEqual(p.feed(text[:i]) + p.feed(text[i:]), want, f"split at {i}")
        p = SSEParser()
        got = []
        for i in range(len(text)):
            got += p.feed(text[i:i + 1])
        self.assertEqual(got, want)


def ev(seq, title=None):
    e = {"id": f"evt_{seq}", "seq": str(seq), "type": "task.created", "created_at": "2026-01-01T00:00:00Z",
         "data": {"id": f"task_{seq}", "title": title or f"t{seq}"}, "previous": None, "request_id": "req",
         "key_id": "key_1"}
    return f"id: {seq}\nevent: task.created\ndata: {json.dumps(e)}\n\n"


class Scripted:
    """A server answering the nth request with script[n](handler)."""

    def __init__(self, script):
        self.seen = []
        self.done = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                n = len(outer.seen)
                outer.seen.append({"path": self.path, "last_event_id": self.headers.get("Last-Event-ID"),
                                   "auth": self.headers.get("Authorization")})
                (script[n] if n < len(script) else status(500))(self)

            def sse(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()

            def chunk(self, text):
                b = text.encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(b), b))
                self.wfile.flush()

            def end(self):
                self.wfile.write(b"0\r\n\r\n")
                self.close_connection = True

            def hold(self):
                outer.done.wait(10)
                self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.base_url = "http://127.0.0.1:%d/v1" % self.httpd.server_address[1]

    def close(self):
        self.done.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def status(code, err_code="UNAVAILABLE"):
    def answer(h):
        body = json.dumps({"success": False, "error": {"code": err_code, "message": "no", "details": {}}}).encode()
        h.send_response(code)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.send_header("X-Request-Id", "req_1")
        h.end_headers()
        h.wfile.write(body)
    return answer


def eof(h):
    # The server's retry: (5 ms) replaces reconnect_delay (a minute): without
    # it the reconnects would outlast the test's deadline.
    h.sse()
    h.chunk(": keep-alive\nretry: 5\n\n" + ev(1) + ev(2))
    h.end()


def reset(h):
    h.sse()
    h.chunk(ev(2) + ev(3))  # 2 again: not yielded twice
    h.close_connection = True  # no last chunk: the body ends early


def lagging(h):
    h.sse()
    h.chunk(ev(4) + "event: error\ndata: " + json.dumps(
        {"success": False, "error": {"code": "STREAM_LAGGING", "message": "slow", "details": {}}}) + "\n\n")
    h.hold()


def last(h):
    h.sse()
    h.chunk(ev(5))
    h.hold()


class FollowTest(unittest.TestCase):
    def test_reconnects_from_the_last_seq(self):
        srv = Scripted([eof, reset, status(503), lagging, last])
        self.addCleanup(srv.close)
        client = Client("wsk_x", base_url=srv.base_url)
        got = []
        with client.events.follow(types=["task.created", "task.updated"], reconnect_delay=60) as stream:
            watchdog = threading.Timer(10, stream.close)
            watchdog.start()
            self.addCleanup(watchdog.cancel)
            for e in stream:
                self.assertIsInstance(e.seq, int)
                self.assertEqual(e.data["title"], f"t{e.seq}")
                got.append(e.seq)
                if len(got) == 5:
                    break
        self.assertEqual(got, [1, 2, 3, 4, 5])
        self.assertEqual(stream.last_seq, 5)
        self.assertEqual([s["last_event_id"] for s in srv.seen], [None, "2", "3", "3", "4"])
        queries = [urllib.parse.parse_qs(urllib.parse.urlsplit(s["path"]).query) for s in srv.seen]
        self.assertEqual([q["after"] for q in queries], [["0"], ["2"], ["3"], ["3"], ["4"]])
        for s, q in zip(srv.seen, queries):
            self.assertEqual(q["types"], ["task.created,task.updated"])
            self.assertEqual(s["auth"], "Bearer wsk_x")
            self.assertTrue(s["path"].startswith("/v1/events/stream?"))

    def test_final_answers_are_not_retried(self):
        for code, err_code, cls in [(401, "UNAUTHORIZED", ApiError), (403, "FORBIDDEN", ApiError),
                                    (410, "EVENTS_EXPIRED", EventsExpiredError), (400, "VALIDATION_ERROR", ApiError)]:
            with self.subTest(code=code):
                srv = Scripted([status(code, err_code)])
                self.addCleanup(srv.close)
                stream = Client("wsk_x", base_url=srv.base_url).events.follow(after=3, reconnect_delay=0.005)
                with self.assertRaises(cls) as ctx:
                    next(stream)
                self.assertEqual((ctx.exception.status, ctx.exception.code, ctx.exception.request_id),
                                 (code, err_code, "req_1"))
                self.assertEqual(len(srv.seen), 1)

    def test_error_event_of_a_revoked_key_is_final(self):
        def revoked(h):
            h.sse()
            h.chunk(ev(1) + "event: error\ndata: " + json.dumps(
                {"success": False, "error": {"code": "UNAUTHORIZED", "message": "revoked", "details": {}}}) + "\n\n")
            h.end()
        srv = Scripted([revoked])
        self.addCleanup(srv.close)
        stream = Client("wsk_x", base_url=srv.base_url).events.follow(reconnect_delay=0.005)
        self.assertEqual(next(stream).seq, 1)
        with self.assertRaises(ApiError) as ctx:
            next(stream)
        self.assertEqual((ctx.exception.status, ctx.exception.code), (401, "UNAUTHORIZED"))
        self.assertEqual(len(srv.seen), 1)

    def test_silent_connection_is_reopened(self):
        def silent(h):
            h.sse()
            h.chunk(ev(1))
            h.hold()  # then silence: a half-open link

        srv = Scripted([silent, last])
        self.addCleanup(srv.close)
        stream = Client("wsk_x", base_url=srv.base_url).events.follow(idle_timeout=0.2, reconnect_delay=0.005)
        self.addCleanup(stream.close)
        self.assertEqual(next(stream).seq, 1)
        self.assertEqual(next(stream).seq, 5)
        self.assertEqual([s["last_event_id"] for s in srv.seen], [None, "1"])

    def test_close_from_another_thread(self):
        srv = Scripted([last])
        self.addCleanup(srv.close)
        stream = Client("wsk_x", base_url=srv.base_url).events.follow()
        self.assertEqual(next(stream).seq, 5)
        threading.Timer(0.05, stream.close).start()  # while the next read blocks
        self.assertEqual(list(stream), [])
        self.assertEqual(len(srv.seen), 1)


if __name__ == "__main__":
    unittest.main()
