"""A packet capture inside a lab host's network namespace, streamed back packet by packet, with its pcap kept."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from chaos.errors import ChaosError, LabError
from chaos.host import Host, RemoteProcess
from chaos.observe import analysis
from chaos.observe.analysis import VipRef
from chaos.observe.packets import Advert, Arp, Packet, from_record
from chaos_inlab import protocol as inlab

DEFAULT_FILTER = inlab.CAPTURE_FILTER
"""VRRP and CARP (IP protocol 112) and ARP: what failover analysis needs, and little else."""

CAPTURER = inlab.CAPTURE
REMOTE_DIRECTORY = "/tmp/chaos-capture"
START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0


class Capture:
    """Sniffs in one lab host's namespace (scapy, kernel timestamps) while a test runs.

    Use it as a context manager, usually through `Lab.capture`. Packets arrive while the
    capture runs (``packets``); on exit the pcap is copied out to ``pcap`` for a person to
    open in Wireshark. Run it on a host that survives the fault (the client, not the
    master): a bridge floods VRRP multicast and gratuitous ARP to every host on the network.

    Example::

        with lab.capture("client", directory=tmp_path) as capture:
            lab.hosts["lb1"].kill()
            www.wait_owner("lb2", within="10s")
        capture.failovers(www)[0].transition.gap        # the backup's Master_Down_Interval
        # 3.61
        capture.pcap
        # PosixPath('/tmp/pytest-of-root/.../pair-client-1.pcap')
    """

    def __init__(
        self,
        host: Host,
        subnet: str,
        pcap_path: str | Path,
        origin: float,
        names_by_ip: Mapping[str, str] | None = None,
        bpf_filter: str = DEFAULT_FILTER,
    ) -> None:
        self.host = host
        self.subnet = subnet
        self.pcap_path = Path(pcap_path)
        self.origin = origin
        self.bpf_filter = bpf_filter
        self.pcap: Path | None = None  # set once the pcap has been copied out
        self.log: list[str] = []  # what the in-lab side said besides packets (warnings, errors)
        self.seen_by_capturer: int | None = None  # packets the in-lab side wrote to the pcap
        self._names_by_ip = dict(names_by_ip or {})
        self._names_by_mac: dict[str, str] = {}
        self._remote = f"{REMOTE_DIRECTORY}/{uuid.uuid4().hex[:12]}.pcap"
        self._packets: list[Packet] = []
        self._lock = threading.Lock()
        self._process: RemoteProcess | None = None
        self._is_sniffing = False  # the capturer said its socket is open
        self._is_stopped = False

    def __repr__(self) -> str:
        state = "stopped" if self._is_stopped else "running" if self.is_running else "not started"
        return f"<Capture on {self.host.name} {self.subnet} {state} packets={len(self._packets)}>"

    # -- life ---------------------------------------------------------------------------

    def __enter__(self) -> Capture:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    @property
    def path(self) -> Path | None:
        """The kept pcap, like ``pcap`` (the name the report reads); None until the capture stopped and copied it out."""
        return self.pcap

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.is_ready and self._process.is_running and not self._is_stopped

    def start(self) -> Capture:
        """Start sniffing; returns once the socket is open, so nothing sent afterwards is missed.

        Raises:
            LabError: the capture did not start; the message holds what it printed.
        """
        if self._process is not None:
            raise LabError(f"{self!r} was already started; make a new capture for another run")
        argv = inlab.capture_argv(self.subnet, self._remote, self.bpf_filter)
        self._process = RemoteProcess(
            self.host,
            argv,
            self._take,
            ready=lambda _line: self._is_sniffing,
            on_end=self._ended,
            name=f"packet capture on {self.host.name} ({self.subnet})",
        )
        self._process.start().wait_ready(START_TIMEOUT)
        return self

    def stop(self) -> Path | None:
        """Stop sniffing and copy the pcap out; returns its path (None if the host's container is gone). Safe to call twice."""
        if self._is_stopped or self._process is None:
            return self.pcap
        self._is_stopped = True
        # A host that is down took the capture with it; its pcap is still in the container.
        self._process.stop("INT", STOP_TIMEOUT)
        try:
            content = self.host.read_file(self._remote)
        except ChaosError as exc:
            self.log.append(f"pcap not copied out: {exc}")
            return None
        self.pcap_path.parent.mkdir(parents=True, exist_ok=True)
        self.pcap_path.write_bytes(content)
        self.pcap = self.pcap_path
        return self.pcap

    def _ended(self, process: RemoteProcess) -> None:
        if process.error is not None:
            self.log.append(f"capture stream ended: {type(process.error).__name__}: {process.error}")

    def _take(self, line: str) -> None:
        record = inlab.parse_capture_line(line)
        if record is None:
            if line.strip():
                self.log.append(line.rstrip())
            return
        if record.get("event") == inlab.STARTED:
            self._is_sniffing = True
        elif record.get("event") == inlab.STOPPED:
            self.seen_by_capturer = int(record.get("packets", 0))
        else:
            packet = from_record(record, self.origin, self._names_by_ip, self._names_by_mac)
            if packet is None:
                return
            if isinstance(packet, Advert) and packet.source != packet.address and packet.mac:
                self._names_by_mac[packet.mac] = packet.source  # a router's MAC names its gratuitous ARPs
            with self._lock:
                self._packets.append(packet)

    # -- what it saw ----------------------------------------------------------------------

    @property
    def packets(self) -> list[Packet]:
        """Every advert and ARP seen so far, in arrival order (times on the lab clock)."""
        with self._lock:
            return list(self._packets)

    def adverts(self, vip: VipRef | None = None) -> list[Advert]:
        """VRRP/CARP adverts, for one VIP (a handle or a router id) when given, in time order."""
        return analysis.adverts_of(self.packets, vip)

    def arps(self, gratuitous: bool | None = None) -> list[Arp]:
        """ARP packets (only gratuitous ones with ``gratuitous=True``), in time order."""
        return analysis.arps_of(self.packets, gratuitous)

    def transitions(self, vip: VipRef) -> list[analysis.Transition]:
        """Changes of master for a VIP (a handle or a router id); see `chaos.observe.analysis.transitions`."""
        return analysis.transitions(self.packets, vip)

    def split_brains(self, vip: VipRef) -> list[analysis.SplitBrain]:
        """Intervals with two or more masters for a VIP (a handle or a router id); see `chaos.observe.analysis.split_brains`."""
        return analysis.split_brains(self.packets, vip)

    def failovers(self, vip: VipRef) -> list[analysis.Failover]:
        """Changes of master with the first gratuitous ARP (for the VIP's address, given a handle); see `chaos.observe.analysis.failovers`."""
        return analysis.failovers(self.packets, vip)
