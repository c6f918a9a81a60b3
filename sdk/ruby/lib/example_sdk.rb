# frozen_string_literal: true

# example-sdk — the Workspace API's Ruby client over REST/JSON, standard library
# only (net/http, json, time).
#
#   client = ExampleSdk::Client.new(api_key: ENV.fetch("API_KEY"), base_url: "http://localhost:8080/v1")
#   client.projects.all.each { |project| puts project.name }
require "json"
require "net/http"
require "time"
require "uri"
require "socket"
require "zlib"
require_relative "example_sdk/sse"
require_relative "example_sdk/webhook"

module ExampleSdk
  # The rate-limit headers of an answer: the window that runs out first.
  RateLimit = Struct.new(:limit, :remaining, :reset_at, keyword_init: true)

  # etag: the entity-tag of this version, quotes included ('"3"'); pass it as if_match.
  Project = Struct.new(:id, :name, :description, :created_at, :updated_at, :etag, keyword_init: true)
  Task = Struct.new(:id, :project_id, :title, :description, :status, :due_at, :completed_at,
                    :created_at, :updated_at, :etag, keyword_init: true)
  ApiKey = Struct.new(:id, :name, :scopes, :prefix, :created_at, :last_used_at, :expires_at,
                      :revoked_at, :key, keyword_init: true)
  UsageWindow = Struct.new(:limit, :used, :remaining, :reset_at, keyword_init: true)
  Workspace = Struct.new(:id, :name, :plan, :created_at, :minute, :day, keyword_init: true)
  # next_cursor: the cursor of the next page (pass it back as cursor:); nil on the last page.
  Pagination = Struct.new(:total, :limit, :offset, :has_more, :next_cursor, keyword_init: true)
  Page = Struct.new(:data, :pagination, keyword_init: true)
  Deleted = Struct.new(:id, :deleted, keyword_init: true)
  # One entry of the workspace's event log. seq is its place in the log (1, 2,
  # 3…, no gap): the JSON carries it as a decimal string, the SDK gives an
  # Integer. data is the resource after the change (for a delete, as it was)
  # as its GET renders it, a Hash; previous, for an update, the old values of
  # the top-level fields that changed (nil otherwise). created_at is a Time.
  Event = Struct.new(:id, :seq, :type, :created_at, :data, :previous, :request_id, :key_id, keyword_init: true)
  # An endpoint the workspace's events are POSTed to (verify them with verify_webhook).
  # secret ("whsec_…") is set only in the answers of create and rotate_secret.
  WebhookEndpoint = Struct.new(:id, :url, :description, :event_types, :enabled, :disabled_reason, :created_at,
                               :updated_at, :etag, :secret, :previous_secret_expires_at, keyword_init: true)
  # One attempt to deliver an event; event_seq "0" for a ping, status_code 0 without an answer.
  WebhookDelivery = Struct.new(:id, :event_id, :event_seq, :event_type, :attempt, :attempted_at, :status_code,
                               :duration_ms, :response_excerpt, :error, :succeeded, :next_retry_at, :manual,
                               keyword_init: true)

  # Any error answer: CONTRACT §5's error object and its HTTP status.
  class ApiError < StandardError
    attr_reader :status, :code, :details, :request_id, :rate_limit

    def initialize(status:, code:, message:, details:, request_id:, rate_limit:)
      super(message)
      @status = status
      @code = code
      @details = details
      @request_id = request_id
      @rate_limit = rate_limit
    end
  end

  # A 429: the plan's limit is reached until reset_at (a Time).
  class RateLimitError < ApiError
    attr_reader :reset_at, :retry_after

    def initialize(reset_at:, retry_after:, **rest)
      super(**rest)
      @reset_at = reset_at
      @retry_after = retry_after
    end
  end

  # A 410 EVENTS_EXPIRED: after is older than the event log's retention. The
  # events after it are gone: resync from the lists, then follow the log from
  # its newest seq.
  class EventsExpiredError < ApiError; end

  module Convert # :nodoc:
    module_function

    def time(value)
      value.nil? ? nil : Time.iso8601(value).utc
    end

    def struct(klass, hash)
      return nil if hash.nil?

      args = {}
      klass.members.each do |m|
        next unless hash.key?(m.to_s)

        v = hash[m.to_s]
        v = time(v) if m.to_s.end_with?("_at")
        args[m] = v
      end
      klass.new(**args)
    end

    def workspace(h)
      usage = h["usage"] || {}
      Workspace.new(id: h["id"], name: h["name"], plan: h["plan"], created_at: time(h["created_at"]),
                    minute: struct(UsageWindow, usage["minute"]), day: struct(UsageWindow, usage["day"]))
    end

    def event(h)
      Event.new(id: h["id"], seq: Integer(h["seq"].to_s, 10), type: h["type"], created_at: time(h["created_at"]),
                data: h["data"] || {}, previous: h["previous"], request_id: h["request_id"], key_id: h["key_id"])
    end

    def iso(t)
      t.nil? ? nil : t.utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    end
  end

  # The client. 429s (and 503s) are retried max_retries times, waiting until
  # the reset the server announced, as long as the total wait stays within
  # max_retry_wait seconds; a retry that would wait longer is not made and the
  # RateLimitError is raised at once.
  class Client
    attr_reader :projects, :tasks, :api_keys, :workspace, :events, :webhook_endpoints, :last_rate_limit,
                # The X-Event-Seq of the last answer that carried one: the seq of
                # the last event the write appended (an idempotent replay gives
                # the original one). A follower that reaches it has seen the write.
                :last_event_seq
    # :nodoc: for EventStream
    attr_reader :api_key, :base

    def initialize(api_key:, base_url: "https://api.example.com/v1", max_retries: 2, max_retry_wait: 60.0,
                   timeout: 30, sleeper: ->(s) { sleep(s) })
      raise ArgumentError, "an api_key is required" if api_key.nil? || api_key.empty?

      @api_key = api_key
      @base = URI(base_url.chomp("/"))
      @max_retries = max_retries
      @max_retry_wait = max_retry_wait
      @timeout = timeout
      @sleeper = sleeper
      @last_rate_limit = nil
      @last_event_seq = nil
      @projects = Projects.new(self)
      @tasks = Tasks.new(self)
      @api_keys = ApiKeys.new(self)
      @workspace = WorkspaceResource.new(self)
      @events = Events.new(self)
      @webhook_endpoints = WebhookEndpoints.new(self)
    end

    # Sends one request and returns the decoded envelope; raises ApiError.
    # if_match is sent as If-Match: an update or delete then happens only if
    # the resource's etag is still that one (or "*"); otherwise ApiError with
    # status 412 and code PRECONDITION_FAILED, and nothing changes.
    def request(method, path, query: nil, body: nil, idempotency_key: nil, if_match: nil)
      uri = URI(@base.to_s + path)
      q = (query || {}).reject { |_, v| v.nil? }
      uri.query = URI.encode_www_form(q) unless q.empty?
      headers = { "Authorization" => "Bearer #{@api_key}", "Accept" => "application/json" }
      payload = nil
      unless body.nil?
        payload = JSON.generate(body)
        headers["Content-Type"] = "application/json"
      end
      headers["Idempotency-Key"] = idempotency_key if idempotency_key
      headers["If-Match"] = if_match if if_match

      waited = 0.0
      attempt = 0
      loop do
        res = Net::HTTP.start(uri.host, uri.port, use_ssl: uri.scheme == "https",
                                                  open_timeout: @timeout, read_timeout: @timeout) do |http|
          http.send_request(method, uri.request_uri, payload, headers)
        end
        rl = rate_limit(res)
        @last_rate_limit = rl if rl
        seq = res["X-Event-Seq"]
        @last_event_seq = seq.to_i if seq&.match?(/\A[0-9]+\z/)
        env = begin
          JSON.parse(res.body.to_s)
        rescue JSON::ParserError
          nil
        end
        status = res.code.to_i
        return env if status.between?(200, 299) && env.is_a?(Hash) && env["success"]

        err = error(status, res, env, rl)
        if attempt < @max_retries && [429, 503].include?(status)
          wait = if err.is_a?(RateLimitError)
                   w = [err.retry_after.to_f, err.reset_at - Time.now, 0.0].max
                   w.zero? ? 1.0 : w
                 else
                   0.2 * (2**attempt)
                 end
          if waited + wait <= @max_retry_wait
            @sleeper.call(wait)
            waited += wait
            attempt += 1
            next
          end
        end
        raise err
      end
    end

    def rate_limit(res) # :nodoc:
      l = res["X-RateLimit-Limit"]
      r = res["X-RateLimit-Remaining"]
      t = res["X-RateLimit-Reset"]
      return nil if l.nil? || r.nil? || t.nil?

      RateLimit.new(limit: l.to_i, remaining: r.to_i, reset_at: Time.at(t.to_i).utc)
    end

    # :nodoc: the ApiError of an error answer (or of an SSE error event's envelope)
    def error(status, res, env, rl)
      e = env.is_a?(Hash) && env["error"].is_a?(Hash) ? env["error"] : {}
      args = {
        status: status,
        code: e["code"] || (status == 429 ? "RATE_LIMITED" : "UNKNOWN"),
        message: e["message"] || "HTTP #{status}",
        details: e["details"] || {},
        request_id: res["X-Request-Id"],
        rate_limit: rl
      }
      return EventsExpiredError.new(**args) if args[:code] == "EVENTS_EXPIRED"
      return ApiError.new(**args) unless status == 429

      retry_after = res["Retry-After"].to_i
      RateLimitError.new(reset_at: rl ? rl.reset_at : Time.now.utc + retry_after, retry_after: retry_after, **args)
    end
  end

  class Resource # :nodoc:
    def initialize(client)
      @client = client
    end

    private

    def one(method, path, **kw)
      @client.request(method, path, **kw)["data"]
    end

    def page(path, query, &parse)
      env = @client.request("GET", path, query: query)
      p = env["pagination"]
      Page.new(data: env["data"].map(&parse),
               pagination: Pagination.new(total: p["total"], limit: p["limit"], offset: p["offset"], has_more: p["has_more"],
                                          next_cursor: p["next_cursor"]))
    end

    # An Enumerator over every item, following each page's next_cursor until a page has none.
    def pages(&fetch)
      Enumerator.new do |y|
        cursor = nil
        loop do
          pg = fetch.call(cursor)
          pg.data.each { |item| y << item }
          cursor = pg.pagination.next_cursor
          break if cursor.nil? || cursor.empty?
        end
      end
    end

    def esc(id)
      URI.encode_www_form_component(id)
    end

    def compact(hash)
      hash.reject { |_, v| v.nil? }
    end
  end

  # /v1/projects
  class Projects < Resource
    # One page, newest first unless order_by ("created_at" or "updated_at", with " asc" or " desc")
    # says otherwise; q searches the name and description, ignoring case; cursor is a previous
    # page's pagination.next_cursor, with that page's filters and order (not with offset).
    def list(limit: nil, offset: nil, cursor: nil, order_by: nil, q: nil)
      page("/projects", { limit: limit, offset: offset, cursor: cursor, order_by: order_by, q: q }) { |h| Convert.struct(Project, h) }
    end

    # Every project: client.projects.all.each { |p| … }
    def all(page_size: nil, order_by: nil, q: nil)
      pages { |cursor| list(limit: page_size, cursor: cursor, order_by: order_by, q: q) }
    end

    def create(name:, description: nil, idempotency_key: nil)
      Convert.struct(Project, one("POST", "/projects", body: compact(name: name, description: description),
                                                       idempotency_key: idempotency_key))
    end

    def get(id)
      Convert.struct(Project, one("GET", "/projects/#{esc(id)}"))
    end

    # PUT: changes the fields given, leaves the others alone; if_match (a
    # project's etag) makes it conditional.
    def update(id, idempotency_key: nil, if_match: nil, **fields)
      Convert.struct(Project, one("PUT", "/projects/#{esc(id)}", body: fields, idempotency_key: idempotency_key,
                                                                  if_match: if_match))
    end

    # Deletes the project and its tasks; if_match makes it conditional.
    def delete(id, idempotency_key: nil, if_match: nil)
      Convert.struct(Deleted, one("DELETE", "/projects/#{esc(id)}", idempotency_key: idempotency_key,
                                                                    if_match: if_match))
    end
  end

  # /v1/tasks
  class Tasks < Resource
    # One page of the tasks matching the filters: status is one status or several separated by
    # commas; order_by "created_at", "updated_at" or "due_at", with " asc" or " desc" (default
    # "created_at desc"); due_before, due_after, updated_after are Times (exclusive); q searches
    # the title and description, ignoring case; cursor is a previous page's next_cursor.
    def list(project_id: nil, status: nil, limit: nil, offset: nil, cursor: nil, order_by: nil,
             due_before: nil, due_after: nil, updated_after: nil, q: nil)
      page("/tasks", { project_id: project_id, status: status, limit: limit, offset: offset, cursor: cursor,
                       order_by: order_by, due_before: Convert.iso(due_before), due_after: Convert.iso(due_after),
                       updated_after: Convert.iso(updated_after), q: q }) { |h| Convert.struct(Task, h) }
    end

    # Every task matching the filters (those of list), following the cursors.
    def all(page_size: nil, **filters)
      pages { |cursor| list(limit: page_size, cursor: cursor, **filters) }
    end

    def create(project_id:, title:, description: nil, status: nil, due_at: nil, idempotency_key: nil)
      body = compact(project_id: project_id, title: title, description: description, status: status,
                     due_at: Convert.iso(due_at))
      Convert.struct(Task, one("POST", "/tasks", body: body, idempotency_key: idempotency_key))
    end

    # Creates 1-100 tasks in one request and one transaction: all of them,
    # returned in the order given, or none. Each item is a Hash of create's
    # fields (project_id:, title:, description:, status:, due_at: a Time). An
    # invalid item raises ApiError whose details["field"] names it
    # ("tasks[3].title").
    def batch_create(tasks, idempotency_key: nil)
      items = tasks.map do |t|
        t = t.transform_keys(&:to_sym)
        t[:due_at] = Convert.iso(t[:due_at]) if t[:due_at].respond_to?(:utc)
        compact(t)
      end
      data = one("POST", "/tasks:batchCreate", body: { tasks: items }, idempotency_key: idempotency_key)
      data["tasks"].map { |h| Convert.struct(Task, h) }
    end

    def get(id)
      Convert.struct(Task, one("GET", "/tasks/#{esc(id)}"))
    end

    # PUT: the seed's update(id, status: "completed"); due_at: nil clears the due date;
    # if_match (a task's etag) makes it conditional.
    def update(id, idempotency_key: nil, if_match: nil, **fields)
      fields[:due_at] = Convert.iso(fields[:due_at]) if fields.key?(:due_at)
      Convert.struct(Task, one("PUT", "/tasks/#{esc(id)}", body: fields, idempotency_key: idempotency_key,
                                                            if_match: if_match))
    end

    def delete(id, idempotency_key: nil, if_match: nil)
      Convert.struct(Deleted, one("DELETE", "/tasks/#{esc(id)}", idempotency_key: idempotency_key,
                                                               if_match: if_match))
    end
  end

  # /v1/api-keys (admin scope)
  class ApiKeys < Resource
    def list(limit: nil, offset: nil, cursor: nil)
      page("/api-keys", { limit: limit, offset: offset, cursor: cursor }) { |h| Convert.struct(ApiKey, h) }
    end

    def all(page_size: nil)
      pages { |cursor| list(limit: page_size, cursor: cursor) }
    end

    # The secret is in the result's key, this once.
    def create(scopes:, name: nil, expires_at: nil, idempotency_key: nil)
      body = compact(scopes: scopes, name: name, expires_at: Convert.iso(expires_at))
      Convert.struct(ApiKey, one("POST", "/api-keys", body: body, idempotency_key: idempotency_key))
    end

    # Revokes the key.
    def delete(id, idempotency_key: nil)
      Convert.struct(Deleted, one("DELETE", "/api-keys/#{esc(id)}", idempotency_key: idempotency_key))
    end
  end

  # /v1/workspace
  class WorkspaceResource < Resource
    def get
      Convert.workspace(one("GET", "/workspace"))
    end
  end

  # /v1/events: the workspace's event log (read scope).
  class Events < Resource
    # One page of the events after after (a seq; 0 the start), oldest first;
    # types is an Array of event types (or a comma list). A 410 (after older
    # than the retention) raises EventsExpiredError.
    def list(after: nil, types: nil, limit: nil, cursor: nil)
      page("/events", { after: after, types: Events.types(types), limit: limit, cursor: cursor }) { |h| Convert.event(h) }
    end

    # Every event after after of these types, oldest first, following the
    # cursors (a cursor carries its position: after goes with the first page only).
    def all(after: nil, types: nil, page_size: nil)
      pages { |cursor| list(after: cursor ? nil : after, types: types, limit: page_size, cursor: cursor) }
    end

    # Follows the log live over Server-Sent Events: an EventStream (Enumerable)
    # of the events after after (the log's replay, then each new one as it
    # commits), reconnecting from the last seq after a dropped connection so
    # that each event comes once, in order. With a block, runs it for each
    # event until the stream ends (close, or a final error).
    def follow(after: 0, types: nil, reconnect_delay: 1.0, max_reconnect_delay: 30.0, idle_timeout: 45.0, &block)
      stream = EventStream.new(@client, after: after, types: Events.types(types), reconnect_delay: reconnect_delay,
                                        max_reconnect_delay: max_reconnect_delay, idle_timeout: idle_timeout)
      return stream unless block

      stream.each(&block)
      stream
    end

    def self.types(types) # :nodoc:
      return nil if types.nil?

      s = types.is_a?(Array) ? types.join(",") : types.to_s
      s.empty? ? nil : s
    end
  end

  # A live follower of the event log: each yields every Event once, in seq
  # order. It remembers last_seq, the seq of the last event it yielded; when
  # the connection drops (a network error, EOF, a 5xx or 429, the server's
  # STREAM_LAGGING error event, no byte within idle_timeout seconds: the
  # server sends a keep-alive every 15) it reconnects with Last-Event-ID =
  # last_seq after a backoff (reconnect_delay doubled after each failed
  # attempt, up to max_reconnect_delay; the server's retry: replaces
  # reconnect_delay). 400, 401, 403, 404, 410 and 501 are not retried: each raises
  # the ApiError (410: EventsExpiredError). close, from any thread, ends it.
  class EventStream
    include Enumerable

    # Codes of an event: error after which the stream is reopened from the
    # last seq; any other ends it with the ApiError.
    RESUMABLE = %w[STREAM_LAGGING UNAVAILABLE INTERNAL_ERROR RATE_LIMITED TOO_MANY_STREAMS].freeze
    # Answers that reopening would not change: raised, not retried.
    FINAL = [400, 401, 403, 404, 410, 501].freeze
    # What a dropped connection raises.
    DROPPED = [IOError, SystemCallError, SocketError, Timeout::Error, Net::HTTPBadResponse, Net::ProtocolError,
               Zlib::Error].freeze

    # The HTTP status of each error code (CONTRACT §6), for an error that
    # arrives inside a stream whose answer was a 200.
    STATUS_OF_CODE = {
      "VALIDATION_ERROR" => 400, "UNAUTHORIZED" => 401, "FORBIDDEN" => 403, "NOT_FOUND" => 404, "CONFLICT" => 409,
      "EVENTS_EXPIRED" => 410, "RATE_LIMITED" => 429, "TOO_MANY_STREAMS" => 429, "INTERNAL_ERROR" => 500,
      "UNAVAILABLE" => 503
    }.freeze

    class Resume < StandardError; end # :nodoc:

    # The seq of the last event yielded (or after): resume from it.
    attr_reader :last_seq
    # How many times the stream has (re)connected.
    attr_reader :connects

    def initialize(client, after:, types:, reconnect_delay:, max_reconnect_delay:, idle_timeout:)
      @client = client
      @last_seq = Integer(after || 0)
      @types = types
      @delay = reconnect_delay
      @max_delay = max_reconnect_delay
      @idle = idle_timeout
      @connects = 0
      @closed = false
      @lock = Mutex.new
      @wake = ConditionVariable.new
      @http = nil
    end

    def closed?
      @closed
    end

    # Ends the stream; a read blocked in another thread returns at once.
    def close
      http = @lock.synchronize do
        @closed = true
        @wake.broadcast
        @http
      end
      # Net::HTTP has no way to interrupt a read from another thread but
      # closing its socket: shut it down so the blocked read sees EOF.
      io = http&.instance_variable_get(:@socket)&.io
      begin
        io&.shutdown(Socket::SHUT_RDWR)
      rescue IOError, SystemCallError
        nil
      end
      nil
    end

    def each
      return enum_for(:each) unless block_given?

      failures = 0
      until @closed
        status = nil
        begin
          connect do |res|
            status = res.code.to_i
            if status != 200
              body = res.read_body.to_s
              env = begin
                JSON.parse(body)
              rescue JSON::ParserError
                nil
              end
              err = @client.error(status, res, env, @client.rate_limit(res))
              raise err if FINAL.include?(status)

              failures += 1
              wait(failures, err.is_a?(RateLimitError) ? err.retry_after.to_f : 0.0)
              next
            end
            @connects += 1
            parser = SSEParser.new
            res.read_body do |chunk|
              parser.feed(chunk).each do |msg|
                @delay = parser.retry / 1000.0 if parser.retry
                if msg.event == "error"
                  err = stream_error(msg.data, res)
                  raise err unless RESUMABLE.include?(err.code)

                  raise Resume, err.code
                end
                next if msg.data.empty?

                event = Convert.event(JSON.parse(msg.data))
                next if event.seq <= @last_seq # never twice

                @last_seq = event.seq
                failures = 0
                yield event
                return self if @closed
              end
            end
          end
        rescue Resume, *DROPPED
          nil # a dropped connection (or idle past the timeout): reconnect
        rescue JSON::ParserError
          raise unless @closed # an event that is not JSON: reopening would read it again
        end
        return self if @closed
        next if status && status != 200 # waited above

        failures += 1
        wait(failures)
      end
      self
    end

    private

    def connect(&block)
      base = @client.base
      uri = URI("#{base}/events/stream")
      q = { after: @last_seq }
      q[:types] = @types if @types
      uri.query = URI.encode_www_form(q)
      headers = { "Authorization" => "Bearer #{@client.api_key}", "Accept" => "text/event-stream",
                  "Accept-Encoding" => "identity" }
      headers["Last-Event-ID"] = @last_seq.to_s if @last_seq.positive?
      http = Net::HTTP.new(uri.host, uri.port)
      http.use_ssl = uri.scheme == "https"
      http.open_timeout = @idle
      http.read_timeout = @idle
      # Net::HTTP would resend the GET itself after a drop, with the
      # Last-Event-ID of the first attempt: the stream reconnects itself.
      http.max_retries = 0
      begin
        http.start
        @lock.synchronize { @http = http }
        return if @closed

        http.request(Net::HTTP::Get.new(uri.request_uri, headers), &block)
      ensure
        @lock.synchronize { @http = nil }
        begin
          http.finish if http.started?
        rescue IOError, SystemCallError
          nil
        end
      end
    end

    def wait(failures, at_least = 0.0)
      d = [@max_delay, @delay * (2**[0, failures - 1].max)].min
      secs = [at_least, (d / 2) + (rand * d / 2)].max
      @lock.synchronize { @wake.wait(@lock, secs) unless @closed }
    end

    def stream_error(data, res)
      env = begin
        JSON.parse(data)
      rescue JSON::ParserError
        nil
      end
      e = env.is_a?(Hash) && env["error"].is_a?(Hash) ? env["error"] : {}
      code = e["code"] || "UNKNOWN"
      args = { status: STATUS_OF_CODE.fetch(code, res.code.to_i), code: code, message: e["message"] || "stream error",
               details: e["details"] || {}, request_id: res["X-Request-Id"], rate_limit: nil }
      args[:code] == "EVENTS_EXPIRED" ? EventsExpiredError.new(**args) : ApiError.new(**args)
    end
  end

  # /v1/webhook-endpoints (admin scope)
  class WebhookEndpoints < Resource
    def list(limit: nil, offset: nil, cursor: nil)
      page("/webhook-endpoints", { limit: limit, offset: offset, cursor: cursor }) { |h| Convert.struct(WebhookEndpoint, h) }
    end

    def all(page_size: nil)
      pages { |cursor| list(limit: page_size, cursor: cursor) }
    end

    # The signing secret is in the result's secret, this once.
    def create(url:, description: nil, event_types: nil, enabled: nil)
      body = compact(url: url, description: description, event_types: event_types, enabled: enabled)
      Convert.struct(WebhookEndpoint, one("POST", "/webhook-endpoints", body: body))
    end

    def get(id)
      Convert.struct(WebhookEndpoint, one("GET", "/webhook-endpoints/#{esc(id)}"))
    end

    # PATCH: changes the fields given; event_types: [] means all types.
    def update(id, url: nil, description: nil, event_types: nil, enabled: nil, if_match: nil)
      body = compact(url: url, description: description, event_types: event_types, enabled: enabled)
      Convert.struct(WebhookEndpoint, one("PATCH", "/webhook-endpoints/#{esc(id)}", body: body, if_match: if_match))
    end

    def delete(id, if_match: nil)
      Convert.struct(Deleted, one("DELETE", "/webhook-endpoints/#{esc(id)}", if_match: if_match))
    end

    # A new secret (in secret, this once); the old one signs too for 24 hours.
    def rotate_secret(id)
      Convert.struct(WebhookEndpoint, one("POST", "/webhook-endpoints/#{esc(id)}:rotateSecret", body: {}))
    end

    # Sends a ping now and returns the attempt.
    def test(id)
      Convert.struct(WebhookDelivery, one("POST", "/webhook-endpoints/#{esc(id)}:test", body: {}))
    end

    # The endpoint's attempts, newest first.
    def deliveries(id, limit: nil, offset: nil, cursor: nil)
      page("/webhook-endpoints/#{esc(id)}/deliveries", { limit: limit, offset: offset, cursor: cursor }) do |h|
        Convert.struct(WebhookDelivery, h)
      end
    end

    # Sends a past attempt's event again now and returns the new attempt.
    def retry(id, delivery_id)
      Convert.struct(WebhookDelivery, one("POST", "/webhook-endpoints/#{esc(id)}/deliveries/#{esc(delivery_id)}:retry", body: {}))
    end
  end
end
