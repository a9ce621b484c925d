"""The local servers the tests talk to: one set of fixtures for every test module.

    servers(...)   a factory: KimiServer(...) started (replay pace 0 unless given), all stopped after the test
    server         one replay server shared by a module; a module serves its own recordings by overriding
                   `server_options` (module scope) with KimiServer's keyword arguments
    fresh          `server` with no scripted faults, no limiter state and an empty request log; a module whose
                   every test needs that says `pytestmark = pytest.mark.usefixtures("fresh")`
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from helpers.server import KimiServer

ServerFactory = Callable[..., KimiServer]


def _stop_all(started: list[KimiServer]) -> None:
    # each stop can take up to half a second (the serve loop's poll): stop them side by side
    stopping = [threading.Thread(target=s.stop) for s in started]
    for t in stopping:
        t.start()
    for t in stopping:
        t.join(10)


def _factory(started: list[KimiServer]) -> ServerFactory:
    def start(*args: Any, **kwargs: Any) -> KimiServer:
        kwargs.setdefault("pace", 0)
        server = KimiServer(*args, **kwargs).start()
        started.append(server)
        return server
    return start


@pytest.fixture
def servers() -> Iterator[ServerFactory]:
    started: list[KimiServer] = []
    yield _factory(started)
    _stop_all(started)


@pytest.fixture(scope="module")
def server_options() -> dict[str, Any]:
    return {}


@pytest.fixture(scope="module")
def server(server_options: dict[str, Any]) -> Iterator[KimiServer]:
    started: list[KimiServer] = []
    yield _factory(started)(**{"mode": "replay", **server_options})
    _stop_all(started)


@pytest.fixture
def fresh(server: KimiServer) -> KimiServer:
    requests.post(server.url + "/_course/reset", timeout=5).raise_for_status()
    requests.delete(server.url + "/_course/requests", timeout=5).raise_for_status()
    return server
