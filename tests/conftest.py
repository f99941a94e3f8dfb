from __future__ import annotations

import socket
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SEED = SHARED / "seed" / "us-russia-ukraine-2022-01-14.txt"


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> None:
    """Tests may talk to 127.0.0.1 only: any other address is refused."""
    real = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and host not in ("127.0.0.1", "localhost", "::1") \
                and self.family in (socket.AF_INET, socket.AF_INET6):
            raise OSError(f"test tried to reach {host}: tests run offline")
        return real(self, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "ASSISTANT_BASE_URL", "ASSISTANT_BACKEND"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def seed_text() -> str:
    if not SEED.exists():
        pytest.skip("../shared/data is absent")
    return SEED.read_text(encoding="utf-8")
