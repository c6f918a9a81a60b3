# frozen_string_literal: true

# The SSE parser on canned bytes, and the follower's reconnects against a
# local HTTP server that plays a scripted event stream.
$LOAD_PATH.unshift File.expand_path("../lib", __dir__)
require "minitest/autorun"
require "example_sdk"
require "socket"
require "json"
require "uri"

class SSEParserTest < Minitest::Test
  M = ExampleSdk::SSEParser::Message
  CANNED = ("\uFEFF: keep-alive\n" \
            "retry: 2500\n" \
            "id: 7\r\nevent: task.created\r\ndata: {\"seq\":\"7\"}\r\n\r\n" \
            "data: one\rdata: two\r\r" \
            "event: ignored-without-data\n\n" \
            "id: 9\nevent: error\ndata:{\"success\":false}\n\n" \
            "field-without-colon\ndata\n\n" \
            "id: 10\ndata: never dispatched, no blank line").b
  WANT = [
    M.new(id: "7", event: "task.created", data: "{\"seq\":\"7\"}"),
    M.new(id: "7", event: "message", data: "one\ntwo"),
    M.new(id: "9", event: "error", data: "{\"success\":false}"),
    M.new(id: "9", event: "message", data: "")
  ].freeze

  def test_whole
    p = ExampleSdk::SSEParser.new
    assert_equal WANT, p.feed(CANNED)
    assert_equal 2500, p.retry
    assert_equal "10", p.last_event_id
  end

  def test_split_everywhere
    text = CANNED + "\n\ndata: é€😀\n\n".b
    want = WANT + [M.new(id: "10", event: "message", data: "never dispatched, no blank line"),
                   M.new(id: "10", event: "message", data: "é€😀")]
    (0..text.bytesize).each do |i|
      p = ExampleSdk::SSEParser.new
      got = p.feed(text.byteslice(0, i)) + p.feed(text.byteslice(i, text.bytesize))
      assert_equal want, got, "split at #{i}"
    end
    p = ExampleSdk::SSEParser.new
    got = text.each_byte.flat_map { |b| p.feed(b.chr) }
    assert_equal want, got
    assert_equal Encoding::UTF_8, got.last.data.encoding
  end
end

