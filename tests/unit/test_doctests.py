"""Every ``>>>`` example in a docstring runs and shows what it prints.

The rule for writing examples: an example that runs without Docker (a parser, a pure
function, a value type) is a doctest (``>>>``), and this test runs it. An example that
needs a live lab or engine is a literal block instead, which doctest does not run::

    Example::

        lab.hosts["lb1"].kill()
        lab.start_host("lb1")

Examples run from the repository's root, so they may name files in it
(``load_topology("suites/keepalived/pair.yaml")``).
"""

from __future__ import annotations

import doctest
import importlib
import importlib.util
import io
import pkgutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["chaos", "pytest_chaos", "chaos_inlab"]
"""The repository's packages: the library, the pytest plugin, and the programs that run inside lab hosts."""


def module_names() -> list[str]:
    names = []
    for package_name in PACKAGES:
        if importlib.util.find_spec(package_name) is None:
            continue
        package = importlib.import_module(package_name)
        names.append(package_name)
        names += [info.name for info in pkgutil.walk_packages(package.__path__, f"{package_name}.")]
    return names


def test_every_package_is_found():
    """A package missing from the path would make its examples silently unchecked."""
    found = {name.split(".")[0] for name in module_names()}
    expected = {"chaos", "pytest_chaos"} | ({"chaos_inlab"} if (ROOT / "inlab" / "chaos_inlab").is_dir() else set())
    assert expected <= found


@pytest.mark.parametrize("name", module_names())
def test_docstring_examples_run(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    module = importlib.import_module(name)
    finder = doctest.DocTestFinder(exclude_empty=True)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    output = io.StringIO()
    for test in finder.find(module, name, globs=vars(module).copy()):
        runner.run(test, out=output.write)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, (
        f"{results.failed} of {results.attempted} examples in {name} fail. An example that needs a lab "
        f"is not a doctest: write it as a literal block (`Example::` and an indented block).\n{output.getvalue()}"
    )
