"""sdk/SCENARIO.md against a real workspaced."""
import http.server
import threading
import time
import unittest
from datetime import datetime, timezone

from workspaced import Proxy, Workspaced, load_scenario  # also puts example_sdk on sys.path

from example_sdk import ApiError, Client, Deleted, RateLimitError, WebhookVerificationError, verify_webhook


class ScenarioTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Workspaced()
        cls.sc = load_scenario()

    @classmethod
    def tearDownClass(cls):
        cls.srv.stop()

    def assertApiError(self, ctx, cls, status, code):
        e = ctx.exception
        self.assertIsInstance(e, cls)
        self.assertEqual(e.status, status)
        self.assertEqual(e.code, code)
        self.assertTrue(e.message)
        self.assertIsInstance(e.details, dict)
        self.assertTrue(e.request_id)
        return e

    def test_scenario(self):
        sc, srv = self.sc, self.srv
        client = Client(srv.admin_key, base_url=srv.base_url)

        # 1. Create a project.
        project = client.projects.create(sc["project"]["name"], sc["project"]["description"],
                                         idempotency_key="scenario-project")
        self.assertTrue(project.id.startswith("proj_"))
        self.assertEqual(project.name, sc["project"]["name"])
        self.assertEqual(project.created_at.tzinfo, timezone.utc)

        # 2. Create tasks.
        created = []
        for title in sc["task_titles"]:
            task = client.tasks.create(project.id, title)
            self.assertEqual(task.status, "todo")
            self.assertIsNone(task.due_at)
            created.append(task.id)

        # 3. Page through them, newest first.
        seen = [t.id for t in client.tasks.all(project_id=project.id, page_size=sc["page_size"])]
        self.assertEqual(seen, list(reversed(created)))
        first = client.tasks.list(project_id=project.id, limit=sc["page_size"])
        self.assertEqual(len(first.data), sc["page_size"])
        self.assertEqual((first.pagination.total, first.pagination.has_more), (len(created), True))

        # 4. The seed's PUT.
        updated = client.tasks.update(created[0], **sc["update"])
        self.assertEqual(updated.status, "completed")
        self.assertIsInstance(updated.completed_at, datetime)
        self.assertEqual(updated.title, sc["task_titles"][0])

        # 5. Delete it.
        self.assertEqual(client.tasks.delete(created[0]), Deleted(id=created[0], deleted=True))

        # 6. 404.
        with self.assertRaises(ApiError) as ctx:
            client.tasks.get(created[0])
        self.assertApiError(ctx, ApiError, 404, "NOT_FOUND")
        with self.assertRaises(ApiError) as ctx:
            client.tasks.get(sc["missing_task_id"])
        self.assertNotIsInstance(self.assertApiError(ctx, ApiError, 404, "NOT_FOUND"), RateLimitError)

        # 7. 403 with a read-only key made through the API.
        key = client.api_keys.create(sc["read_only_key"]["scopes"], name=sc["read_only_key"]["name"])
        self.assertTrue(key.key.startswith("wsk_"))
        ro = Client(key.key, base_url=srv.base_url)
        ro.projects.list()
        with self.assertRaises(ApiError) as ctx:
            ro.projects.create("nope")
        e = self.assertApiError(ctx, ApiError, 403, "FORBIDDEN")
        self.assertEqual(e.details["required_scope"], "write")

        # 8. 429 on a fresh free workspace.
        _, free_key = srv.new_workspace("Scenario free", "free")
        no_retry = Client(free_key, base_url=srv.base_url, max_retries=0)
        limited = None
        for _ in range(2 * sc["free_plan_per_minute"] + 5):
            try:
                no_retry.workspace.get()
            except RateLimitError as err:
                limited = err
                break
        self.assertIsNotNone(limited, "never rate limited")
        self.assertEqual((limited.status, limited.code), (429, "RATE_LIMITED"))
        self.assertEqual(limited.details["window"], "minute")
        now = time.time()
        self.assertTrue(now - 1 <= limited.reset_at.timestamp() <= now + 61, limited.reset_at)
        self.assertTrue(1 <= limited.retry_after <= 60, limited.retry_after)
        self.assertEqual(limited.rate_limit.limit, sc["free_plan_per_minute"])
        self.assertEqual(limited.rate_limit.remaining, 0)

        # With retries on but a budget shorter than the wait: at once.
        short = Client(free_key, base_url=srv.base_url, max_retries=3, max_retry_wait=0)
        start = time.time()
        with self.assertRaises(RateLimitError) as ctx:
            short.workspace.get()
        self.assertApiError(ctx, RateLimitError, 429, "RATE_LIMITED")
        self.assertLess(time.time() - start, 2)

        # 9. Conditional update (ETag): the current etag succeeds and changes
        # it; the first one, now stale, is a 412 that changes nothing.
        cu = sc["conditional_update"]
        read = client.projects.get(project.id)
        self.assertTrue(read.etag)
        self.assertEqual(read.etag, project.etag)
        renamed = client.projects.update(project.id, name=cu["name"], if_match=read.etag)
        self.assertEqual(renamed.name, cu["name"])
        self.assertTrue(renamed.etag and renamed.etag != read.etag)
        with self.assertRaises(ApiError) as ctx:
            client.projects.update(project.id, name=cu["stale_name"], if_match=read.etag)
        self.assertApiError(ctx, ApiError, 412, "PRECONDITION_FAILED")
        after = client.projects.get(project.id)
        self.assertEqual((after.name, after.etag), (cu["name"], renamed.etag))
        # 10. Lists: filters, order, cursors.
        ls = sc["lists"]
        lf = dict(project_id=project.id, status=ls["status"], q=ls["query"], order_by=ls["order_by"])
        titles = [t.title for t in client.tasks.all(page_size=ls["page_size"], **lf)]
        self.assertEqual(titles, ls["titles"])
        first = client.tasks.list(limit=ls["page_size"], **lf)
        self.assertTrue(first.pagination.next_cursor)
        lf["order_by"] = ls["other_order_by"]
        with self.assertRaises(ApiError) as ctx:
            client.tasks.list(limit=ls["page_size"], cursor=first.pagination.next_cursor, **lf)
        e = self.assertApiError(ctx, ApiError, 400, "VALIDATION_ERROR")
        self.assertEqual(e.details["field"], "cursor")
        # 11. Batch create: in order, all or nothing.
        batch = [{"project_id": project.id, "title": title} for title in sc["batch"]["titles"]]
        made = client.tasks.batch_create(batch, idempotency_key="scenario-batch")
        self.assertEqual([t.title for t in made], sc["batch"]["titles"])
        for t in made:
            self.assertTrue(t.id.startswith("task_"), t.id)
            self.assertEqual(t.status, "todo")
        self.assertEqual(len({t.id for t in made}), len(made))
        total = client.tasks.list(project_id=project.id, limit=1).pagination.total
        self.assertEqual(total, len(created) - 1 + len(made))
        bad = sc["batch"]["invalid_index"]
        batch[bad] = dict(batch[bad], title=" ")
        with self.assertRaises(ApiError) as ctx:
            client.tasks.batch_create(batch)
        e = self.assertApiError(ctx, ApiError, 400, "VALIDATION_ERROR")
        self.assertEqual(e.details["field"], f"tasks[{bad}].title")
        self.assertEqual(client.tasks.list(project_id=project.id, limit=1).pagination.total, total)
        batch_seq = client.last_event_seq

        # 12. Events: (a) the log's task.created, every page, oldest first.
        ev = sc["events"]
        listed = list(client.events.all(after=0, types=ev["types"], page_size=ev["page_size"]))
        self.assertEqual([e.data["title"] for e in listed], ev["titles"])
        for i, e in enumerate(listed):
            self.assertEqual(e.type, "task.created")
            self.assertIsInstance(e.seq, int)
            self.assertTrue(e.id.startswith("evt_"), e.id)
            self.assertEqual(e.created_at.tzinfo, timezone.utc)
            if i:
                self.assertGreater(e.seq, listed[i - 1].seq)
        last = listed[-1].seq
        self.assertEqual(batch_seq, last, "the batch's X-Event-Seq is its last event's seq")

        # (b) Follow after it, through a proxy the test can cut.
        proxy = Proxy(srv.http_addr)
        self.addCleanup(proxy.close)
        follower = Client(srv.admin_key, base_url=f"http://{proxy.addr}/v1")
        stream = follower.events.follow(after=last, reconnect_delay=0.05)
        self.addCleanup(stream.close)
        deadline = threading.Timer(30, stream.close)  # the deadline of every wait below
        deadline.start()
        self.addCleanup(deadline.cancel)

        def create_and_receive(*titles):
            seqs = []
            for title in titles:
                client.tasks.create(project.id, title)
                seqs.append(client.last_event_seq)
            for title, seq in zip(titles, seqs):
                e = next(stream, None)
                self.assertIsNotNone(e, f"the stream ended (deadline?) waiting for {title}")
                self.assertEqual((e.type, e.seq, e.data["title"]), ("task.created", seq, title))

        create_and_receive(ev["follow_title"])
        self.assertEqual(stream.connects, 1)

        # (c) A network drop while the follower holds its event; two tasks
        # meanwhile; asked for more, it reconnects after its last seq.
        proxy.drop()
        create_and_receive(*ev["resumed_titles"])
        self.assertTrue(stream.connects >= 2 and proxy.accepted >= 2, (stream.connects, proxy.accepted))

        # 13. Webhooks: a receiver on loopback, a signed ping, a tampered body refused.
        inbox = []

        class Receiver(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                inbox.append((self.headers, body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        receiver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
        try:
            wh = sc["webhooks"]
            url = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
            ep = client.webhook_endpoints.create(url, wh["description"], wh["event_types"])
            self.assertTrue(ep.id.startswith("whe_"))
            self.assertTrue(ep.secret.startswith("whsec_"))
            got = client.webhook_endpoints.get(ep.id)
            self.assertIsNone(got.secret)
            self.assertEqual(got.description, wh["description"])

            def ping():
                d = client.webhook_endpoints.test(ep.id)
                self.assertTrue(d.succeeded)
                self.assertEqual(d.status_code, 200)
                self.assertEqual(d.event_type, "ping")
                # The test answers after its attempt: the request is here.
                found = [r for r in inbox if r[0]["webhook-id"] == d.event_id]
                self.assertEqual(len(found), 1, "the receiver got no ping")
                return found[0]

            headers, body = ping()
            verify_webhook(ep.secret, headers, body)
            tampered = body.decode().replace(wh["tamper"]["from"], wh["tamper"]["to"], 1)
            with self.assertRaises(WebhookVerificationError) as ctx:
                verify_webhook(ep.secret, headers, tampered)
            self.assertEqual(ctx.exception.reason, "signature")
            rot = client.webhook_endpoints.rotate_secret(ep.id)
            self.assertNotEqual(rot.secret, ep.secret)
            self.assertIsNotNone(rot.previous_secret_expires_at)
            headers, body = ping()
            verify_webhook(rot.secret, headers, body)
            verify_webhook(ep.secret, headers, body)
            ds = client.webhook_endpoints.deliveries(ep.id, limit=10)
            self.assertEqual(len(ds.data), 2)
            self.assertEqual(ds.pagination.total, 2)
            self.assertTrue(ds.data[0].manual)
            self.assertEqual(client.webhook_endpoints.delete(ep.id), Deleted(id=ep.id, deleted=True))
        finally:
            receiver.shutdown()
            receiver.server_close()

    def test_retry_within_budget(self):
        """A 429 is retried once, after waiting until its reset (a fake sleep here)."""
        _, key = self.srv.new_workspace("Retry", "free")
        slept = []
        client = Client(key, base_url=self.srv.base_url, max_retries=1, max_retry_wait=120,
                        sleep=lambda s: slept.append(s))
        # Spend the minute, then the next call retries once after the wait (the
        # fake sleep returns at once, so the retry is refused again and raised).
        with self.assertRaises(RateLimitError):
            for _ in range(2 * self.sc["free_plan_per_minute"] + 5):
                client.workspace.get()
        self.assertEqual(len(slept), 1)
        self.assertTrue(0 < slept[0] <= 61, slept)


if __name__ == "__main__":
    unittest.main()
