// A Server-Sent Events parser (the WHATWG "event stream interpretation"),
// fed decoded text in chunks of any size: a line or a UTF-8 character may be
// split across chunks, lines may end in LF, CRLF or CR.

/** One dispatched message of an event stream. */
export interface SseMessage {
  /** The last event ID at dispatch (the stream's, so it carries over). */
  id: string;
  /** The `event:` field, "message" when absent. */
  event: string;
  /** The `data:` lines joined by "\n". */
  data: string;
}

export class SseParser {
  /** The last `retry:` the stream gave, in milliseconds; null if none. */
  retry: number | null = null;
  /** The last event ID seen (`id:`), dispatched or not. */
  lastEventId = "";

  private buf = "";
  private skipLF = false;
  private started = false;
  private event = "";
  private data: string[] = [];

  /** Parses a chunk and returns the messages it completes, in order. */
  feed(chunk: string): SseMessage[] {
    if (!this.started && chunk.length > 0) {
      this.started = true;
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
    }
    const out: SseMessage[] = [];
    let text = this.buf + chunk;
    let i = 0;
    if (this.skipLF && text.length > 0) {
      if (text[0] === "\n") i = 1;
      this.skipLF = false;
    }
    let start = i;
    for (; i < text.length; i++) {
      const c = text[i];
      if (c !== "\n" && c !== "\r") continue;
      this.line(text.slice(start, i), out);
      if (c === "\r") {
        if (i + 1 < text.length) {
          if (text[i + 1] === "\n") i++;
        } else {
          this.skipLF = true; // a CRLF split across chunks
        }
      }
      start = i + 1;
    }
    this.buf = text.slice(start);
    text = "";
    return out;
  }

  private line(line: string, out: SseMessage[]): void {
    if (line === "") {
      if (this.data.length > 0) {
        out.push({ id: this.lastEventId, event: this.event || "message", data: this.data.join("\n") });
      }
      this.data = [];
      this.event = "";
      return;
    }
    if (line[0] === ":") return; // a comment: the keep-alive
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value[0] === " ") value = value.slice(1);
    switch (field) {
      case "event":
        this.event = value;
        break;
      case "data":
        this.data.push(value);
        break;
      case "id":
        if (!value.includes("\0")) this.lastEventId = value;
        break;
      case "retry":
        if (/^[0-9]+$/.test(value)) this.retry = Number(value);
        break;
    }
  }
}
