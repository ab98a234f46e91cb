"""The in-lab load generator (``chaos-flow``): paced requests at a fixed rate, one compact line per completed request.

    chaos-flow http|tcp|udp|icmp ADDRESS [--port P] --rate R [--timeout S] [--count N | --duration S]
               [--expect NAME,...] [--names MAC=NAME,...]

Every request has its own socket (ICMP: its own echo id/sequence) and its own deadline, so a
slow or lost answer never delays the next send. Sends follow a fixed schedule (start + i / rate);
the real send time is what gets recorded, so a late send shows as jitter, never as a false figure.

Output (stdout), one line each (formats in `chaos_inlab.protocol`):
    # chaos-flow 1 pid=PID start=EPOCH protocol=P target=ADDRESS:PORT rate=R timeout=S
    SEQ SENT_US LATENCY_US OUTCOME RESPONDER      (per completed request, in completion order)
    # end sent=N completed=N stopped_us=N max_late_us=N
SENT_US is the send time in microseconds after START (an epoch on the kernel clock the lab
shares with the runner); LATENCY_US is -1 without an answer; OUTCOME is one letter:
o ok, t timeout, r refused, x reset, w wrong answer, u unreachable, e other error;
RESPONDER is the host that answered, or - (ICMP names it by the reply's source MAC, from --names).
STOPPED_US is when sending stopped; MAX_LATE_US the worst lateness of a send against the schedule.
A quiet flow writes "# alive" every few seconds.

SIGTERM (or --count/--duration) stops sending; requests in flight finish or time out, then the
end line is printed. --max-duration (default 3600 s) bounds a flow nobody stops.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import errno
import os
import selectors
import signal
import socket
import struct
import sys
import time
from collections.abc import Sequence
from typing import TextIO

from chaos_inlab.protocol import (
    DEFAULT_PORTS,
    ERROR,
    FLOW,
    HOST_HEADER,
    NOBODY,
    OK,
    REFUSED,
    RESET,
    TIMEOUT,
    UNREACHABLE,
    WRONG,
    format_flow_alive,
    format_flow_end,
    format_flow_record,
    format_flow_start,
    name_in_answer,
)

FLUSH_INTERVAL = 0.05  # seconds between writes: streamed, without one syscall per record
HEARTBEAT_INTERVAL = 5.0
ETH_P_IP = 0x0800
PACKET_HOST = 0
IP_RECVERR = 11
ERRNO_OUTCOME = {
    errno.ECONNREFUSED: REFUSED,
    errno.ECONNRESET: RESET,
    errno.EPIPE: RESET,
    errno.ETIMEDOUT: TIMEOUT,
    errno.EHOSTUNREACH: UNREACHABLE,
    errno.ENETUNREACH: UNREACHABLE,
    errno.EHOSTDOWN: UNREACHABLE,
}


def outcome_of(code: int | None) -> str:
    """The outcome letter of a socket error number."""
    return ERRNO_OUTCOME.get(code or 0, ERROR)


class Request:
    __slots__ = ("data", "deadline", "done", "sent", "seq", "sock", "started")

    def __init__(self, seq: int, sent: float, started: float, deadline: float) -> None:
        self.seq = seq
        self.sent = sent  # epoch, for the record
        self.started = started  # perf_counter, for the latency
        self.deadline = deadline
        self.sock: socket.socket | None = None
        self.data = b""
        self.done = False


class Flow:
    def __init__(self, args: argparse.Namespace, out: TextIO | None = None) -> None:
        self.args = args
        self.protocol: str = args.protocol
        self.address: str = args.address
        self.port: int = args.port if args.port is not None else DEFAULT_PORTS[args.protocol]
        self.expect = set(filter(None, (args.expect or "").split(",")))
        self.names = dict(pair.split("=", 1) for pair in filter(None, (args.names or "").lower().split(",")))
        self.output = out if out is not None else sys.stdout
        self.selector = selectors.DefaultSelector()
        self.inflight: collections.deque[Request] = collections.deque()  # send order == deadline order (one timeout for all)
        self.by_icmp_seq: dict[int, Request] = {}
        self.out: list[str] = []
        self.running = True
        self.sent = 0
        self.completed = 0
        self.max_late = 0.0
        self.start_epoch = time.time()
        self.stopped: float | None = None  # epoch when sending stopped
        self.last_write = 0.0
        self.http_request = f"GET / HTTP/1.0\r\nHost: {self.address}\r\nUser-Agent: {FLOW}\r\n\r\n".encode()
        if self.protocol == "icmp":
            self.icmp_id = os.getpid() & 0xFFFF
            self.icmp_send = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
            # This socket also receives every ICMP packet; a tiny buffer that nobody reads drops them.
            self.icmp_send.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
            self.icmp_send.setblocking(False)
            # A packet socket tells the reply's source MAC, which names the host that answered.
            self.icmp_recv = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_IP))
            self.icmp_recv.setblocking(False)
            self.selector.register(self.icmp_recv, selectors.EVENT_READ, None)

    # -- the loop ------------------------------------------------------------------------

    def run(self) -> None:
        args = self.args
        interval = 1.0 / args.rate
        self.start_epoch = time.time()
        start = time.perf_counter()
        limit = args.max_duration if args.duration is None else min(args.duration, args.max_duration)
        count = args.count if args.count is not None else int(limit * args.rate) + 1
        self.emit(format_flow_start(os.getpid(), self.start_epoch, self.protocol, self.address, self.port, args.rate, args.timeout))
        self.flush()
        last_flush = start
        while True:
            now = time.perf_counter()
            if self.running:
                # Send everything due: a late loop catches up rather than skipping requests.
                while self.sent < count and start + self.sent * interval <= now:
                    self.max_late = max(self.max_late, now - (start + self.sent * interval))
                    self.send(self.sent, now)
                    self.sent += 1
                    now = time.perf_counter()
                if self.sent >= count or now - start >= limit:
                    self.stop()
            self.expire(now)
            if not self.running and not self.inflight:
                break
            if now - last_flush >= FLUSH_INTERVAL:
                if now - self.last_write >= HEARTBEAT_INTERVAL:
                    self.emit(format_flow_alive())  # a quiet flow (low rate) still shows it lives
                self.flush()
                last_flush = now
            wake = [last_flush + FLUSH_INTERVAL]
            if self.running:
                wake.append(start + self.sent * interval)
            if self.inflight:
                wake.append(self.inflight[0].deadline)
            for key, mask in self.selector.select(max(0.0, min(wake) - time.perf_counter())):
                if key.data is None:
                    self.icmp_replies()
                else:
                    self.ready(key.data, mask)
        stopped = self.stopped if self.stopped is not None else time.time()
        self.emit(format_flow_end(self.sent, self.completed, round((stopped - self.start_epoch) * 1e6), round(self.max_late * 1e6)))
        self.flush()

    def stop(self) -> None:
        if self.running:
            self.running = False
            self.stopped = time.time()

    def emit(self, line: str) -> None:
        self.out.append(line + "\n")

    def flush(self) -> None:
        if self.out:
            try:
                self.output.write("".join(self.out))
                self.output.flush()
            except BrokenPipeError:
                # Nobody reads any more (the runner went away): stop the flow.
                raise SystemExit(0) from None
            self.out = []
            self.last_write = time.perf_counter()

    def finish(self, request: Request, outcome: str, responder: str = NOBODY) -> None:
        if request.done:
            return
        request.done = True
        ended = time.perf_counter()
        if request.sock is not None:
            with contextlib.suppress(KeyError, ValueError):
                self.selector.unregister(request.sock)
            if outcome == TIMEOUT:
                # Abandoned mid-handshake: reset rather than leave TIME_WAIT sockets behind.
                with contextlib.suppress(OSError):
                    request.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            request.sock.close()
            request.sock = None
        if outcome == OK and self.expect and responder not in self.expect:
            outcome = WRONG
        latency = -1 if outcome == TIMEOUT else round((ended - request.started) * 1e6)
        self.completed += 1
        sent_us = round((request.sent - self.start_epoch) * 1e6)
        self.emit(format_flow_record(request.seq, sent_us, latency, outcome, "" if responder == NOBODY else responder))

    def expire(self, now: float) -> None:
        while self.inflight and (self.inflight[0].done or self.inflight[0].deadline <= now):
            request = self.inflight.popleft()
            if not request.done:
                if self.protocol == "icmp":
                    self.by_icmp_seq.pop(request.seq & 0xFFFF, None)
                self.finish(request, TIMEOUT)

    # -- sending -------------------------------------------------------------------------

    def send(self, seq: int, now: float) -> None:
        request = Request(seq, time.time(), now, now + self.args.timeout)
        self.inflight.append(request)
        try:
            if self.protocol == "icmp":
                self.send_icmp(request)
                return
            kind = socket.SOCK_DGRAM if self.protocol == "udp" else socket.SOCK_STREAM
            sock = socket.socket(socket.AF_INET, kind | socket.SOCK_NONBLOCK)
            request.sock = sock
            if self.protocol == "udp":
                # Not connected: a host answering for a VIP replies from its own address. IP_RECVERR
                # still turns an ICMP port unreachable into ECONNREFUSED on this socket.
                sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
                sock.sendto(b"?", (self.address, self.port))
                self.selector.register(sock, selectors.EVENT_READ, request)
            else:
                code = sock.connect_ex((self.address, self.port))
                if code not in (0, errno.EINPROGRESS):
                    self.finish(request, outcome_of(code))
                    return
                self.selector.register(sock, selectors.EVENT_WRITE, request)
        except OSError as exc:
            self.finish(request, outcome_of(exc.errno))

    def send_icmp(self, request: Request) -> None:
        seq = request.seq & 0xFFFF
        header = struct.pack("!BBHHH", 8, 0, 0, self.icmp_id, seq)
        payload = FLOW.encode() + struct.pack("!I", request.seq)
        checksum = icmp_checksum(header + payload)
        packet = struct.pack("!BBHHH", 8, 0, checksum, self.icmp_id, seq) + payload
        self.by_icmp_seq[seq] = request
        self.icmp_send.sendto(packet, (self.address, 0))

    # -- answers -------------------------------------------------------------------------

    def ready(self, request: Request, mask: int) -> None:
        if request.done or request.sock is None:
            return
        sock = request.sock
        if mask & selectors.EVENT_WRITE:
            code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if code:
                self.finish(request, outcome_of(code))
                return
            try:
                if self.protocol == "http":
                    sock.send(self.http_request)
            except OSError as exc:
                self.finish(request, outcome_of(exc.errno))
                return
            self.selector.modify(sock, selectors.EVENT_READ, request)
            return
        try:
            chunk = sock.recv(4096)
        except BlockingIOError:
            return
        except OSError as exc:
            self.finish(request, outcome_of(exc.errno))
            return
        if self.protocol == "udp":
            self.answered(request, chunk)
        elif chunk:
            request.data += chunk
            if self.protocol == "tcp" and b"\n" in request.data:
                self.answered(request, request.data)
            elif len(request.data) > 65536:
                self.finish(request, WRONG)
        else:  # end of stream
            self.answered(request, request.data)

    def answered(self, request: Request, data: bytes) -> None:
        outcome, responder = parse_http(data) if self.protocol == "http" else parse_name(data)
        self.finish(request, outcome, responder.replace(" ", "_") or NOBODY)

    def icmp_replies(self) -> None:
        while True:
            try:
                packet, where = self.icmp_recv.recvfrom(2048)
            except BlockingIOError:
                return
            if where[2] != PACKET_HOST or len(packet) < 28 or packet[9] != 1:
                continue
            header_len = (packet[0] & 0x0F) * 4
            kind, _, _, ident, seq = struct.unpack_from("!BBHHH", packet, header_len)
            if kind != 0 or ident != self.icmp_id or socket.inet_ntoa(packet[12:16]) != self.address:
                continue
            request = self.by_icmp_seq.pop(seq, None)
            if request is not None:
                mac = ":".join(f"{b:02x}" for b in where[4][:6])
                self.finish(request, OK, self.names.get(mac, mac))


def parse_name(data: bytes) -> tuple[str, str]:
    """(outcome, responder) of a TCP or UDP answer: the responder's name on the first line."""
    name = name_in_answer(data)
    return (OK, name) if name else (WRONG, NOBODY)


