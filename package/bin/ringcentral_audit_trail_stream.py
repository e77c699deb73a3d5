"""splunkd's event stream, written a page at a time: the bytes splunklib writes, at a fraction of the cost.

splunklib's ``Event.write_to`` builds an ElementTree element per event, serialises it through a
Python-level writer and flushes the stream after every event (one system call per event). This
module writes exactly the same bytes (``event_xml`` is checked byte for byte against splunklib
by a property test), one flush per page, in chunks of bounded size so a page of large records
is never held twice as XML text.

It also makes a page *handed on* mean *read by splunkd*. Data written to a pipe sits in the
pipe's buffer (up to 64 KiB on Linux) until splunkd reads it; if splunkd closes the pipe
(restart, stop) before reading, those events are gone, while the collector, told they were
written, moves the checkpoint past them. So after each flush ``PipeDrain`` waits (bounded)
until the pipe is empty: a pipe whose reader is gone, or that stays unread too long, raises
``OutputClosed`` before the checkpoint can move, and the next run collects those records
again (what splunkd did read before it closed is then indexed twice: bounded duplicates
instead of loss). Where the output is not a pipe (a file, a terminal) or the platform has no
``FIONREAD`` on pipes (Windows, macOS), a flush is all there is.
"""

from __future__ import annotations

import io
import os
import sys
import time
from typing import IO, Any, Iterable, List, Optional

# splunklib's Event.write_to writes <event> with attribute unbroken="1" (stanza unset), its
# subelements in this order: time, source, sourcetype, index, host, data, done.
CHUNK_CHARS = 1 << 16  # write a page in pieces of about this many characters
DRAIN_TIMEOUT = 120.0  # seconds splunkd may take to read what one page left in the pipe


class OutputClosed(Exception):
    """splunkd stopped reading the event stream (closed the pipe or left it unread): the events
    it had not read are not indexed, so the checkpoint must not move past them.

    Deliberately not an AuditTrailError: the collector saves nothing after it (a save could
    record those events as emitted)."""


def escape(text: str) -> str:
    """Text as ElementTree escapes element text (``&``, ``<``, ``>``; nothing else)."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def element(tag: str, text: str) -> str:
    """``<tag>text</tag>`` as ElementTree writes it (``<tag />`` when the text is empty)."""
    return f"<{tag}>{escape(text)}</{tag}>" if text else f"<{tag} />"


def event_head(
    *,
    source: Optional[str],
    sourcetype: Optional[str],
    index: Optional[str],
    host: Optional[str] = None,
) -> str:
    """The elements between an event's time and its data (see ``event_xml``)."""
    fields = (("source", source), ("sourcetype", sourcetype), ("index", index), ("host", host))
    return "".join(element(tag, value) for tag, value in fields if value is not None)


def event_xml(data: str, time_text: Optional[str], head: str) -> str:
    """One event as splunklib's Event(data, time, ...).write_to writes it, before encoding."""
    if "&" in data or "<" in data or ">" in data:
        data = escape(data)
    body = f"<data>{data}</data><done /></event>" if data else "<data /><done /></event>"
    if time_text is None:
        return f'<event unbroken="1">{head}{body}'
    return f'<event unbroken="1">{element("time", time_text)}{head}{body}'


def ascii_xml(text: str) -> str:
    """The text as ElementTree encodes it for splunklib (us-ascii, every other code point as a
    character reference ``&#N;``, lone surrogates included)."""
    if text.isascii():
        return text
    return text.encode("ascii", "xmlcharrefreplace").decode("ascii")


class PipeDrain:
    """Waits until the reader of a pipe (splunkd) has read everything written to it (Linux:
    ``FIONREAD`` on the write end counts the bytes still in the pipe; ``poll`` reports an error
    once the read end is closed). For any other output ``wait`` returns at once."""

    def __init__(self, stream: Any, timeout: float = DRAIN_TIMEOUT) -> None:
        self.timeout = timeout
        self.fd = _pipe_fd(stream)

    def wait(self) -> None:
        if self.fd is None:
            return
        import fcntl
        import select
        import termios
        from array import array

        fd = self.fd
        count = array("i", [0])
        watcher = select.poll()
        watcher.register(fd, select.POLLOUT)
        deadline = time.monotonic() + self.timeout
        pause = 0.0005
        while True:
            for _, flags in watcher.poll(0):
                if flags & (select.POLLERR | select.POLLHUP):
                    raise OutputClosed(
                        "splunkd closed the event stream (restarting or stopping?) before it had "
                        "read the last events written: the checkpoint is not moved past them, the "
                        "next run collects them again"
                    )
            fcntl.ioctl(fd, termios.FIONREAD, count, True)
            if count[0] <= 0:
                return
            if time.monotonic() >= deadline:
                raise OutputClosed(
                    f"splunkd left {count[0]} bytes of events unread for {self.timeout:g} s "
                    "(its queues may be blocked): the checkpoint is not moved past them, the next "
                    "run collects them again"
                )
            time.sleep(pause)
            pause = min(pause * 2, 0.05)


def _pipe_fd(stream: Any) -> Optional[int]:
    """The descriptor of ``stream`` when it is a pipe this platform can watch, else None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        fd = stream.fileno()
        import stat

        return fd if stat.S_ISFIFO(os.fstat(fd).st_mode) else None
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return None


class PageWriter:
    """Writes pages of events to one text stream (splunklib's EventWriter's, which writes only
    text), flushing each page once and, on a pipe, waiting until splunkd has read it."""

    def __init__(self, stream: IO[Any], drain: Optional[PipeDrain] = None) -> None:
        self.stream = stream
        self.drain = drain if drain is not None else PipeDrain(stream)
        self.closed = False

    def write(self, pieces: Iterable[str], header: str = "") -> None:
        """Write ``header`` then every piece (event XML), flush, wait for the reader."""
        if self.closed:
            raise OutputClosed("splunkd closed the event stream earlier in this run")
        try:
            chunk: List[str] = [header] if header else []
            size = len(header)
            for piece in pieces:
                chunk.append(piece)
                size += len(piece)
                if size >= CHUNK_CHARS:
                    self._put("".join(chunk))
                    chunk, size = [], 0
            if chunk:
                self._put("".join(chunk))
            self.stream.flush()
        except BrokenPipeError:
            self._silence()
            raise OutputClosed(
                "splunkd closed the event stream (restarting or stopping?) while events were "
                "written: the checkpoint is not moved past them, the next run collects them again"
            ) from None
        except OutputClosed:
            self._silence()
            raise
        try:
            self.drain.wait()
        except OutputClosed:
            self._silence()
            raise

    def _put(self, text: str) -> None:
        self.stream.write(ascii_xml(text))

    def _silence(self) -> None:
        """After splunkd is gone, later writes (splunklib's closing ``</stream>``, the
        interpreter's final flush) go nowhere instead of failing again."""
        self.closed = True
        try:
            fd = self.stream.fileno()
            devnull = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(devnull, fd)
            finally:
                os.close(devnull)
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            return
        try:  # bytes a buffered stream still holds now go to /dev/null
            self.stream.flush()
        except (OSError, ValueError):
            pass