# A server answering the nth request with script[n].call(conn): conn is the
# raw socket, the request already read.
class Scripted
  attr_reader :seen, :base_url

  def initialize(script)
    @script = script
    @seen = []
    @server = TCPServer.new("127.0.0.1", 0)
    @conns = []
    @base_url = "http://127.0.0.1:#{@server.addr[1]}/v1"
    @thread = Thread.new do
      loop do
        conn = @server.accept
        @conns << conn
        Thread.new(conn) { |c| serve(c) }
      end
    rescue IOError
      nil
    end
  end

  def serve(conn)
    request = conn.gets
    headers = {}
    while (line = conn.gets) && line != "\r\n"
      k, v = line.chomp.split(": ", 2)
      headers[k.downcase] = v
    end
    n = @seen.size
    @seen << { path: request.split[1], last_event_id: headers["last-event-id"], auth: headers["authorization"] }
    (@script[n] || Scripted.status(500)).call(conn)
  rescue IOError, SystemCallError
    nil
  end

  def close
    @server.close
    @conns.each { |c| c.close rescue nil } # rubocop:disable Style/RescueModifier
    @thread.join
  end

  def self.ev(seq)
    e = { id: "evt_#{seq}", seq: seq.to_s, type: "task.created", created_at: "2026-01-01T00:00:00Z",
          data: { id: "task_#{seq}", title: "t#{seq}" }, previous: nil, request_id: "req", key_id: "key_1" }
    "id: #{seq}\nevent: task.created\ndata: #{JSON.generate(e)}\n\n"
  end

  def self.sse(conn)
    conn.write("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
  end

  def self.chunk(conn, text)
    b = text.b
    conn.write("#{b.bytesize.to_s(16)}\r\n#{b}\r\n")
  end

  def self.status(code, err_code = "UNAVAILABLE")
    lambda do |conn|
      body = JSON.generate(success: false, error: { code: err_code, message: "no", details: {} })
      conn.write("HTTP/1.1 #{code} X\r\nContent-Type: application/json\r\nContent-Length: #{body.bytesize}\r\n" \
                 "X-Request-Id: req_1\r\nConnection: close\r\n\r\n#{body}")
      conn.close
    end
  end
end

class FollowTest < Minitest::Test
  def test_reconnects_from_the_last_seq
    lag = JSON.generate(success: false, error: { code: "STREAM_LAGGING", message: "slow", details: {} })
    srv = Scripted.new([
                         lambda { |c|
                           Scripted.sse(c)
                           # The server's retry: (5 ms) replaces reconnect_delay (a minute):
                           # without it the reconnects would outlast the test's deadline.
                           Scripted.chunk(c, ": keep-alive\nretry: 5\n\n#{Scripted.ev(1)}#{Scripted.ev(2)}")
                           c.write("0\r\n\r\n")
                           c.close
                         },
                         lambda { |c| # 2 again (not yielded twice), 3, then a reset mid-body
                           Scripted.sse(c)
                           Scripted.chunk(c, "#{Scripted.ev(2)}#{Scripted.ev(3)}")
                           c.close
                         },
                         Scripted.status(503),
                         lambda { |c|
                           Scripted.sse(c)
                           Scripted.chunk(c, "#{Scripted.ev(4)}event: error\ndata: #{lag}\n\n")
                         },
                         lambda { |c|
                           Scripted.sse(c)
                           Scripted.chunk(c, Scripted.ev(5))
                         }
                       ])
    client = ExampleSdk::Client.new(api_key: "wsk_x", base_url: srv.base_url)
    stream = client.events.follow(types: %w[task.created task.updated], reconnect_delay: 60)
    watchdog = Thread.new { sleep 10; stream.close } # a deadline, not a synchronisation
    got = []
    stream.each do |e|
      assert_kind_of Integer, e.seq
      assert_equal "t#{e.seq}", e.data["title"]
      got << e.seq
      break if got.size == 5
    end
    assert_equal [1, 2, 3, 4, 5], got
    assert_equal 5, stream.last_seq
    assert_equal [nil, "2", "3", "3", "4"], srv.seen.map { |s| s[:last_event_id] }
    queries = srv.seen.map { |s| URI.decode_www_form(URI(s[:path]).query).to_h }
    assert_equal %w[0 2 3 3 4], queries.map { |q| q["after"] }
    queries.each { |q| assert_equal "task.created,task.updated", q["types"] }
    srv.seen.each { |s| assert_equal "Bearer wsk_x", s[:auth] }
  ensure
    watchdog&.kill
    srv&.close
  end

  def test_final_answers_are_not_retried
    [[401, "UNAUTHORIZED", ExampleSdk::ApiError], [403, "FORBIDDEN", ExampleSdk::ApiError],
     [410, "EVENTS_EXPIRED", ExampleSdk::EventsExpiredError], [400, "VALIDATION_ERROR", ExampleSdk::ApiError]].each do |code, err_code, klass|
      srv = Scripted.new([Scripted.status(code, err_code)])
      stream = ExampleSdk::Client.new(api_key: "wsk_x", base_url: srv.base_url).events.follow(after: 3, reconnect_delay: 0.005)
      err = assert_raises(klass) { stream.each { flunk "an event" } }
      assert_equal [code, err_code, "req_1"], [err.status, err.code, err.request_id]
      assert_equal 1, srv.seen.size
      srv.close
    end
  end

  def test_error_event_of_a_revoked_key_is_final
    err_json = JSON.generate(success: false, error: { code: "UNAUTHORIZED", message: "revoked", details: {} })
    srv = Scripted.new([lambda { |c|
      Scripted.sse(c)
      Scripted.chunk(c, "#{Scripted.ev(1)}event: error\ndata: #{err_json}\n\n")
      c.write("0\r\n\r\n")
      c.close
    }])
    stream = ExampleSdk::Client.new(api_key: "wsk_x", base_url: srv.base_url).events.follow(reconnect_delay: 0.005)
    got = []
    err = assert_raises(ExampleSdk::ApiError) { stream.each { |e| got << e.seq } }
    assert_equal [401, "UNAUTHORIZED"], [err.status, err.code]
    assert_equal [1], got
    assert_equal 1, srv.seen.size
  ensure
    srv&.close
  end

  def test_silent_connection_is_reopened
    srv = Scripted.new([
                         ->(c) { Scripted.sse(c); Scripted.chunk(c, Scripted.ev(1)) }, # then silence: a half-open link
                         ->(c) { Scripted.sse(c); Scripted.chunk(c, Scripted.ev(2)) }
                       ])
    stream = ExampleSdk::Client.new(api_key: "wsk_x", base_url: srv.base_url).events.follow(idle_timeout: 0.2, reconnect_delay: 0.005)
    got = []
    stream.each do |e|
      got << e.seq
      break if got.size == 2
    end
    assert_equal [1, 2], got
    assert_equal [nil, "1"], srv.seen.map { |s| s[:last_event_id] }
  ensure
    srv&.close
  end

  def test_close_from_another_thread
    srv = Scripted.new([->(c) { Scripted.sse(c); Scripted.chunk(c, Scripted.ev(5)) }])
    stream = ExampleSdk::Client.new(api_key: "wsk_x", base_url: srv.base_url).events.follow
    got = []
    closer = nil
    stream.each do |e|
      got << e.seq
      closer = Thread.new { stream.close } # while the next read blocks, or before it
    end
    closer.join
    assert_equal [5], got
    assert_equal 1, srv.seen.size
  ensure
    srv&.close
  end

  def test_list_and_event_seq
    srv = Scripted.new([
                         lambda { |c|
                           body = JSON.generate(success: true, data: [JSON.parse(Scripted.ev(3)[/data: (.*)\n/, 1])],
                                                pagination: { total: 1, limit: 5, offset: 0, has_more: false })
                           c.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: #{body.bytesize}\r\nConnection: close\r\n\r\n#{body}")
                           c.close
                         },
                         Scripted.status(410, "EVENTS_EXPIRED"),
                         lambda { |c|
                           body = JSON.generate(success: true, data: { id: "task_1" })
                           c.write("HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nX-Event-Seq: 42\r\nContent-Length: #{body.bytesize}\r\nConnection: close\r\n\r\n#{body}")
                           c.close
                         }
                       ])
    client = ExampleSdk::Client.new(api_key: "wsk_x", base_url: srv.base_url)
    page = client.events.list(after: 2, types: %w[task.created task.deleted], limit: 5)
    assert_equal "/v1/events?after=2&types=task.created%2Ctask.deleted&limit=5", srv.seen[0][:path]
    assert_equal 3, page.data[0].seq
    assert_kind_of Time, page.data[0].created_at
    assert_nil page.data[0].previous
    assert_raises(ExampleSdk::EventsExpiredError) { client.events.list(after: 1) }
    assert_nil client.last_event_seq
    client.tasks.create(project_id: "proj_1", title: "x")
    assert_equal 42, client.last_event_seq
  ensure
    srv&.close
  end
end
