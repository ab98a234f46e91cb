"""The userspace link shaper (``chaos-shaper``): delays, jitters, duplicates, corrupts and reorders the packets of one NFQUEUE queue.

It stands in for `tc netem` where the kernel has no sch_netem. An iptables rule sends the
packets to shape to queue N (`-m mark ! --mark BIT/BIT -j NFQUEUE --queue-num N --queue-bypass`);
the shaper holds each one until its release time, sets BIT in its mark and hands it back with
NF_REPEAT, so the packet runs through the hook again and skips this rule but not the rules of
other faults. Its semantics follow netem's:

    --delay MS      hold every packet MS milliseconds
    --jitter MS     plus a uniform variation in [-MS, +MS] (packets may then overtake each other, as with netem)
    --duplicate P   send P percent of packets twice (the copy leaves through a raw socket carrying the mark)
    --corrupt P     flip one random bit after the IP header of P percent of packets (the peer's checksum catches it)
    --reorder P     send P percent of packets at once, ahead of the delayed rest (needs --delay)
    --limit N       hold at most N packets; more are dropped, as netem's queue limit does

`chaos-shaper --daemon --pidfile F ...` returns once the queue is bound (exit 0), or prints why
it could not bind (exit 1), and shapes in the background. SIGTERM releases every held packet
at once and exits; its counts go to the log file. The runner writes the command line with
`chaos_inlab.protocol.shaper_argv`. fnfqueue is imported only when shaping starts.
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import os
import random
import signal
import socket
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any

from chaos_inlab.protocol import SHAPER

SO_MARK = 36

Held = tuple[float, int, Any, bytes | None, bytes | None]
"""A held packet: (release time, sequence, fnfqueue packet, new payload or None, payload of its duplicate or None)."""


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=SHAPER)
    parser.add_argument("--queue", type=int, required=True)
    parser.add_argument("--mark", type=lambda s: int(s, 0), required=True, help="the bit set on shaped packets, e.g. 0x10000")
    parser.add_argument("--delay", type=float, default=0.0, help="milliseconds")
    parser.add_argument("--jitter", type=float, default=0.0, help="milliseconds")
    parser.add_argument("--duplicate", type=float, default=0.0, help="percent")
    parser.add_argument("--corrupt", type=float, default=0.0, help="percent")
    parser.add_argument("--reorder", type=float, default=0.0, help="percent")
    parser.add_argument("--limit", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--pidfile")
    parser.add_argument("--log", default="/dev/null")
    parser.add_argument("--daemon", action="store_true")
    args = parser.parse_args(argv)
    for name in ("duplicate", "corrupt", "reorder"):
        if not 0 <= getattr(args, name) <= 100:
            parser.error(f"--{name} is a percentage, 0..100")
    if args.delay < 0 or args.jitter < 0:
        parser.error("--delay and --jitter are milliseconds, >= 0")
    if args.reorder and not args.delay:
        parser.error("--reorder needs --delay: reordered packets go ahead of delayed ones")
    return args


class Shaper:
    """Receives packets from the queue (one thread) and releases them on time (another).

    Every verdict is given under one lock, so fnfqueue's netlink socket never has two writers.
    """

    def __init__(self, args: argparse.Namespace, queue: int) -> None:
        import fnfqueue

        self.fnfqueue: Any = fnfqueue
        self.args = args
        self.rng = random.Random(args.seed)
        self.held: list[Held] = []
        self.sequence = itertools.count()
        self.wakeup = threading.Condition()
        self.stopping = False
        self.counts = {"packets": 0, "delayed": 0, "duplicated": 0, "corrupted": 0, "reordered": 0, "dropped_limit": 0, "errors": 0}
        self.raw: socket.socket | None = None
        if args.duplicate:
            self.raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
        self.connection: Any = fnfqueue.Connection(alloc_size=64, packet_size=70000)
        bound = self.connection.bind(queue)
        bound.set_mode(fnfqueue.MAX_PAYLOAD, fnfqueue.COPY_PACKET)
        bound.set_maxlen(args.limit + 64)

    def receive(self) -> None:
        fnfqueue = self.fnfqueue
        while True:
            try:
                for packet in self.connection:
                    self.take(packet)
                return
            except fnfqueue.BufferOverflowException:
                self.counts["errors"] += 1
                self.connection.reset()

    def take(self, packet: Any) -> None:
        args, rng = self.args, self.rng
        self.counts["packets"] += 1
        if len(self.held) >= args.limit:
            self.counts["dropped_limit"] += 1
            with self.wakeup:
                packet.drop()
            return
        payload = None
        if args.corrupt and rng.random() * 100 < args.corrupt:
            payload = corrupt(packet.payload, rng)
            if payload is not None:
                self.counts["corrupted"] += 1
        duplicate = None
        if args.duplicate and rng.random() * 100 < args.duplicate:
            duplicate = payload if payload is not None else packet.payload
            self.counts["duplicated"] += 1
        delay: float = args.delay
        if args.reorder and rng.random() * 100 < args.reorder:
            delay = 0.0
            self.counts["reordered"] += 1
        elif args.jitter:
            delay = max(0.0, delay + rng.uniform(-args.jitter, args.jitter))
        if delay:
            self.counts["delayed"] += 1
        with self.wakeup:
            heapq.heappush(self.held, (time.monotonic() + delay / 1000.0, next(self.sequence), packet, payload, duplicate))
            self.wakeup.notify()

    def release_loop(self) -> None:
        with self.wakeup:
            while True:
                if self.stopping:
                    while self.held:
                        self.release(heapq.heappop(self.held))
                    return
                if not self.held:
                    self.wakeup.wait()
                    continue
                wait = self.held[0][0] - time.monotonic()
                if wait > 0:
                    self.wakeup.wait(wait)
                    continue
                self.release(heapq.heappop(self.held))

    def release(self, item: Held) -> None:
        _, _, packet, payload, duplicate = item
        fnfqueue = self.fnfqueue
        try:
            try:
                mark = packet.mark
            except fnfqueue.NoSuchAttributeException:
                mark = 0
            packet.mark = mark | self.args.mark
            mangle = fnfqueue.MANGLE_MARK
            if payload is not None:
                packet.payload = payload
                mangle |= fnfqueue.MANGLE_PAYLOAD
            packet.verdict(fnfqueue.REPEAT, mangle)
            if duplicate is not None:
                self.send_copy(duplicate, mark | self.args.mark)
        except (OSError, fnfqueue.PacketInvalidException):
            self.counts["errors"] += 1

    def send_copy(self, data: bytes, mark: int) -> None:
        """Send a copy through a raw socket, marked so that this shaper lets it pass."""
        if len(data) < 20 or self.raw is None:
            return
        destination = socket.inet_ntoa(data[16:20])
        try:
            self.raw.setsockopt(socket.SOL_SOCKET, SO_MARK, mark)
            self.raw.sendto(data, (destination, 0))
        except OSError:
            # A copy that cannot be routed (multicast without a route) is a lost duplicate, nothing more.
            self.counts["errors"] += 1

    def stop(self) -> None:
        with self.wakeup:
            self.stopping = True
            self.wakeup.notify()


def corrupt(data: bytes, rng: random.Random) -> bytes | None:
    """The packet with one random bit flipped after the IP header, or None when it has no payload."""
    header = (data[0] & 0x0F) * 4 if data else 0
    if len(data) <= header:
        return None
    position = rng.randrange(header, len(data))
    flipped = bytearray(data)
    flipped[position] ^= 1 << rng.randrange(8)
    return bytes(flipped)


def daemonize(pidfile: str | None, log: str) -> int:
    """Fork; the child carries on, the parent exits once the child says it is bound (or why it is not)."""
    read_end, write_end = os.pipe()
    if os.fork():
        os.close(write_end)
        with os.fdopen(read_end) as pipe:
            answer = pipe.read()
        if answer == "ready":
            sys.exit(0)
        print(answer.strip() or f"{SHAPER}: the shaper died before binding its queue", file=sys.stderr)
        sys.exit(1)
    os.close(read_end)
    os.setsid()
    # Docker's exec returns only when every holder of its stdout has closed it.
    null = os.open("/dev/null", os.O_RDONLY)
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    if pidfile:
        with open(pidfile, "w") as f:
            f.write(f"{os.getpid()}\n")
    return write_end


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    # Signals go to the main thread's sigwait only, never to a thread holding packets.
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    ready = daemonize(args.pidfile, args.log) if args.daemon else None
    try:
        shaper = Shaper(args, args.queue)
    except Exception as exc:  # report any binding failure to the waiting parent, then exit
        message = f"{SHAPER}: cannot shape queue {args.queue}: {type(exc).__name__}: {exc}"
        if ready is not None:
            os.write(ready, message.encode())
        print(message, file=sys.stderr)
        if args.pidfile:
            os.unlink(args.pidfile)
        return 1
    threading.Thread(target=shaper.receive, daemon=True).start()
    releaser = threading.Thread(target=shaper.release_loop)
    releaser.start()
    print(f"{SHAPER}: shaping queue {args.queue} mark {args.mark:#x}: {' '.join(argv)}", flush=True)
    if ready is not None:
        os.write(ready, b"ready")
        os.close(ready)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    shaper.stop()
    releaser.join(timeout=5)
    shaper.connection.close()
    print(f"{SHAPER}: stopped: {shaper.counts}", flush=True)
    if args.pidfile and os.path.exists(args.pidfile):
        os.unlink(args.pidfile)
    return 0


if __name__ == "__main__":
    sys.exit(main())
