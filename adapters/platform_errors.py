"""One way for every adapter to turn its library's failures into the core's PlatformError."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from bot.ports import PlatformError


@contextmanager
def platform_errors(
    action: str,
    *,
    caught: tuple[type[BaseException], ...],
    convert: Callable[..., PlatformError],
) -> Iterator[None]:
    """Run one platform call; an error of a `caught` type leaves as `convert(error,
    action=action)`, which says whether it is worth retrying. A PlatformError passes as is."""
    try:
        yield
    except PlatformError:
        raise
    except caught as error:
        raise convert(error, action=action) from error
