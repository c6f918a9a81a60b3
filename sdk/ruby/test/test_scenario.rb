# frozen_string_literal: true

# sdk/SCENARIO.md against a real workspaced.
$LOAD_PATH.unshift File.expand_path("../lib", __dir__)
require "minitest/autorun"
require "socket"
require "example_sdk"
require_relative "workspaced"

class ScenarioTest < Minitest::Test
  SERVER = Workspaced.new
  Minitest.after_run { SERVER.stop }

  def assert_api_error(klass, status, code)
    err = assert_raises(klass) { yield }
    assert_kind_of klass, err
    assert_equal status, err.status
    assert_equal code, err.code
    refute_empty err.message
    assert_kind_of Hash, err.details
    refute_nil err.request_id
    err
  end

  def test_scenario
    sc = Workspaced.scenario
    srv = SERVER
    client = ExampleSdk::Client.new(api_key: srv.admin_key, base_url: srv.base_url)

    # 1. Create a project.
    project = client.projects.create(name: sc["project"]["name"], description: sc["project"]["description"],
                                     idempotency_key: "scenario-project")
    assert_match(/\Aproj_/, project.id)
    assert_equal sc["project"]["name"], project.name
    assert_kind_of Time, project.created_at

    # 2. Create tasks.
    created = sc["task_titles"].map do |title|
      task = client.tasks.create(project_id: project.id, title: title)
      assert_equal "todo", task.status
      assert_nil task.due_at
      task.id
    end

    # 3. Page through them, newest first.
    seen = client.tasks.all(project_id: project.id, page_size: sc["page_size"]).map(&:id)
    assert_equal created.reverse, seen
    first = client.tasks.list(project_id: project.id, limit: sc["page_size"])
    assert_equal sc["page_size"], first.data.size
    assert_equal created.size, first.pagination.total
    assert first.pagination.has_more

    # 4. The seed's PUT.
    updated = client.tasks.update(created[0], **sc["update"].transform_keys(&:to_sym))
    assert_equal "completed", updated.status
    assert_kind_of Time, updated.completed_at
    assert_equal sc["task_titles"][0], updated.title

    # 5. Delete it.
    assert_equal ExampleSdk::Deleted.new(id: created[0], deleted: true), client.tasks.delete(created[0])

    # 6. 404.
    assert_api_error(ExampleSdk::ApiError, 404, "NOT_FOUND") { client.tasks.get(created[0]) }
    nf = assert_api_error(ExampleSdk::ApiError, 404, "NOT_FOUND") { client.tasks.get(sc["missing_task_id"]) }
    refute_kind_of ExampleSdk::RateLimitError, nf

    # 7. 403 with a read-only key made through the API.
    key = client.api_keys.create(scopes: sc["read_only_key"]["scopes"], name: sc["read_only_key"]["name"])
    assert_match(/\Awsk_/, key.key)
    ro = ExampleSdk::Client.new(api_key: key.key, base_url: srv.base_url)
    ro.projects.list
    e = assert_api_error(ExampleSdk::ApiError, 403, "FORBIDDEN") { ro.projects.create(name: "nope") }
    assert_equal "write", e.details["required_scope"]

    # 8. 429 on a fresh free workspace.
    _, free_key = srv.new_workspace("Scenario free", "free")
    no_retry = ExampleSdk::Client.new(api_key: free_key, base_url: srv.base_url, max_retries: 0)
    limited = nil
    (2 * sc["free_plan_per_minute"] + 5).times do
      no_retry.workspace.get
    rescue ExampleSdk::RateLimitError => err
      limited = err
      break
    end
    refute_nil limited, "never rate limited"
    assert_equal [429, "RATE_LIMITED"], [limited.status, limited.code]
    assert_equal "minute", limited.details["window"]
    now = Time.now
    assert limited.reset_at >= now - 1 && limited.reset_at <= now + 61, "reset_at #{limited.reset_at}"
    assert limited.retry_after.between?(1, 60), "retry_after #{limited.retry_after}"
    assert_equal sc["free_plan_per_minute"], limited.rate_limit.limit
    assert_equal 0, limited.rate_limit.remaining

    # With retries on but a budget shorter than the wait: at once.
    short = ExampleSdk::Client.new(api_key: free_key, base_url: srv.base_url, max_retries: 3, max_retry_wait: 0)
    start = Time.now
    assert_api_error(ExampleSdk::RateLimitError, 429, "RATE_LIMITED") { short.workspace.get }
    assert_operator Time.now - start, :<, 2

    # 9. Conditional update (ETag): the current etag succeeds and changes it;
    # the first one, now stale, is a 412 that changes nothing.
    cu = sc["conditional_update"]
    read = client.projects.get(project.id)
    refute_empty read.etag.to_s
    assert_equal project.etag, read.etag
    renamed = client.projects.update(project.id, name: cu["name"], if_match: read.etag)
    assert_equal cu["name"], renamed.name
    refute_equal read.etag, renamed.etag
    assert_api_error(ExampleSdk::ApiError, 412, "PRECONDITION_FAILED") do
      client.projects.update(project.id, name: cu["stale_name"], if_match: read.etag)
    end
    after = client.projects.get(project.id)
    assert_equal [cu["name"], renamed.etag], [after.name, after.etag]
    # 10. Lists: filters, order, cursors.
    ls = sc["lists"]
    lf = { project_id: project.id, status: ls["status"], q: ls["query"], order_by: ls["order_by"] }
    titles = client.tasks.all(page_size: ls["page_size"], **lf).map(&:title)
    assert_equal ls["titles"], titles
    first = client.tasks.list(limit: ls["page_size"], **lf)
    refute_nil first.pagination.next_cursor
    misused = assert_api_error(ExampleSdk::ApiError, 400, "VALIDATION_ERROR") do
      client.tasks.list(limit: ls["page_size"], cursor: first.pagination.next_cursor, **lf.merge(order_by: ls["other_order_by"]))
    end
    assert_equal "cursor", misused.details["field"]
    # 11. Batch create: in order, all or nothing.
    batch = sc["batch"]["titles"].map { |title| { project_id: project.id, title: title } }
    made = client.tasks.batch_create(batch, idempotency_key: "scenario-batch")
    assert_equal sc["batch"]["titles"], made.map(&:title)
    made.each do |t|
      assert_match(/\Atask_/, t.id)
      assert_equal "todo", t.status
    end
    assert_equal made.size, made.map(&:id).uniq.size
    total = client.tasks.list(project_id: project.id, limit: 1).pagination.total
    assert_equal created.size - 1 + made.size, total
    bad = sc["batch"]["invalid_index"]
    batch[bad] = batch[bad].merge(title: " ")
    e = assert_api_error(ExampleSdk::ApiError, 400, "VALIDATION_ERROR") { client.tasks.batch_create(batch) }
    assert_equal "tasks[#{bad}].title", e.details["field"]
    assert_equal total, client.tasks.list(project_id: project.id, limit: 1).pagination.total
    batch_seq = client.last_event_seq

    # 12. Events: (a) the log's task.created, every page, oldest first.
    ev = sc["events"]
    listed = client.events.all(after: 0, types: ev["types"], page_size: ev["page_size"]).to_a
    assert_equal ev["titles"], listed.map { |e| e.data["title"] }
    listed.each_with_index do |e, i|
      assert_equal "task.created", e.type
      assert_kind_of Integer, e.seq
      assert_match(/\Aevt_/, e.id)
      assert_kind_of Time, e.created_at
      assert_operator e.seq, :>, listed[i - 1].seq if i.positive?
    end
    last = listed.last.seq
    assert_equal last, batch_seq, "the batch's X-Event-Seq is its last event's seq"

    # (b) Follow after it, through a proxy the test can cut.
    proxy = Proxy.new(srv.http_addr)
    follower = ExampleSdk::Client.new(api_key: srv.admin_key, base_url: "http://#{proxy.addr}/v1")
    stream = follower.events.follow(after: last, reconnect_delay: 0.05)
    events = stream.each # an external Enumerator: each next reads on
    deadline = Thread.new { sleep 30; stream.close } # the deadline of every wait below, not a synchronisation
    create_and_receive = lambda do |*titles|
      seqs = titles.map do |title|
        client.tasks.create(project_id: project.id, title: title)
        client.last_event_seq
      end
      titles.zip(seqs).each do |title, seq|
        e = begin
          events.next
        rescue StopIteration
          flunk "the stream ended (deadline?) waiting for #{title}"
        end
        assert_equal ["task.created", seq, title], [e.type, e.seq, e.data["title"]]
      end
    end
    create_and_receive.call(ev["follow_title"])
    assert_equal 1, stream.connects

    # (c) A network drop while the follower holds its event; two tasks
    # meanwhile; asked for more, it reconnects after its last seq.
    proxy.drop
    create_and_receive.call(*ev["resumed_titles"])
    assert stream.connects >= 2 && proxy.accepted >= 2, "connects #{stream.connects}, proxied #{proxy.accepted}"

    # 13. Webhooks: a receiver on loopback, a signed ping, a tampered body refused.
    webhooks_step(client, sc["webhooks"])
  ensure
    deadline&.kill
    stream&.close
    proxy&.close
  end

  # A minimal HTTP receiver on 127.0.0.1: each request's headers (names in
  # lower case) and raw body go to inbox; it answers 200.
  def start_receiver(inbox)
    server = TCPServer.new("127.0.0.1", 0)
    thread = Thread.new do
      loop do
        sock = server.accept
        sock.gets # the request line
        headers = {}
        while (line = sock.gets) && line != "\r\n"
          k, v = line.split(":", 2)
          headers[k.strip.downcase] = v.strip
        end
        body = sock.read(headers.fetch("content-length", "0").to_i)
        inbox << [headers, body]
        sock.write("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
        sock.close
      end
    rescue IOError
      nil
    end
    [server, thread]
  end

  def webhooks_step(client, wh)
    inbox = Queue.new
    server, thread = start_receiver(inbox)
    received = []
    url = "http://127.0.0.1:#{server.addr[1]}/hook"
    ep = client.webhook_endpoints.create(url: url, description: wh["description"], event_types: wh["event_types"])
    assert_match(/\Awhe_/, ep.id)
    assert_match(/\Awhsec_/, ep.secret)
    got = client.webhook_endpoints.get(ep.id)
    assert_nil got.secret
    assert_equal wh["description"], got.description
    ping = lambda do
      d = client.webhook_endpoints.test(ep.id)
      assert d.succeeded
      assert_equal 200, d.status_code
      assert_equal "ping", d.event_type
      # The test answers after its attempt: the request is here.
      received << inbox.pop until inbox.empty?
      r = received.find { |h, _| h["webhook-id"] == d.event_id }
      refute_nil r, "the receiver got no ping"
      r
    end
    headers, body = ping.call
    assert ExampleSdk.verify_webhook(ep.secret, headers, body)
    tampered = body.sub(wh["tamper"]["from"], wh["tamper"]["to"])
    err = assert_raises(ExampleSdk::WebhookVerificationError) { ExampleSdk.verify_webhook(ep.secret, headers, tampered) }
    assert_equal :signature, err.reason
    rot = client.webhook_endpoints.rotate_secret(ep.id)
    refute_equal ep.secret, rot.secret
    refute_nil rot.previous_secret_expires_at
    headers, body = ping.call
    assert ExampleSdk.verify_webhook(rot.secret, headers, body)
    assert ExampleSdk.verify_webhook(ep.secret, headers, body)
    ds = client.webhook_endpoints.deliveries(ep.id, limit: 10)
    assert_equal 2, ds.data.size
    assert_equal 2, ds.pagination.total
    assert ds.data[0].manual
    assert_equal ExampleSdk::Deleted.new(id: ep.id, deleted: true), client.webhook_endpoints.delete(ep.id)
  ensure
    server&.close
    thread&.join
  end

  def test_retry_waits_until_reset
    _, key = SERVER.new_workspace("Retry", "free")
    slept = []
    client = ExampleSdk::Client.new(api_key: key, base_url: SERVER.base_url, max_retries: 1, max_retry_wait: 120,
                                    sleeper: ->(s) { slept << s })
    assert_raises(ExampleSdk::RateLimitError) do
      (2 * Workspaced.scenario["free_plan_per_minute"] + 5).times { client.workspace.get }
    end
    assert_equal 1, slept.size
    assert slept[0].positive? && slept[0] <= 61, slept.inspect
  end
end
