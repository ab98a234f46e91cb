"""Build the framework's images when their content hash is not yet on the engine."""

from __future__ import annotations

import hashlib
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from chaos.engine import Engine
from chaos.errors import ImageError
from chaos.images.base import ensure_base, present_base
from chaos_inlab.protocol import COMMANDS

IMAGES = ("host",)
"""Image names; ``chaos/<name>`` in a topology resolves to ``chaos/<name>:<content hash>``."""

REPOSITORY = "chaos"
WHEELS_FILE = "wheels.txt"
IMAGE_LABEL = "org.pytest-chaos.image"
PACKAGE_DIRECTORY = "chaos_inlab"
"""Where the in-lab package's sources go in a build context (the Dockerfile copies them onto python3's path)."""
LAUNCHER_DIRECTORY = "bin"
"""Where the commands' launchers go in a build context (the Dockerfile copies them to /usr/local/bin)."""


@dataclass(frozen=True)
class BuildReport:
    """What `ensure_images` did for one image."""

    name: str
    reference: str
    built: bool


def _context(name: str) -> Path:
    return Path(str(resources.files("chaos.images") / "dockerfiles" / name))


def _package() -> Path:
    return Path(str(resources.files("chaos_inlab")))


def _wheel_requirements(context: Path) -> list[str]:
    path = context / WHEELS_FILE
    if not path.exists():
        return []
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def launcher(module: str) -> str:
    """The file behind one in-lab command: Debian's python3 running ``module``'s ``main()``.

    A file with its own ``#!`` line (not ``python3 -m``), so the command's name is the
    process name (``pgrep -x chaos-agent``) and is in its command line.

    Example:
        >>> print(launcher("chaos_inlab.probe"))
        #!/usr/bin/python3
        import sys
        <BLANKLINE>
        from chaos_inlab.probe import main
        <BLANKLINE>
        sys.exit(main())
        <BLANKLINE>
    """
    return f"#!/usr/bin/python3\nimport sys\n\nfrom {module} import main\n\nsys.exit(main())\n"


def context_files(name: str) -> dict[str, bytes]:
    """Every file of image ``name``'s build context but the staged wheels, by path in the context.

    The Dockerfile directory, the in-lab package's sources under ``chaos_inlab/`` and a
    launcher per command (`chaos_inlab.protocol.COMMANDS`) under ``bin/``. The image tag
    hashes exactly these, so a change to any in-lab program builds a new image.

    Raises:
        ImageError: ``name`` is not one of the framework's images.
    """
    context = _context(name)
    if not (context / "Dockerfile").exists():
        raise ImageError(f"unknown framework image {name!r}; available: {', '.join(IMAGES)}")
    files = {str(p.relative_to(context)): p.read_bytes() for p in context.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    package = _package()
    for path in package.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and (path.suffix == ".py" or path.name == "py.typed"):
            files[f"{PACKAGE_DIRECTORY}/{path.relative_to(package)}"] = path.read_bytes()
    for command, module in COMMANDS.items():
        files[f"{LAUNCHER_DIRECTORY}/{command}"] = launcher(module).encode()
    return dict(sorted(files.items()))


def image_reference(name: str, base: str = "debian:bookworm-slim") -> str:
    """``chaos/<name>:<hash>``, the hash over the build context (`context_files`) and the base.

    The same files give the same tag, so a second build finds the image and builds nothing.
    """
    digest = hashlib.sha256(base.encode())
    for path, content in context_files(name).items():
        digest.update(path.encode() + b"\0" + content)
    return f"{REPOSITORY}/{name}:{digest.hexdigest()[:12]}"


def resolve_image(image: str, engine: Engine | None = None) -> str:
    """Map ``chaos/<name>`` (no tag) to the current content-hashed tag; other images pass through."""
    repository, _, tag = image.partition(":")
    name = repository.removeprefix(f"{REPOSITORY}/")
    if tag or repository == name or name not in IMAGES:
        return image
    base = (present_base(engine) if engine else None) or "debian:bookworm-slim"
    return image_reference(name, base)


def ensure_images(
    engine: Engine,
    names: tuple[str, ...] = IMAGES,
    log: Callable[[str], None] = print,
    rebuild: bool = False,
    debian_mirror: str | None = None,
) -> list[BuildReport]:
    """Build each framework image whose tag the engine lacks.

    Raises:
        ImageError: the base could not be had, wheels could not be staged, or a build failed.
    """
    reports = []
    base = present_base(engine)
    for name in names:
        reference = image_reference(name, base or "debian:bookworm-slim")
        if not rebuild and base and engine.has_image(reference):
            reports.append(BuildReport(name, reference, built=False))
            continue
        base = base or ensure_base(engine, log, debian_mirror)
        reference = image_reference(name, base)
        if not rebuild and engine.has_image(reference):
            reports.append(BuildReport(name, reference, built=False))
            continue
        log(f"building {reference} from {base}")
        with tempfile.TemporaryDirectory(prefix=f"chaos-build-{name}-") as tmp:
            context = Path(tmp) / "context"
            for path, content in context_files(name).items():
                (context / path).parent.mkdir(parents=True, exist_ok=True)
                (context / path).write_bytes(content)
            _stage_wheels(_wheel_requirements(context), context / "wheels")
            for line in engine.build_image(str(context), reference, {IMAGE_LABEL: name}, {"BASE": base}):
                if line.startswith("Step "):
                    log(f"  {line}")
        reports.append(BuildReport(name, reference, built=True))
    return reports


def _stage_wheels(requirements: list[str], target: Path) -> None:
    """Download wheels for the image's Python (Debian bookworm: CPython 3.11) with pip on the runner.

    pip inside a build container cannot be trusted to reach an index (air-gapped CI, TLS
    interception), so the runner fetches binary wheels and the Dockerfile unpacks them.
    """
    target.mkdir(exist_ok=True)
    if not requirements:
        return
    machine = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}.get(platform.machine().lower())
    if machine is None:
        raise ImageError(f"no wheels for machine {platform.machine()!r}; supported: x86_64, aarch64")
    cache = Path.home() / ".cache" / "pytest-chaos" / "wheels"
    cache.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--only-binary=:all:",
        "--python-version",
        "3.11",
        "--implementation",
        "cp",
        "--platform",
        f"manylinux2014_{machine}",
        "--platform",
        f"manylinux_2_28_{machine}",
        "--dest",
        str(cache),
        *requirements,
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise ImageError(
            f"staging wheels {', '.join(requirements)} with pip failed:\n{done.stderr.strip()[-1500:]}\n"
            f"Hint: the runner's pip must reach an index, or put the wheels in {cache}."
        )
    for requirement in requirements:
        project = requirement.split("==")[0].replace("-", "_").lower()
        version = requirement.split("==")[1] if "==" in requirement else ""
        matches = sorted(p for p in cache.glob("*.whl") if p.name.lower().startswith(f"{project}-{version}") and machine in p.name)
        if not matches:
            raise ImageError(f"pip gave no {machine} wheel for {requirement} in {cache}")
        shutil.copy2(matches[-1], target / matches[-1].name)
