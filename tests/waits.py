"""A bounded wait on a condition, for tests: poll until true, fail after a timeout."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    what: str, condition: Callable[[], T], *, timeout_s: float = 15.0, poll_s: float = 0.02
) -> T:
    """``condition()`` once it is truthy; AssertionError naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout_s:g} s waiting for {what}")
        time.sleep(poll_s)
