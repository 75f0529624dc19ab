"""The engine's hold on BLAS threads, shared by batches that overlap in time."""

from __future__ import annotations

from typing import Any

import pytest

from syncdx.inference._threads import _controller, one_blas_thread

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas_threads() -> list[Any]:
    return [info["num_threads"] for info in _controller().info() if info["user_api"] == "blas"]


def test_overlapping_holds_restore_blas_only_when_the_last_ends() -> None:
    """Batch A starts, batch B starts, A ends: BLAS stays at one thread until B ends too, and
    then gets back its original threads (not B's view of them, which was already one)."""
    original = _blas_threads()
    first, second = one_blas_thread(), one_blas_thread()
    first.__enter__()
    second.__enter__()
    assert all(n == 1 for n in _blas_threads())
    first.__exit__(None, None, None)
    assert all(n == 1 for n in _blas_threads())
    second.__exit__(None, None, None)
    assert _blas_threads() == original
