# frozen_string_literal: true

# Starts a real workspaced built from this repository (sdk/SCENARIO.md step 0).
require "json"
require "open3"
require "tmpdir"
require "fileutils"
require "timeout"
require "socket"

class Workspaced
  REPO_ROOT = File.expand_path("../../..", __dir__)

  attr_reader :bin, :database, :http_addr, :grpc_addr, :admin_key, :base_url

  def self.scenario
    JSON.parse(File.read(File.join(REPO_ROOT, "sdk", "scenario.json")))
  end

  def initialize
    @dir = Dir.mktmpdir("workspaced-rb-")
    @bin = ENV["WORKSPACED_BIN"]
    if @bin.nil? || @bin.empty?
      @bin = File.join(@dir, "workspaced")
      system("go", "build", "-o", @bin, "./cmd/workspaced", chdir: REPO_ROOT, exception: true)
    end
    @database = File.join(@dir, "workspace.db")
    # Free ports for every listener, the admin one too: a developer's own
    # server on the default ports must not be in the way.
    _in, @err, @wait = Open3.popen3(@bin, "serve", "--http-addr", "127.0.0.1:0", "--grpc-addr", "127.0.0.1:0",
                                    "--admin-addr", "127.0.0.1:0", "--database", @database,
                                    "--webhook-allow-private").values_at(0, 2, 3) # step 13's receiver is on loopback
    seen = []
    Timeout.timeout(60) do
      while (line = @err.gets)
        line = line.chomp
        seen << line
        @admin_key = line if line.match?(/\Awsk_\w+\z/)
        if (m = line.match(/msg=serving http=(\S+) grpc=(\S+)/))
          @http_addr = m[1]
          @grpc_addr = m[2]
          break
        end
      end
    end
    raise "workspaced did not serve:\n#{seen.join("\n")}" unless @http_addr && @admin_key

    @drain = Thread.new { @err.each_line { nil } } # the server never blocks on its log
    @base_url = "http://#{@http_addr}/v1"
  end

  # Creates a workspace with the CLI; returns [id, key].
  def new_workspace(name, plan)
    out, _err, status = Open3.capture3(@bin, "workspaces", "create", "--name", name, "--plan", plan, "--database", @database)
    raise "workspaces create failed" unless status.success?

    out.split
  end

  def stop
    begin
      Process.kill("TERM", @wait.pid)
      Timeout.timeout(20) { @wait.value }
    rescue Errno::ESRCH
      nil
    rescue Timeout::Error
      Process.kill("KILL", @wait.pid)
      @wait.value
    end
    FileUtils.rm_rf(@dir)
  end
end

# A TCP proxy to host:port, for what a client does when its connection drops:
# drop closes every connection it carries, as a network failure would, while
# the server runs on. accepted counts the connections it took.
class Proxy
  attr_reader :addr, :accepted

  def initialize(host_port)
    host, _, port = host_port.rpartition(":")
    @target = [host, port.to_i]
    @lock = Mutex.new
    @socks = []
    @accepted = 0
    @server = TCPServer.new("127.0.0.1", 0)
    @addr = "127.0.0.1:#{@server.addr[1]}"
    @thread = Thread.new { serve }
  end

  def drop
    socks = @lock.synchronize { @socks.dup }
    socks.each { |s| kill(s) }
  end

  def close
    @server.close
    drop
    @thread.join
  end

  private

  def serve
    loop do
      client = @server.accept
      @accepted += 1
      up = TCPSocket.new(*@target)
      @lock.synchronize { @socks.push(client, up) }
      [[client, up], [up, client]].each { |a, b| Thread.new { pipe(a, b) } }
    end
  rescue IOError, SystemCallError
    nil
  end

  def pipe(src, dst)
    loop { dst.write(src.readpartial(65_536)) }
  rescue IOError, SystemCallError
    # One side ended: end both, as a broken link would.
    kill(src)
    kill(dst)
  end

  def kill(sock)
    @lock.synchronize { @socks.delete(sock) }
    begin
      sock.shutdown(Socket::SHUT_RDWR)
    rescue IOError, SystemCallError
      nil
    end
    sock.close unless sock.closed?
  rescue IOError
    nil
  end
end
