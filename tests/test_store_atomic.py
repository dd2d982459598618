"""Store writes that go together: `atomic()` commits its writes at once or not at all, a claim by row ids
takes all of them or none (inside an atomic block too), and a recorded batch is announced in its own
transaction."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from core.store import PlannedBatch, Store

HASH = "848a771458438fc2ec420560d769fb9b9b86851ee338ec56517baabd79d3bb4f"


def body(n: int) -> dict[str, Any]:
    return {"event_source": "web", "event_source_id": "CPIX", "test_event_code": "TEST1",
            "data": [{"event": "Purchase", "event_id": f"ord_{i}", "user": {"email": [HASH]}} for i in range(n)]}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "console.db") as s:
        yield s


def test_claim_by_ids_takes_all_or_none(store: Store) -> None:
    """Rows another live sender holds make the whole claim fail and leave the others free."""
    sid = store.create_session()
    ids = store.add_outbox(sid, body(3))
    assert store.claim_ids("host:1:b", 60, [ids[1]])
    assert not store.claim_ids("host:1:a", 60, ids, in_flight=True)
    free = store.claim("host:1:c", 60)
    assert [r.id for r in free] == [ids[0], ids[2]] and not any(r.in_flight for r in free)
    store.release(ids, "host:1:c")
    store.settle([ids[0]], "accepted")
    assert not store.claim_ids("host:1:a", 60, [ids[0], ids[2]])  # an accepted row is not pending
    assert store.claim_ids("host:1:a", 60, [ids[2]], in_flight=True)
    assert store.rows_by_id([ids[2]])[0].in_flight and store.claim("host:1:d", 60) == []


def test_atomic_commits_together_or_not_at_all(store: Store) -> None:
    """Writes inside `atomic()` (a settle, an exchange, a claim by ids) land together; an error undoes them all."""
    sid = store.create_session()
    ids = store.add_outbox(sid, body(3))
    with pytest.raises(RuntimeError), store.atomic():
        store.settle(ids[:1], "accepted")
        assert store.claim_ids("host:1:a", 60, ids[1:])
        raise RuntimeError("interrupted")
    assert store.outbox_counts(sid)["pending"] == 3 and len(store.claim("host:1:z", -1)) == 3
    store.release(ids, "host:1:z")
    assert store.claim_ids("host:1:b", 60, [ids[1]])
    with store.atomic():
        store.settle(ids[:1], "accepted")
        assert not store.claim_ids("host:1:a", 60, ids[1:])  # undone alone: the settle stays
    assert store.outbox_counts(sid)["accepted"] == 1
    assert [r.id for r in store.claim("host:1:c", 60)] == [ids[2]]


def test_a_recorded_batch_is_announced_inside_its_transaction(store: Store) -> None:
    """`written` gets the batch id and first row id while the batch is not yet visible to another connection."""
    sid = store.create_session()
    seen: list[tuple[int, int, int]] = []

    def written(batch_id: int, first_id: int) -> None:
        import sqlite3

        other = sqlite3.connect(store.path, timeout=0.1)
        try:
            seen.append((batch_id, first_id, other.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]))
        finally:
            other.close()

    events = PlannedBatch(body(4)["data"])
    batch = store.record_batch(sid, {"event_source": "web"}, events, seq=0, written=written)
    rows = store.outbox_rows(session_id=sid)
    assert seen == [(batch, rows[0].id, 0)] and [r.id for r in rows] == list(range(rows[0].id, rows[0].id + 4))
