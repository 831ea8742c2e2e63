"""Fixtures shared by every test folder: one real PostgreSQL server per test session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bench.pgserver import LocalPostgres, pg_bindir


@pytest.fixture(scope="session")
def postgres() -> Iterator[LocalPostgres]:
    """A PostgreSQL server on 127.0.0.1 and a free port, started once (initdb + pg_ctl)."""
    if pg_bindir() is None:
        pytest.skip("needs the PostgreSQL server (apt-get install postgresql)")
    with LocalPostgres() as pg:
        yield pg


@pytest.fixture
def pg_url(postgres: LocalPostgres, request: pytest.FixtureRequest) -> str:
    """A fresh database on the shared server, for one test (URL with the password)."""
    name = "t_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[-50:].lower()
    return postgres.createdb(name)
