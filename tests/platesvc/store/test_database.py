"""What every connection gets on each backend: here, writers in one gevent worker taking turns on SQLite."""

import json
import subprocess
import sys
import textwrap

WRITERS = textwrap.dedent('''
    """Two writers in one gevent-patched process, the first pausing on cooperative I/O before its commit."""
    from gevent import monkey

    monkey.patch_all()

    import json
    import sys
    import time

    import gevent
    from sqlalchemy import text

    from platesvc import create_app
    from platesvc.store.database import db

    url, folder = sys.argv[1], sys.argv[2]
    settings = {"DATABASE_URL": url, "SECRET_KEY": "test", "JOBS_DIR": folder, "PRINT_DIR": folder}
    if url.startswith("sqlite"):  # a busy timeout of 3 s rather than 30, to keep the test short
        settings["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"timeout": 3}}
    app = create_app(settings)
    outcome, ticks = {}, []


    def write(name, pause):
        with app.app_context():
            started = time.monotonic()
            try:
                with db.engine.begin() as connection:
                    connection.execute(text("INSERT INTO scratch (name) VALUES (:name)"), {"name": name})
                    gevent.sleep(pause)  # any cooperative I/O: a Redis call, a socket read
                outcome[name] = "ok"
            except Exception as error:
                outcome[name] = type(error).__name__


    def tick():
        while len(outcome) < 2:
            ticks.append(time.monotonic())
            gevent.sleep(0.01)
        ticks.append(time.monotonic())


    with app.app_context(), db.engine.begin() as connection:
        connection.execute(text("CREATE TABLE scratch (name VARCHAR(10))"))
    ticker = gevent.spawn(tick)
    first = gevent.spawn(write, "first", 0.5)
    gevent.sleep(0.1)
    second = gevent.spawn(write, "second", 0)
    gevent.joinall([first, second, ticker])
    with app.app_context():
        rows = db.session.execute(text("SELECT name FROM scratch ORDER BY name")).scalars().all()
    print(json.dumps({"outcome": outcome, "rows": rows,
                      "longest_pause": max(b - a for a, b in zip(ticks, ticks[1:]))}))
''')


def test_writers_in_one_gevent_worker_take_turns_and_the_worker_never_freezes(database_url, tmp_path):
    """A second writer in the same gevent worker, while the first paused between its write and its commit, had
    waited in SQLite's busy handler: the whole worker froze for the busy timeout (30 s; 3 here), and the second
    write failed with "database is locked". Now it waits its turn and every other greenlet runs meanwhile."""
    script = tmp_path / "writers.py"
    script.write_text(WRITERS)
    done = subprocess.run([sys.executable, str(script), database_url, str(tmp_path / "jobs")], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["outcome"] == {"first": "ok", "second": "ok"} and found["rows"] == ["first", "second"], found
    assert found["longest_pause"] < 0.3, found  # the worker kept running its other greenlets
