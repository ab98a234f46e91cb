"""`parallel`: results in order, errors raised after all finished, and an interrupt in a worker is never a result."""

from __future__ import annotations

import pytest

from chaos._internal.parallel import parallel


def test_results_keep_the_order_of_the_items():
    assert parallel(lambda n: n * n, [3, 1, 2]) == [9, 1, 4]


def test_an_interrupt_in_a_worker_reaches_the_caller():
    """Lab.up relies on it: Ctrl-C while hosts are created must unwind into the teardown, not become a result."""

    def work(n: int) -> int:
        if n == 2:
            raise KeyboardInterrupt
        return n

    with pytest.raises(KeyboardInterrupt):
        parallel(work, [1, 2, 3])
    with pytest.raises(KeyboardInterrupt):
        parallel(work, [1, 2, 3], return_exceptions=True)
