"""A sweep in a process of its own, slowed down so that a test can kill it mid-way.

``python -m tests.retention.sweeper DB_URL STORE_URL CHUNK PAUSE`` sweeps the test
store with chunks of CHUNK rows, prints one line per step (``chunk crm.visits… 5``)
and sleeps PAUSE seconds after each committed chunk.
"""

from __future__ import annotations

import sys
import time

from tests.retention.conftest import make_context
from tests.retention.store import NOW
from tutela.clock import FrozenClock
from tutela.retention import StepOutcome, run_sweep
from tutela.storage import make_engine, make_session_factory


def main(argv: list[str]) -> None:
    db_url, store_url, chunk, pause = argv[0], argv[1], int(argv[2]), float(argv[3])
    engine = make_engine(db_url)
    context = make_context(store_url)

    def observe(outcome: StepOutcome) -> None:
        print(outcome.event, outcome.rule, outcome.rows, flush=True)
        if outcome.event == "chunk":
            time.sleep(pause)

    try:
        run_sweep(
            make_session_factory(engine),
            context=context,
            clock=FrozenClock(NOW),
            actor="test:subprocess",
            chunk_size=chunk,
            observe=observe,
        )
    finally:
        context.close()
        engine.dispose()
    print("finished", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
