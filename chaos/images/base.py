"""The base image: Debian bookworm, pulled when possible, else bootstrapped offline."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable

from chaos.engine import Engine
from chaos.errors import ImageError

UPSTREAM_BASE = "debian:bookworm-slim"
BOOTSTRAPPED_BASE = "chaos/base:bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"


def mirror() -> str:
    """The Debian mirror for bootstrapping (``CHAOS_DEBIAN_MIRROR`` overrides)."""
    return os.environ.get("CHAOS_DEBIAN_MIRROR", DEFAULT_MIRROR)


def present_base(engine: Engine) -> str | None:
    """The base image the engine already has, preferring upstream's."""
    return next((ref for ref in (UPSTREAM_BASE, BOOTSTRAPPED_BASE) if engine.has_image(ref)), None)


def ensure_base(engine: Engine, log: Callable[[str], None] = print, debian_mirror: str | None = None) -> str:
    """Return a usable base image reference, pulling or bootstrapping one if needed.

    Raises:
        ImageError: no base is present, none can be pulled, and debootstrap is missing or failed.
    """
    found = present_base(engine)
    if found:
        return found
    if engine.try_pull(UPSTREAM_BASE):
        log(f"pulled {UPSTREAM_BASE}")
        return UPSTREAM_BASE
    debian_mirror = debian_mirror or mirror()
    log(f"{UPSTREAM_BASE} cannot be pulled; bootstrapping {BOOTSTRAPPED_BASE} with debootstrap from {debian_mirror} (about 30 s, once)")
    debootstrap = shutil.which("debootstrap")
    if debootstrap is None:
        raise ImageError(
            f"no base image: {UPSTREAM_BASE} is not present and cannot be pulled, and debootstrap is not installed. "
            "Hint: apt-get install debootstrap (run as root), or load debian:bookworm-slim with `docker load`."
        )
    with tempfile.TemporaryDirectory(prefix="chaos-rootfs-") as rootfs:
        done = subprocess.run([debootstrap, "--variant=minbase", "bookworm", rootfs, debian_mirror], capture_output=True, text=True)
        if done.returncode != 0:
            tail = "\n".join((done.stdout + done.stderr).splitlines()[-10:])
            raise ImageError(
                f"debootstrap from {debian_mirror} failed (exit {done.returncode}):\n{tail}\n"
                "Hint: set CHAOS_DEBIAN_MIRROR to a reachable mirror; debootstrap needs root."
            )
        with subprocess.Popen(["tar", "-C", rootfs, "--numeric-owner", "-c", "."], stdout=subprocess.PIPE) as tar:
            assert tar.stdout is not None
            engine.import_image(tar.stdout, BOOTSTRAPPED_BASE)
        if tar.returncode != 0:
            raise ImageError(f"tar of the bootstrapped root file system failed (exit {tar.returncode})")
    log(f"imported {BOOTSTRAPPED_BASE}")
    return BOOTSTRAPPED_BASE
