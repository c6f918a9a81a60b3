"""A Server-Sent Events parser (the WHATWG "event stream interpretation"),
fed raw bytes in chunks of any size: a line or a UTF-8 character may be split
across chunks, lines may end in LF, CRLF or CR."""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional


@dataclass
class SSEMessage:
    """One dispatched message: id is the stream's last event ID at dispatch,
    event the ``event:`` field ("message" when absent), data the ``data:``
    lines joined by newlines."""
    id: str
    event: str
    data: str


class SSEParser:
    def __init__(self) -> None:
        #: The last ``retry:`` the stream gave, in milliseconds; None if none.
        self.retry: Optional[int] = None
        #: The last event ID seen (``id:``), dispatched or not.
        self.last_event_id = ""
        self._buf = b""
        self._skip_lf = False
        self._first_line = True
        self._event = ""
        self._data: List[str] = []

    def feed(self, chunk: bytes) -> List[SSEMessage]:
        """Parses a chunk and returns the messages it completes, in order.
        CR and LF never occur inside a UTF-8 sequence, so lines are cut on
        bytes and decoded whole."""
        out: List[SSEMessage] = []
        buf = self._buf + chunk
        i = 0
        if self._skip_lf and buf:
            if buf[:1] == b"\n":
                i = 1
            self._skip_lf = False
        start = i
        n = len(buf)
        while i < n:
            c = buf[i]
            if c != 0x0A and c != 0x0D:
                i += 1
                continue
            self._line(buf[start:i], out)
            if c == 0x0D:
                if i + 1 < n:
                    if buf[i + 1] == 0x0A:
                        i += 1
                else:
                    self._skip_lf = True  # a CRLF split across chunks
            i += 1
            start = i
        self._buf = buf[start:]
        return out

    def _line(self, raw: bytes, out: List[SSEMessage]) -> None:
        line = raw.decode("utf-8", errors="replace")
        if self._first_line:
            self._first_line = False
            if line.startswith("\ufeff"):
                line = line[1:]
        if line == "":
            if self._data:
                out.append(SSEMessage(id=self.last_event_id, event=self._event or "message", data="\n".join(self._data)))
            self._data = []
            self._event = ""
            return
        if line[0] == ":":
            return  # a comment: the keep-alive
        field, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if field == "event":
            self._event = value
        elif field == "data":
            self._data.append(value)
        elif field == "id":
            if "\0" not in value:
                self.last_event_id = value
        elif field == "retry":
            if value.isascii() and value.isdigit():
                self.retry = int(value)
