"""What the bench scripts share: their database, gunicorn, timed requests.

Not a script of its own: bench/pages.py, bench/dispatch.py and
bench/audience.py import it (each script's folder is on `sys.path` when it
runs). Nothing here imports Django at module level: the scripts configure
it from their own arguments first.
"""

import http.client
import os
import re
import resource
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

BASE_DIR = Path(__file__).resolve().parent.parent
# First on the path, before this folder: bench/audience.py would otherwise
# stand for the `audience` app.
sys.path.insert(0, str(BASE_DIR))
ADMIN_URL = os.environ.get(
    "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
# The cache of the measured server: a Redis database of the benches' own.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/5")
# One key for this process and the gunicorn it starts: the customer pages
# log in from here.
SECRET_KEY = "bench-" + secrets.token_urlsafe(60)
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36 bench"


# -- the database -------------------------------------------------------------


def database_url(name: str) -> str:
    """The URL of the database `name` on the admin URL's server."""
    parts = urlsplit(ADMIN_URL)
    return urlunsplit(parts._replace(path=f"/{name}"))


def create_database(name: str) -> None:
    """Create the database `name` unless it exists (its data is reused)."""
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        exists = admin.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')


# -- gunicorn -----------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_environment(*, db_name: str, name: str) -> dict:
    """The environment of a bench script and of its gunicorn: the dev
    settings with DEBUG off (production's manifest storage needs a
    collectstatic that nothing here serves anyway) on the database
    `db_name`, files under var/`name`, cache keys prefixed with `name`."""
    var = BASE_DIR / "var" / name
    return {
        "DJANGO_SETTINGS_MODULE": "mailsite.settings.dev",
        "DATABASE_URL": database_url(db_name),
        "REDIS_URL": REDIS_URL,
        "CACHE_KEY_PREFIX": name,
        "SECRET_KEY": SECRET_KEY,
        "HTTPS": "off",
        "DEBUG": "off",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "MEDIA_ROOT": str(var / "media"),
        "STATIC_ROOT": str(var / "static"),
    }


def setup_django(environment: dict) -> None:
    """Configure Django in this process from `environment`."""
    os.environ.update(environment)
    import django

    django.setup()


def start_gunicorn(port: int, environment: dict, workers: int) -> subprocess.Popen:
    """gunicorn with `workers` sync workers on 127.0.0.1:`port`, once it
    answers; the caller stops it with `stop_gunicorn`."""
    server = subprocess.Popen(
        [
            str(BASE_DIR / ".venv" / "bin" / "gunicorn"),
            "mailsite.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=BASE_DIR,
        env={**os.environ, **environment},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            status, _ = get(port, "/robots.txt")
            if status == 200:
                return server
        except OSError:
            time.sleep(0.2)
    stop_gunicorn(server)
    raise RuntimeError("gunicorn did not start")


def stop_gunicorn(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(timeout=30)


def peak_rss_mb() -> float:
    """The peak resident memory of this process or of any child it reaped
    (forked workers), in MB."""
    return (
        max(
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
        )
        / 1024
    )


# -- timed requests -----------------------------------------------------------


def get(port: int, path: str, cookie: str = "") -> tuple[int, float]:
    """GET `path` on a fresh connection: (status, seconds)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"User-Agent": USER_AGENT}
    if cookie:
        headers["Cookie"] = cookie
    started = time.perf_counter()
    connection.request("GET", path, headers=headers)
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    return response.status, elapsed


def measure_warm(port, paths, requests, concurrency, cookie="") -> dict:
    """`requests` GETs of `paths(n)` from `concurrency` threads: summary()."""
    latencies, errors = [], []
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker():
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            status, elapsed = get(port, paths(n), cookie)
            with lock:
                latencies.append(elapsed)
                if status != 200:
                    errors.append(status)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return summary(latencies, wall, errors)


def summary(latencies, wall, errors) -> dict:
    """req/s, min, p50 and p99 in ms, and the errors of timed calls."""
    ordered = sorted(latencies)
    return {
        "rps": len(ordered) / wall,
        "min": ordered[0] * 1000,
        "p50": statistics.median(ordered) * 1000,
        "p99": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000,
        "errors": len(errors),
    }


# -- the customer pages -------------------------------------------------------


def login(owner):
    """A Django test client logged in as `owner` in this process, and the
    session cookie that logs gunicorn's requests in as them."""
    from django.conf import settings
    from django.test import Client as TestClient

    browser = TestClient(HTTP_USER_AGENT=USER_AGENT, HTTP_HOST="127.0.0.1")
    browser.force_login(owner)
    session = browser.cookies[settings.SESSION_COOKIE_NAME].value
    return browser, f"{settings.SESSION_COOKIE_NAME}={session}"


def measure_page(port, path, *, browser, cookie, requests, concurrency):
    """A customer page: warmed up, then `requests` warm GETs through gunicorn
    (summary()); then once in this process with its queries captured.
    Returns (figures, captured queries, bytes of the page)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # Warmed from as many clients as are measured: one after another, the
    # requests could all reach the same gunicorn worker and leave the other
    # one's first request (its first page load) among the timed ones.
    warm_up = measure_warm(port, lambda n: path, 5 * concurrency, concurrency, cookie)
    assert not warm_up["errors"], (path, warm_up["errors"])
    figures = measure_warm(port, lambda n: path, requests, concurrency, cookie)
    with CaptureQueriesContext(connection) as queries:
        response = browser.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return figures, queries.captured_queries, len(response.content)


def explain_slowest(name: str, captured: list, *, lines: int = 14) -> None:
    """Print the plan (EXPLAIN ANALYZE, BUFFERS) of the slowest of a page's
    captured queries (on a busy machine that may be a trivial one that
    waited for the CPU: `explain_reads` picks by table instead)."""
    slowest = max(captured, key=lambda query: float(query["time"]))
    print(f"\n{name}: slowest query {float(slowest['time']) * 1000:.0f} ms")
    _explain(captured, slowest, lines)


def explain_reads(name: str, captured: list, tables: tuple, *, lines: int) -> None:
    """Print the plan of each of a page's captured queries that reads one of
    `tables`, with its execution time."""
    print(f"\n{name}:")
    for query in captured:
        if any(re.search(rf"\b{table}\b", query["sql"]) for table in tables):
            print(f"  query of {float(query['time']) * 1000:.0f} ms in the page:")
            _explain(captured, query, lines)


def _explain(captured: list, query: dict, lines: int) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of one captured query, after replaying the
    `set_config` calls made before it in its transaction (a search's forced
    plan), so that the plan is the one the page got."""
    from django.db import connection, transaction

    settings = []  # the set_config calls of the transaction the query ran in
    for earlier in captured[: captured.index(query)]:
        statement = earlier["sql"].lstrip().upper()
        if statement.startswith(("COMMIT", "ROLLBACK", "RESET")):
            settings = []
        elif statement.startswith("SELECT SET_CONFIG"):
            settings.append(earlier["sql"])
    with transaction.atomic(), connection.cursor() as cursor:
        for sql in settings:
            cursor.execute(sql)
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
        plan = [line for (line,) in cursor.fetchall()]
    for line in plan[:lines]:
        print("   ", line)
    if len(plan) > lines:
        print("    ...", plan[-1])
