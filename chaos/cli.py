"""The `chaos` command: what is not a test (validate, images, doctor, up, down, gc)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from chaos import gc
from chaos.engine import Engine
from chaos.errors import ChaosError, SpecError

EPILOG = """examples:
  chaos validate suites/keepalived/pair.yaml     check a topology without an engine
  chaos images build                             build the framework's images (once)
  chaos doctor                                   engine, images and kernel features
  chaos up suites/keepalived/pair.yaml           bring a lab up to explore it
  chaos down                                     remove the labs `chaos up` or --chaos-keep left running
  chaos gc                                       remove what killed runs left behind (kept labs stay)
"""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (0 ok, 1 failure, 2 usage)."""
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except ChaosError as exc:
        print(f"chaos {args.command}: {exc}", file=sys.stderr)
        for note in getattr(exc, "__notes__", []):
            print(note, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"chaos {args.command}: interrupted", file=sys.stderr)
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chaos",
        description="pytest-chaos: container labs for resilience tests. Tests run under pytest; this command does the rest.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--docker-host", metavar="URL", help="Docker engine to use (default: DOCKER_HOST, else the local socket)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    about = "check topology files without an engine (exit 1 with every problem)"
    validate = commands.add_parser("validate", help=about, description=about)
    validate.add_argument("files", nargs="+", type=Path, metavar="FILE", help="a topology file (YAML)")
    validate.set_defaults(run=_validate)

    images = commands.add_parser("images", help="the framework's images", description="build or list the framework's images")
    image_commands = images.add_subparsers(dest="images_command", required=True, metavar="ACTION")
    about = "build missing images (base: debian:bookworm-slim, else debootstrap from CHAOS_DEBIAN_MIRROR)"
    build = image_commands.add_parser("build", help=about, description=about)
    build.add_argument("--rebuild", action="store_true", help="build even when the content-hashed tag exists")
    build.add_argument(
        "--mirror", metavar="URL", help="Debian mirror for bootstrapping the base (default: CHAOS_DEBIAN_MIRROR, else http://deb.debian.org/debian)"
    )
    build.set_defaults(run=_images_build)
    about = "each image's tag and whether the engine has it (exit 1 when one is missing)"
    listing = image_commands.add_parser("list", help=about, description=about)
    listing.set_defaults(run=_images_list)

    about = "check the engine, the images and the kernel features faults use"
    doctor = commands.add_parser("doctor", help=about, description=about)
    doctor.set_defaults(run=_doctor)

    about = "bring a lab up and leave it running; print its hosts, addresses and VIPs (remove it with `chaos down`)"
    up = commands.add_parser("up", help=about, description=about)
    up.add_argument("file", type=Path, metavar="FILE", help="a topology file (YAML)")
    up.set_defaults(run=_up)

    about = "remove labs left running by `chaos up` or --chaos-keep"
    down = commands.add_parser("down", help=about, description=about)
    down.add_argument("labs", nargs="*", metavar="LAB", help="lab names as `chaos up` printed them (default: every kept lab)")
    down.set_defaults(run=_down)

    about = "remove objects of runs that are no longer running, except kept labs (never touches unlabelled objects)"
    collect = commands.add_parser("gc", help=about, description=about)
    collect.add_argument("--all", action="store_true", help="also remove kept labs and labs of live runs")
    collect.add_argument("--dry-run", action="store_true", help="only list what would be removed")
    collect.set_defaults(run=_gc)
    return parser


def _validate(args: argparse.Namespace) -> int:
    from chaos.spec import load_topology

    failed = 0
    for path in args.files:
        try:
            topology = load_topology(path)
        except SpecError as exc:
            failed += 1
            print(exc, file=sys.stderr)
            continue
        print(f"{path}: valid ({len(topology.networks)} networks, {len(topology.hosts)} hosts, {len(topology.vips)} VIPs)")
    return 1 if failed else 0


def _images_build(args: argparse.Namespace) -> int:
    from chaos.images import ensure_images

    engine = Engine.connect(args.docker_host)
    for report in ensure_images(engine, rebuild=args.rebuild, debian_mirror=args.mirror):
        print(f"{report.reference}: {'built' if report.built else 'present, nothing to build'}")
    return 0


def _images_list(args: argparse.Namespace) -> int:
    from chaos.images import IMAGES, resolve_image

    engine = Engine.connect(args.docker_host)
    missing = 0
    for name in IMAGES:
        reference = resolve_image(f"chaos/{name}", engine)
        present = engine.has_image(reference)
        missing += not present
        print(f"chaos/{name}: {reference} {'present' if present else 'missing'}")
    return 1 if missing else 0


def _doctor(args: argparse.Namespace) -> int:
    from chaos.doctor import run_checks

    failed = 0
    for check in run_checks(args.docker_host):
        failed += check.status == "FAIL"
        print(f"{check.status:<5} {check.topic:<20} {check.detail}")
    return 1 if failed else 0


def _up(args: argparse.Namespace) -> int:
    from chaos._internal.naming import Owner
    from chaos.lab import open_lab

    engine = Engine.connect(args.docker_host)
    lab = open_lab(args.file, engine, Owner.current())
    lab.up()
    lab.keep()
    print(f"lab {lab.name} is up")
    for host in lab.hosts.values():
        addresses = ", ".join(f"{net} {addr}" for net, addr in host.addresses.items())
        print(f"  host {host.name}: {addresses}   (docker exec -it {host.container} bash)")
    for vip in lab.vips.values():
        print(f"  vip {vip.name}: {vip.address} on {vip.network}, members {', '.join(vip.members)}")
    print(f"remove it with: chaos down {lab.name}")
    return 0


def _down(args: argparse.Namespace) -> int:
    engine = Engine.connect(args.docker_host)
    known = {lab.lab: lab for lab in gc.labs(engine)}
    names = args.labs or [name for name, lab in known.items() if lab.is_kept]
    unknown = [name for name in names if name not in known]
    if unknown:
        print(f"chaos down: no lab named {', '.join(unknown)}; labs on this engine: {', '.join(known) or 'none'}", file=sys.stderr)
        return 1
    if not names:
        print("no kept labs to remove")
    for name in names:
        gc.remove(engine, known[name])
        print(f"removed lab {name} ({len(known[name].objects)} objects)")
    return 0


def _gc(args: argparse.Namespace) -> int:
    engine = Engine.connect(args.docker_host)
    labs = gc.reclaimable(engine, everything=args.all)
    for lab in labs:
        if not args.dry_run:
            gc.remove(engine, lab)
        kinds = ", ".join(f"{o.kind} {o.name}" for o in lab.objects)
        print(f"{'would remove' if args.dry_run else 'removed'} lab {lab.lab}: {kinds}")
    if not labs:
        print("nothing to reclaim")
    return 0


if __name__ == "__main__":
    sys.exit(main())
