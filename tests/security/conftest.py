"""The security checklist's tests. The emulators of the full run are shared by the tests of a module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from returnbridge.emulators.shopify.server import EmulatorServer as ShopifyEmulator
from returnbridge.emulators.tiktok.server import EmulatorServer as TikTokEmulator

from .full_run import emulators


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[TikTokEmulator, ShopifyEmulator]]:
    yield from emulators()


# The back-office app on SQLite and PostgreSQL, as the web tests build it (sign-in limits lowered).
from ..web.conftest import app, client, make_runtime, runtime  # noqa: E402, F401
