"""The chain holds under concurrent writers: each entry links to the one before it."""

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.engine import Engine
from sqlmodel import Session

from app.audit import chain
from app.audit import service as audit
from app.audit.models import GENESIS
from app.audit.verify import verify


def _write(engine: Engine, n: int) -> None:
    with Session(engine) as db:
        audit.record(db, action="test", object_type="thing", object_id=n, detail={"n": n})
        db.commit()


def test_concurrent_writers_keep_one_chain(engine: Engine) -> None:
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda n: _write(engine, n), range(40)))
    verdict = verify(engine)
    assert verdict.ok, verdict
    assert verdict.entries == 40
    with engine.connect() as conn:
        assert verdict.head == chain.last_hash(conn)


def test_an_empty_log_verifies_at_the_genesis(engine: Engine) -> None:
    verdict = verify(engine)
    assert (verdict.ok, verdict.entries, verdict.head) == (True, 0, GENESIS)


def test_a_hash_covers_every_chained_field() -> None:
    entry = {name: None for name in chain.CHAINED} | {"role": "admin", "action": "x"}
    base = chain.digest(GENESIS, entry)
    for name in chain.CHAINED:
        assert chain.digest(GENESIS, entry | {name: "changed"}) != base, name
    assert chain.digest("1" * 64, entry) != base
