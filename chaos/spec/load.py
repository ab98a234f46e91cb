"""Turn YAML files and Python dicts into a validated `Topology`, or one `SpecError` naming every problem.

Nothing here touches Docker: a topology is checked whole before anything is created.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import yaml

from chaos import providers
from chaos.errors import SpecError
from chaos.spec.kinds import kind_of as _kind
from chaos.spec.model import HOST_IMAGE, Attachment, ContainerSpec, HostSpec, NetworkSpec, Topology, VipSpec

CAPABILITIES = frozenset(
    [
        "AUDIT_CONTROL",
        "AUDIT_READ",
        "AUDIT_WRITE",
        "BLOCK_SUSPEND",
        "BPF",
        "CHECKPOINT_RESTORE",
        "CHOWN",
        "DAC_OVERRIDE",
        "DAC_READ_SEARCH",
        "FOWNER",
        "FSETID",
        "IPC_LOCK",
        "IPC_OWNER",
        "KILL",
        "LEASE",
        "LINUX_IMMUTABLE",
        "MAC_ADMIN",
        "MAC_OVERRIDE",
        "MKNOD",
        "NET_ADMIN",
        "NET_BIND_SERVICE",
        "NET_BROADCAST",
        "NET_RAW",
        "PERFMON",
        "SETFCAP",
        "SETGID",
        "SETPCAP",
        "SETUID",
        "SYSLOG",
        "SYS_ADMIN",
        "SYS_BOOT",
        "SYS_CHROOT",
        "SYS_MODULE",
        "SYS_NICE",
        "SYS_PACCT",
        "SYS_PTRACE",
        "SYS_RAWIO",
        "SYS_RESOURCE",
        "SYS_TIME",
        "SYS_TTY_CONFIG",
        "WAKE_ALARM",
    ]
)
_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,30}$")
_NAME_RULE = "a name starts with a lowercase letter and has at most 31 of a-z, 0-9, '_' and '-'"

_TOP_KEYS = ("name", "networks", "hosts", "vips")
_NETWORK_KEYS = ("subnet", "internal")
_HOST_KEYS = ("image", "networks", "containers", "environment", "command", "cap_add", "role")
_ATTACHMENT_KEYS = ("network", "address")
_CONTAINER_KEYS = ("image", "command", "environment", "cap_add")

T = TypeVar("T")



def load_topology(path: str | Path) -> Topology:
    """Load and validate a topology file.

    Args:
        path: a YAML file; its stem names the lab unless the file sets ``name``.

    Raises:
        SpecError: the file is missing, not YAML, or not a valid topology; nothing was created.

    Example (from the repository's root):
        >>> load_topology("suites/keepalived/pair.yaml").hosts["lb1"].networks
        (Attachment(network='front', address=None),)
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError([f"{path}: cannot read the topology file: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise SpecError([f"{path}: not UTF-8 text (byte {exc.start}); save the topology as UTF-8"]) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as exc:
        raise SpecError([f"{path}: {_yaml_problem(exc)}"]) from None
    return topology_from_dict(data, source=str(path), default_name=_name_from_stem(path.stem))


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, which PyYAML would silently overwrite."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str) and key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping", node.start_mark, f"duplicate key {key!r}; each key may appear once", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """``line L, column C: not valid YAML: problem (while ... at line L)``."""
    mark = getattr(exc, "problem_mark", None)
    where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
    problem = getattr(exc, "problem", None) or str(exc)
    context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    started = f" ({context} that starts at line {context_mark.line + 1}, column {context_mark.column + 1})" if context and context_mark else ""
    return f"{where}not valid YAML: {problem}{started}"


def _name_from_stem(stem: str) -> str:
    """A valid lab name made from a file name: lowercase, other characters as '-', a letter first."""
    name = re.sub(r"[^a-z0-9_-]+", "-", stem.lower()).strip("-_")
    name = name if name[:1].isalpha() else f"lab-{name}".rstrip("-")
    return name[:31]


def topology_from_dict(data: object, source: str = "<python>", default_name: str = "lab") -> Topology:
    """Validate ``data`` (the parsed YAML shape) and build a `Topology`.

    Raises:
        SpecError: with one line per problem: ``source: path: what is wrong; what is valid``.

    Example:
        >>> topology = topology_from_dict({"networks": {"front": {}}, "hosts": {"a": {"networks": ["front"]}}})
        >>> topology.name, list(topology.hosts), topology.hosts["a"].image
        ('lab', ['a'], 'chaos/host')
    """
    checker = _Checker(source)
    topology = checker.topology(data, default_name)
    if checker.problems or topology is None:
        raise SpecError(checker.problems)
    return topology


class _Checker:
    """Walks the raw data once, collecting every problem with its path."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.problems: list[str] = []
        # Names declared in the file, valid or not: a reference to a declared but invalid
        # entry is not reported again (its own problem already was).
        self.declared: dict[str, set[str]] = {"networks": set(), "hosts": set()}
        self.address_users: dict[str, str] = {}
        self.raw_attachments: dict[str, tuple[Attachment, ...]] = {}

    def fail(self, path: str, message: str) -> None:
        self.problems.append(f"{self.source}: {path}: {message}" if path else f"{self.source}: {message}")

    # -- generic shapes ---------------------------------------------------------------

    def mapping(self, value: object, path: str, allowed: tuple[str, ...] | None = None) -> dict[str, Any] | None:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(path, f"expected a mapping, got {_kind(value)}")
            return None
        for key in value:
            if not isinstance(key, str):
                self.fail(path, f"key {key!r} is not a string")
            elif allowed is not None and key not in allowed:
                self.fail(_join(path, key), f"unknown key; allowed: {', '.join(allowed)}")
        return {k: v for k, v in value.items() if isinstance(k, str)}

    def name(self, name: str, path: str) -> bool:
        if _NAME.match(name):
            return True
        self.fail(path, f"invalid name {name!r}; {_NAME_RULE}")
        return False

    def typed(self, value: object, path: str, kind: type[T], what: str) -> T | None:
        if isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return value
        self.fail(path, f"expected {what}, got {_kind(value)}")
        return None

    def command(self, value: object, path: str) -> tuple[str, ...] | None:
        if value is None:
            return None
        if isinstance(value, str) and value.strip():
            return ("/bin/sh", "-c", value)
        if isinstance(value, list) and value and all(isinstance(v, str | int | float) for v in value):
            return tuple(str(v) for v in value)
        self.fail(path, f"expected a non-empty string or list of strings, got {_kind(value)}")
        return None

    def environment(self, value: object, path: str) -> dict[str, str]:
        env = self.mapping(value, path) or {}
        for key, item in env.items():
            if not isinstance(item, str | int | float | bool):
                self.fail(_join(path, key), f"expected a string, number or boolean, got {_kind(item)}")
        return {k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in env.items()}

    def capabilities(self, value: object, path: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.fail(path, f"expected a list of capabilities, got {_kind(value)}")
            return ()
        caps = []
        for i, cap in enumerate(value):
            name = str(cap).upper().removeprefix("CAP_")
            if name == "ALL":
                self.fail(f"{path}[{i}]", "ALL is not allowed (privileged containers do not start here); list each capability")
            elif name not in CAPABILITIES:
                self.fail(f"{path}[{i}]", f"unknown capability {cap!r}; see capabilities(7), e.g. NET_ADMIN, SYS_ADMIN")
            else:
                caps.append(name)
        return tuple(caps)

    def network_of(self, value: object, path: str) -> ipaddress.IPv4Network | None:
        try:
            network = ipaddress.ip_network(str(value), strict=True)
        except ValueError as exc:
            reason = "host bits are set" if "host bits set" in str(exc) else "not a network address with a prefix"
            self.fail(path, f"invalid subnet {value!r} ({reason}); write an IPv4 CIDR such as 10.77.0.0/24")
            return None
        if not isinstance(network, ipaddress.IPv4Network) or network.prefixlen > 29:
            self.fail(path, f"subnet {value!r} must be IPv4 with a prefix of /29 or shorter")
            return None
        return network

    def address_in(self, value: object, path: str, subnet: ipaddress.IPv4Network | None, network: str) -> str | None:
        if subnet is None:
            self.fail(path, f"a static address needs a subnet on network {network!r}; give networks.{network}.subnet")
            return None
        try:
            address = ipaddress.IPv4Address(str(value))
        except ValueError:
            self.fail(path, f"invalid IPv4 address {value!r}")
            return None
        gateway, last = subnet.network_address + 1, subnet.broadcast_address - 1
        usable = f"use {gateway + 1} to {last}"
        if address not in subnet or address in (subnet.network_address, subnet.broadcast_address):
            self.fail(path, f"address {address} is not a host address of {network!r} ({subnet}); {usable}")
            return None
        if address == gateway:
            self.fail(path, f"address {address} is the gateway of {network!r}; {usable}")
            return None
        return str(address)

    # -- sections ---------------------------------------------------------------------

    def topology(self, data: object, default_name: str) -> Topology | None:
        if data is None:
            self.fail("", "the topology is empty; it needs networks and hosts")
            return None
        if not isinstance(data, dict):
            self.fail("", f"the top level must be a mapping with the keys {', '.join(_TOP_KEYS)}; got {_kind(data)}")
            return None
        top = self.mapping(data, "", _TOP_KEYS) or {}
        name = top.get("name", default_name)
        if not isinstance(name, str):
            self.fail("name", f"expected a string, got {_kind(name)}; {_NAME_RULE}")
            name = "lab"
        elif not self.name(name, "name"):
            name = "lab"
        networks = self.section(top, "networks", self.network)
        subnets = {n: (ipaddress.IPv4Network(s.subnet) if s.subnet else None) for n, s in networks.items()}
        self.no_overlaps(networks)
        hosts = self.section(top, "hosts", lambda v, p, n: self.host(v, p, n, subnets))
        vips = self.section(top, "vips", lambda v, p, n: self.vip(v, p, n, hosts, subnets), required=False)
        self.router_ids(vips)
        vips = self.assign_router_ids(vips)
        return Topology(name=name, networks=networks, hosts=hosts, vips=vips, source=self.source)

    def section(self, top: dict[str, Any], key: str, build: Callable[[Any, str, str], T | None], required: bool = True) -> dict[str, T]:
        raw = self.mapping(top.get(key), key)
        if raw is None:
            return {}
        if required and not raw:
            self.fail(key, f"at least one entry is required under {key!r}")
        built: dict[str, T] = {}
        self.declared.setdefault(key, set()).update(raw)
        for name, value in raw.items():
            path = _join(key, name)
            if self.name(name, path):
                item = build(value, path, name)
                if item is not None:
                    built[name] = item
        return built

    def network(self, value: object, path: str, name: str) -> NetworkSpec | None:
        raw = self.mapping(value, path, _NETWORK_KEYS)
        if raw is None:
            return None
        subnet = raw.get("subnet")
        parsed = self.network_of(subnet, _join(path, "subnet")) if subnet is not None else None
        internal = self.typed(raw.get("internal", False), _join(path, "internal"), bool, "true or false")
        if subnet is not None and parsed is None:
            return None
        return NetworkSpec(name=name, subnet=str(parsed) if parsed else None, internal=bool(internal))

    def no_overlaps(self, networks: dict[str, NetworkSpec]) -> None:
        seen: list[tuple[str, ipaddress.IPv4Network]] = []
        for name, spec in networks.items():
            if spec.subnet is None:
                continue
            subnet = ipaddress.IPv4Network(spec.subnet)
            for other, other_subnet in seen:
                if subnet.overlaps(other_subnet):
                    self.fail(f"networks.{name}.subnet", f"{subnet} overlaps network {other!r} ({other_subnet})")
            seen.append((name, subnet))

    def host(self, value: object, path: str, name: str, subnets: dict[str, ipaddress.IPv4Network | None]) -> HostSpec | None:
        raw = self.mapping(value, path, _HOST_KEYS)
        if raw is None:
            return None
        attachments = self.attachments(raw.get("networks"), _join(path, "networks"), subnets, name)
        containers = []
        for cname, cvalue in (self.mapping(raw.get("containers"), _join(path, "containers")) or {}).items():
            cpath = _join(path, "containers", cname)
            if self.name(cname, cpath):
                container = self.container(cvalue, cpath, cname)
                if container is not None:
                    containers.append(container)
        image = raw.get("image", HOST_IMAGE)
        image = self.typed(image, _join(path, "image"), str, "an image name") or HOST_IMAGE
        role = raw.get("role")
        if role is not None:
            role = self.typed(role, _join(path, "role"), str, "a string")
        return HostSpec(
            name=name,
            networks=attachments,
            image=image,
            containers=tuple(containers),
            environment=self.environment(raw.get("environment"), _join(path, "environment")),
            command=self.command(raw.get("command"), _join(path, "command")),
            cap_add=self.capabilities(raw.get("cap_add"), _join(path, "cap_add")),
            role=role,
        )

    def attachments(self, value: object, path: str, subnets: dict[str, ipaddress.IPv4Network | None], host: str) -> tuple[Attachment, ...]:
        if not isinstance(value, list) or not value:
            got = "an empty list" if value == [] else _kind(value)
            self.fail(path, f"expected a non-empty list of networks (e.g. [front] or [{{network: front, address: ...}}]), got {got}")
            return ()
        known = ", ".join(subnets) or "none"
        result: list[Attachment] = []
        named: list[Attachment] = []
        for i, item in enumerate(value):
            ipath = f"{path}[{i}]"
            raw = {"network": item} if isinstance(item, str) else self.mapping(item, ipath, _ATTACHMENT_KEYS)
            if raw is None:
                continue
            network = raw.get("network")
            if not isinstance(network, str):
                self.fail(ipath, f"names no network; write a network name or {{network: NAME, address: ...}}; defined networks: {known}")
                continue
            if network not in subnets:
                if network not in self.declared["networks"]:
                    self.fail(ipath, f"unknown network {network!r}; defined networks: {known}")
                continue
            if any(a.network == network for a in result):
                self.fail(ipath, f"network {network!r} is listed twice for this host")
                continue
            address = raw.get("address")
            named.append(Attachment(network=network))
            if address is not None:
                address = self.address_in(address, _join(ipath, "address"), subnets[network], network)
                if address is None:
                    continue
                self.claim(address, _join(ipath, "address"))
            result.append(Attachment(network=network, address=address))
        self.raw_attachments[host] = tuple(named)
        return tuple(result)

    def container(self, value: object, path: str, name: str) -> ContainerSpec | None:
        raw = self.mapping(value, path, _CONTAINER_KEYS)
        if raw is None:
            return None
        image = raw.get("image")
        if not isinstance(image, str) or not image:
            self.fail(_join(path, "image"), "every workload container needs an image (e.g. nginx:1.25, or chaos/host for the framework's responder)")
            return None
        return ContainerSpec(
            name=name,
            image=image,
            command=self.command(raw.get("command"), _join(path, "command")),
            environment=self.environment(raw.get("environment"), _join(path, "environment")),
            cap_add=self.capabilities(raw.get("cap_add"), _join(path, "cap_add")),
        )

    def vip(
        self, value: object, path: str, name: str, hosts: dict[str, HostSpec], subnets: dict[str, ipaddress.IPv4Network | None]
    ) -> VipSpec | None:
        raw = self.mapping(value, path)
        if raw is None:
            return None
        ok = True
        provider_name = raw.get("provider", "keepalived")
        if provider_name not in providers.names():
            self.fail(_join(path, "provider"), f"unknown provider {provider_name!r}; available: {', '.join(providers.names())}")
            ok = False
        provider = providers.provider(provider_name if ok else "keepalived")  # still check the rest, as keepalived's
        allowed = (*providers.COMMON_KEYS, *provider.fields)
        for key in raw:
            if key in allowed:
                continue
            owner = providers.owner_of_field(key)
            if owner is not None:
                takes = ", ".join(provider.fields)
                self.fail(_join(path, key), f"a {owner} field, not valid for provider {provider_name}; {provider_name} takes: {takes}")
            else:
                self.fail(_join(path, key), f"unknown key; allowed: {', '.join(allowed)}")
        network = raw.get("network")
        if not isinstance(network, str):
            self.fail(_join(path, "network"), f"expected a network name, got {_kind(network)}; defined networks: {', '.join(subnets) or 'none'}")
            return None
        if network not in subnets:
            if network not in self.declared["networks"]:
                self.fail(_join(path, "network"), f"unknown network {network!r}; defined networks: {', '.join(subnets) or 'none'}")
            return None
        members = self.members(raw.get("members"), _join(path, "members"), hosts, network, provider.member_rule)
        address = raw.get("address")
        if address is not None:
            address = self.address_in(address, _join(path, "address"), subnets[network], network)
            ok = ok and address is not None
            if address is not None:
                self.claim(address, _join(path, "address"))
        fields = provider.check(raw, path, self)
        if members is None or fields is None or not ok:
            return None
        return VipSpec(name=name, network=network, members=members, provider=provider_name, address=address, **fields)

    def members(self, value: object, path: str, hosts: dict[str, HostSpec], network: str, rule: providers.MemberRule) -> dict[str, int] | None:
        raw = self.mapping(value, path)
        if not raw:
            if raw is not None:
                self.fail(path, f"a VIP needs at least one member: {{host: {rule.meaning}, ...}}")
            return None
        result: dict[str, int] = {}
        for host, priority in raw.items():
            mpath = _join(path, host)
            if host not in hosts:
                if host not in self.declared["hosts"]:
                    self.fail(mpath, f"unknown host {host!r}; defined hosts: {', '.join(hosts) or 'none'}")
            elif hosts[host].attachment(network) is None:
                if network not in {a.network for a in self.raw_attachments.get(host, ())}:
                    self.fail(mpath, f"host {host!r} is not on network {network!r}; add it to hosts.{host}.networks")
            elif not isinstance(priority, int) or isinstance(priority, bool):
                article = "an" if rule.meaning[0] in "aeiou" else "a"
                self.fail(mpath, f"expected {article} {rule.meaning} (a whole number from {rule.low} to {rule.high}), got {_kind(priority)}")
            elif not rule.low <= priority <= rule.high:
                self.fail(mpath, f"{rule.meaning} {priority} is out of range; allowed: {rule.low} to {rule.high}")
            else:
                result[host] = priority
        return result if len(result) == len(raw) else None

    def claim(self, address: str, path: str) -> None:
        if address in self.address_users:
            self.fail(path, f"address {address} is already used by {self.address_users[address]}")
        else:
            self.address_users[address] = path

    def assign_router_ids(self, vips: dict[str, VipSpec]) -> dict[str, VipSpec]:
        """Give each VIP without a router id (CARP: vhid) the lowest free one on its network, from the provider's first (keepalived: 51).

        VRRP and CARP share IP protocol 112 and the group 224.0.0.18, so both draw from one set of ids per network.
        """
        used = {(v.network, v.virtual_router_id) for v in vips.values()}
        result = {}
        for name, vip in vips.items():
            if not vip.virtual_router_id:
                first = providers.provider(vip.provider).first_id
                free = [rid for rid in [*range(first, 256), *range(1, first)] if (vip.network, rid) not in used]
                if not free:
                    self.fail(f"vips.{name}", f"no virtual router id is free on network {vip.network!r}; VRRP and CARP allow 255 per network")
                    continue
                used.add((vip.network, free[0]))
                vip = replace(vip, virtual_router_id=free[0])
            result[name] = vip
        return result

    def router_ids(self, vips: dict[str, VipSpec]) -> None:
        seen: dict[tuple[str, int], str] = {}
        for vip in vips.values():
            key = (vip.network, vip.virtual_router_id)
            if vip.virtual_router_id and key in seen:
                field = providers.provider(vip.provider).id_field
                self.fail(f"vips.{vip.name}.{field}", f"{vip.virtual_router_id} is already used on network {vip.network!r} by VIP {seen[key]!r}")
            seen.setdefault(key, vip.name)


def _join(path: str, *keys: str) -> str:
    return ".".join(p for p in (path, *keys) if p)


def describe(topology: Topology) -> Mapping[str, object]:
    """A short summary of a topology, for `chaos validate` and reports."""
    return {"name": topology.name, "networks": list(topology.networks), "hosts": list(topology.hosts), "vips": list(topology.vips)}
