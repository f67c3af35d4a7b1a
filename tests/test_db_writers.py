"""The SQLite writer queue (server/db.py): one writer at a time across processes, a waiting
writer let in when the holder commits, and SQLite's own timeout once the queue is stuck."""

from __future__ import annotations

import multiprocessing
import threading

from sqlalchemy import text

from server.db import Database, WriterQueue


def _hold(path: str, holding, release) -> None:
    queue = WriterQueue(path)
    with queue.held():
        holding.set()
        release.wait(60)


def test_another_process_holding_the_queue_keeps_a_writer_out_until_it_lets_go(tmp_path):
    ctx = multiprocessing.get_context("fork")
    holding, release = ctx.Event(), ctx.Event()
    path = str(tmp_path / "db.sqlite-writer.lock")
    other = ctx.Process(target=_hold, args=(path, holding, release))
    other.start()
    try:
        assert holding.wait(30)
        impatient = WriterQueue(path, patience=0.2)
        with impatient.held():
            assert impatient._locked is False  # went ahead without the queue
        release.set()
        other.join(30)
        patient = WriterQueue(path)
        with patient.held():
            assert patient._locked is True
    finally:
        release.set()
        other.join(30)


def test_writers_in_threads_take_turns_and_a_nested_write_does_not_deadlock(tmp_path):
    db = Database(f"sqlite:///{tmp_path}/db.sqlite")
    try:
        with db.transaction() as session:
            session.execute(text("CREATE TABLE counter (n INTEGER)"))
            session.execute(text("INSERT INTO counter VALUES (0)"))
        inside = []

        def add() -> None:
            for _ in range(50):
                with db.transaction() as session:
                    inside.append(1)
                    assert len(inside) == 1  # nobody else is writing now
                    n = session.execute(text("SELECT n FROM counter")).scalar_one()
                    session.execute(text("UPDATE counter SET n = :n"), {"n": n + 1})
                    inside.pop()

        threads = [threading.Thread(target=add) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        with db.transaction(write=False) as session:
            assert session.execute(text("SELECT n FROM counter")).scalar_one() == 200
        with db.writers.held(), db.writers.held():  # re-entrant in one thread
            assert db.writers._depth == 2
        assert db.writers._depth == 0
        assert db.writers._locked is False
    finally:
        db.dispose()
