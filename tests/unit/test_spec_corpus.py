"""Every malformed topology in corpus/ fails with exactly the messages in its .expected file."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaos.errors import SpecError
from chaos.spec import load_topology

CORPUS = Path(__file__).parent / "corpus"
FILES = sorted(CORPUS.glob("*.yaml"))


def test_corpus_is_complete() -> None:
    assert len(FILES) >= 15
    assert [f.name for f in FILES if not f.with_suffix(".expected").is_file()] == []
    assert [f.name for f in CORPUS.glob("*.expected") if not f.with_suffix(".yaml").is_file()] == []


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_malformed_topology_is_reported(path: Path) -> None:
    expected = path.with_suffix(".expected").read_text(encoding="utf-8").rstrip("\n").replace("{file}", str(path))
    with pytest.raises(SpecError) as info:
        load_topology(path)
    assert str(info.value) == expected
    assert info.value.problems == expected.splitlines()