def parse_http(data: bytes) -> tuple[str, str]:
    """(outcome, responder) of an HTTP/1.0 answer: a 2xx/3xx status, named by X-Chaos-Host or the body."""
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split()
    if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
        return WRONG, NOBODY
    responder = ""
    for line in lines[1:]:
        key, _, value = line.partition(":")
        if key.strip().lower() == HOST_HEADER.lower():
            responder = value.strip()
    if not responder:
        first = name_in_answer(body)
        responder = first if 0 < len(first) <= 64 else NOBODY
    return (OK if parts[1][0] in "23" else WRONG), responder


def icmp_checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def parser() -> argparse.ArgumentParser:
    found = argparse.ArgumentParser(prog=FLOW, description="paced requests from inside the lab")
    found.add_argument("protocol", choices=sorted(DEFAULT_PORTS))
    found.add_argument("address")
    found.add_argument("--port", type=int)
    found.add_argument("--rate", type=float, required=True, help="requests per second")
    found.add_argument("--timeout", type=float, default=1.0, help="seconds each request may take")
    found.add_argument("--count", type=int, help="stop after this many requests")
    found.add_argument("--duration", type=float, help="stop sending after this many seconds")
    found.add_argument("--max-duration", type=float, default=3600.0, help="stop sending after this many seconds, whatever else")
    found.add_argument("--expect", help="comma-separated responders that count as a right answer (default: any)")
    found.add_argument("--names", help="comma-separated MAC=NAME pairs naming ICMP responders")
    return found


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """chaos-flow's options (exits with a usage error, as argparse does)."""
    arguments = parser()
    args = arguments.parse_args(argv)
    if args.rate <= 0 or args.timeout <= 0:
        arguments.error("--rate and --timeout must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    flow = Flow(parse_args(argv))
    signal.signal(signal.SIGTERM, lambda signum, frame: flow.stop())
    signal.signal(signal.SIGINT, lambda signum, frame: flow.stop())
    flow.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
