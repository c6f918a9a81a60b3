# frozen_string_literal: true

module ExampleSdk
  # A Server-Sent Events parser (the WHATWG "event stream interpretation"),
  # fed raw bytes in chunks of any size: a line or a UTF-8 character may be
  # split across chunks, lines may end in LF, CRLF or CR. CR and LF never
  # occur inside a UTF-8 sequence, so lines are cut on bytes and decoded whole.
  class SSEParser
    # One dispatched message: id is the stream's last event ID at dispatch,
    # event the event: field ("message" when absent), data the data: lines
    # joined by newlines.
    Message = Struct.new(:id, :event, :data, keyword_init: true)

    LINE_END = /[\r\n]/n.freeze

    # The last retry: the stream gave, in milliseconds; nil if none.
    attr_reader :retry
    # The last event ID seen (id:), dispatched or not.
    attr_reader :last_event_id

    def initialize
      @retry = nil
      @last_event_id = +""
      @buf = "".b
      @skip_lf = false
      @first_line = true
      @event = +""
      @data = []
    end

    # Parses a chunk and returns the messages it completes, in order.
    def feed(chunk)
      out = []
      buf = @buf + chunk.b
      start = 0
      if @skip_lf && !buf.empty?
        start = 1 if buf.getbyte(0) == 0x0A
        @skip_lf = false
      end
      while (i = buf.index(LINE_END, start))
        line(buf.byteslice(start, i - start), out)
        if buf.getbyte(i) == 0x0D
          if i + 1 < buf.bytesize
            i += 1 if buf.getbyte(i + 1) == 0x0A
          else
            @skip_lf = true # a CRLF split across chunks
          end
        end
        start = i + 1
      end
      @buf = buf.byteslice(start, buf.bytesize - start)
      out
    end

    private

    def line(raw, out)
      text = raw.force_encoding(Encoding::UTF_8).scrub
      if @first_line
        @first_line = false
        text = text.delete_prefix("\uFEFF")
      end
      if text.empty?
        out << Message.new(id: @last_event_id.dup, event: @event.empty? ? "message" : @event, data: @data.join("\n")) unless @data.empty?
        @data = []
        @event = +""
        return
      end
      return if text.start_with?(":") # a comment: the keep-alive

      field, colon, value = text.partition(":")
      value = value.delete_prefix(" ") unless colon.empty?
      case field
      when "event" then @event = value
      when "data" then @data << value
      when "id" then @last_event_id = value unless value.include?("\0")
      when "retry" then @retry = value.to_i if value.match?(/\A[0-9]+\z/)
      end
    end
  end
end
