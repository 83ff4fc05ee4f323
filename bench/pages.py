"""Page latency and throughput: prints figures, is not a test.

Builds (once, then reuses) a PostgreSQL database `bench_pages` (or
BENCH_DB_NAME) with 100,000
clients, 10,000 mailings (50 recipients each), 10,000 runs with 1,000,000
deliveries and 10,000 illustrated articles, serves it with gunicorn
(settings with DEBUG off, 2 sync workers) on a free port, and prints for the
home page, an article page and a Wagtail page that shows no figures (the
blog's search form): requests per second and p50 / p99 latency with a warm
cache and a cold one side by side, and database queries per request.

    .venv/bin/python bench/pages.py              # build if needed, measure
    .venv/bin/python bench/pages.py --rebuild    # drop the data and rebuild
    .venv/bin/python bench/pages.py --only customer   # the customer area only

The customer-area section adds one customer with 1,000,000 clients and a
daily mailing to all of them with 10 runs x 1,000,000 deliveries (built with
INSERT ... SELECT generate_series, in one transaction, about 7 minutes), and
prints warm p50 / p99, queries and bytes of the dashboard, the mailing list,
the mailing page with log filters, the progress JSON, the client list and
search, the picker's search and the new-mailing form, against the targets.

Cold means the cache (its own Redis database, BENCH_REDIS_URL, default
redis://127.0.0.1:6379/5) is flushed before every request; those requests
are sent one at a time. Warm requests come from CONCURRENCY threads after a
warm-up that also primes every article's card. The admin database URL comes
from BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres).
"""

import argparse
import json
import os
import random
import statistics
import time
import uuid
from datetime import timedelta

from common import (
    BASE_DIR,
    USER_AGENT,
    create_database,
    explain_slowest,
    free_port,
    get,
    login,
    measure_page,
    measure_warm,
    server_environment,
    setup_django,
    start_gunicorn,
    stop_gunicorn,
    summary,
)

DB_NAME = os.environ.get("BENCH_DB_NAME", "bench_pages")
VAR = BASE_DIR / "var" / "bench_pages"

OWNERS = 100
CLIENTS = 100_000
MAILINGS = 10_000
RECIPIENTS_PER_MAILING = 50
DELIVERIES_PER_RUN = 100  # 10,000 runs x 100 = 1,000,000 deliveries
ARTICLES = 10_000
IMAGES = 20
WORKERS = 2
CONCURRENCY = 2
WARM_REQUESTS = 1000
COLD_REQUESTS = 60


def environment() -> dict:
    return server_environment(db_name=DB_NAME, name="bench_pages")


# -- building the data --------------------------------------------------------


def build(*, rebuild: bool) -> None:

    from blog.models import BlogPage
    from mailing.models import Delivery

    if rebuild:
        _wipe()
    if Delivery.objects.count() < MAILINGS * DELIVERIES_PER_RUN:
        _wipe()
        _build_mailing_data()
    if BlogPage.objects.live().count() < ARTICLES:
        _build_articles()


def _wipe() -> None:
    from django.db import connection

    from blog.models import BlogPage

    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE mailing_deliveryattempt, mailing_delivery, mailing_run, "
            "mailing_mailing_clients, mailing_moderationevent, mailing_mailing, "
            "mailing_message, mailing_client CASCADE"
        )
        cursor.execute("DELETE FROM accounts_user WHERE email LIKE 'owner%@bench'")
    BlogPage.objects.all().delete()


def _step(number: int) -> str:
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    digits = ""
    while number:
        number, rest = divmod(number, 36)
        digits = alphabet[rest] + digits
    return digits.rjust(4, "0")


def _build_mailing_data() -> None:
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import User
    from mailing.models import Client, Delivery, Mailing, Message, Run

    started = time.monotonic()
    now = timezone.now()
    with transaction.atomic():
        owners = User.objects.bulk_create(
            User(email=f"owner{n}@bench", password="!") for n in range(OWNERS)
        )
        per_owner = CLIENTS // OWNERS
        # Addresses repeat across owners (the same person in several address
        # books), so unique clients is well below the number of rows.
        Client.objects.bulk_create(
            (
                Client(
                    owner=owners[n // per_owner],
                    email=f"person{n % 70_000}@example.com",
                    full_name=f"Person {n}",
                )
                for n in range(CLIENTS)
            ),
            batch_size=5000,
        )
        messages = Message.objects.bulk_create(
            Message(owner=owner, subject="News", body="Hello {{ full_name }}")
            for owner in owners
        )
        statuses = ["running"] * 3 + ["created"] * 3 + ["finished"] * 4
        Mailing.objects.bulk_create(
            (
                Mailing(
                    owner=owners[n % OWNERS],
                    message=messages[n % OWNERS],
                    start_at=now - timedelta(days=1),
                    end_at=now + timedelta(days=30),
                    periodicity="daily",
                    status=statuses[n % len(statuses)],
                    is_active=n % 17 != 0,
                )
                for n in range(MAILINGS)
            ),
            batch_size=5000,
        )
    print(f"  owners, clients, messages, mailings: {time.monotonic() - started:.0f}s")

    # The big tables are filled by PostgreSQL itself: each mailing gets a
    # window of its owner's clients as recipients and one run whose
    # deliveries go to a (larger) window of them.
    with connection.cursor() as cursor:
        for sql in (
            f"""
            WITH m AS (
                SELECT id, owner_id, row_number() OVER (
                    PARTITION BY owner_id ORDER BY id) AS nth
                FROM mailing_mailing),
            c AS (
                SELECT id, owner_id, row_number() OVER (
                    PARTITION BY owner_id ORDER BY id) - 1 AS nth
                FROM mailing_client)
            INSERT INTO mailing_mailing_clients (mailing_id, client_id)
            SELECT m.id, c.id FROM m JOIN c ON c.owner_id = m.owner_id
            WHERE c.nth >= (m.nth * 7) % {CLIENTS // OWNERS - 100}
              AND c.nth < (m.nth * 7) % {CLIENTS // OWNERS - 100}
                          + {RECIPIENTS_PER_MAILING}
            """,
            """
            INSERT INTO mailing_run (mailing_id, scheduled_for, status, created_at,
                                     started_at, finished_at, delivery_count,
                                     sent_count, failed_count, deferred_count)
            SELECT id, start_at, 'finished', now(), start_at, start_at, 0, 0, 0, 0
            FROM mailing_mailing
            """,
            f"""
            WITH r AS (
                SELECT r.id, m.owner_id, row_number() OVER (
                    PARTITION BY m.owner_id ORDER BY r.id) AS nth
                FROM mailing_run r JOIN mailing_mailing m ON m.id = r.mailing_id),
            c AS (
                SELECT id, email, owner_id, row_number() OVER (
                    PARTITION BY owner_id ORDER BY id) - 1 AS nth
                FROM mailing_client)
            INSERT INTO mailing_delivery (run_id, client_id, email, status, attempts,
                last_attempt_at, server_response, message_id, claimed_by)
            SELECT r.id, c.id, c.email,
                   CASE WHEN c.id % 20 = 0 THEN 'failed' ELSE 'sent' END, 1, now(),
                   CASE WHEN c.id % 20 = 0 THEN '550 5.1.1 No such user'
                        ELSE '250 2.0.0 OK' END, '', ''
            FROM r JOIN c ON c.owner_id = r.owner_id
            WHERE c.nth >= (r.nth * 3) % {CLIENTS // OWNERS - DELIVERIES_PER_RUN}
              AND c.nth < (r.nth * 3) % {CLIENTS // OWNERS - DELIVERIES_PER_RUN}
                          + {DELIVERIES_PER_RUN}
            """,
            # The counters the engine keeps, computed once from the rows.
            """
            UPDATE mailing_run r SET delivery_count = d.n, sent_count = d.sent,
                failed_count = d.failed, last_sent_at = d.last
            FROM (SELECT run_id, count(*) AS n,
                         count(*) FILTER (WHERE status = 'sent') AS sent,
                         count(*) FILTER (WHERE status = 'failed') AS failed,
                         max(last_attempt_at) FILTER (WHERE status = 'sent') AS last
                  FROM mailing_delivery GROUP BY run_id) d
            WHERE r.id = d.run_id
            """,
            "ANALYZE",
        ):
            cursor.execute(sql)
    print(
        f"  {Client.objects.count():,} clients, {Mailing.objects.count():,} "
        f"mailings, {Run.objects.count():,} runs, "
        f"{Delivery.objects.count():,} deliveries: {time.monotonic() - started:.0f}s"
    )


def _build_articles() -> None:
    from django.contrib.contenttypes.models import ContentType
    from django.db import connection, transaction
    from django.utils import timezone
    from wagtail.images.models import Image

    from blog.demo import illustration
    from blog.models import BlogPage
    from home.tree import site_tree_ensure

    started = time.monotonic()
    _, blog = site_tree_ensure()
    BlogPage.objects.all().delete()
    blog.refresh_from_db()
    images = [
        illustration(
            f"Bench {n}",
            ((n * 12 % 255, 90, 200), (30, n * 11 % 255, 120)),
            seed=n,
            size=(1200, 675),
        )
        for n in range(IMAGES)
    ]
    content_type = ContentType.objects.get_for_model(BlogPage)
    now = timezone.now()
    columns = (
        "path, depth, numchild, title, draft_title, slug, live, "
        "has_unpublished_changes, url_path, seo_title, show_in_menus, "
        "search_description, expired, content_type_id, locked, "
        "first_published_at, last_published_at, translation_key, locale_id"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY wagtailcore_page ({columns}) FROM STDIN") as copy:
            for n in range(1, ARTICLES + 1):
                published = now - timedelta(minutes=n)
                slug = f"bench-article-{n}"
                copy.write_row(
                    (
                        blog.path + _step(n),
                        blog.depth + 1,
                        0,
                        f"Benchmark article {n}",
                        f"Benchmark article {n}",
                        slug,
                        True,
                        False,
                        f"{blog.url_path}{slug}/",
                        "",
                        False,
                        f"Article {n} of the benchmark.",
                        False,
                        content_type.pk,
                        False,
                        published,
                        published,
                        str(uuid.uuid4()),
                        blog.locale_id,
                    )
                )
        cursor.execute(
            "SELECT id, path FROM wagtailcore_page WHERE path LIKE %s "
            "AND depth = %s ORDER BY path",
            [blog.path + "%", blog.depth + 1],
        )
        page_ids = [row[0] for row in cursor.fetchall()]
        body = json.dumps(
            [
                {
                    "type": "paragraph",
                    "value": "<p>" + "A paragraph of benchmark text. " * 20 + "</p>",
                    "id": str(uuid.uuid4()),
                },
                {
                    "type": "quote",
                    "value": {"text": "Measure twice.", "attribution": "Bench"},
                    "id": str(uuid.uuid4()),
                },
            ]
        )
        with raw.copy(
            "COPY blog_blogpage (page_ptr_id, introduction, body, date_published, "
            "view_count, image_id) FROM STDIN"
        ) as copy:
            for n, page_id in enumerate(page_ids, start=1):
                copy.write_row(
                    (
                        page_id,
                        f"Teaser of benchmark article {n}.",
                        body,
                        now - timedelta(minutes=n),
                        0,
                        images[n % len(images)].pk,
                    )
                )
        cursor.execute(
            "UPDATE wagtailcore_page SET numchild = %s WHERE id = %s",
            [len(page_ids), blog.pk],
        )
        cursor.execute("ANALYZE")
    assert Image.objects.count() >= IMAGES
    print(f"  {len(page_ids):,} articles: {time.monotonic() - started:.0f}s")


# -- the customer area at scale -----------------------------------------------

CUSTOMER_EMAIL = "customer@bench"
CUSTOMER_CLIENTS = 1_000_000
CUSTOMER_RUNS = 10  # x CUSTOMER_CLIENTS deliveries
CUSTOMER_SMALL_MAILINGS = 20  # one finished run of 1,000 deliveries each
CUSTOMER_REQUESTS = 200
# The status of delivery k (its client id modulo 20) in a finished run and in
# the run that is still sending.
FINISHED_STATUS = "CASE WHEN c.id %% 20 = 0 THEN 'failed' ELSE 'sent' END"
OPEN_STATUS = (
    "CASE WHEN c.id %% 20 = 0 THEN 'failed' WHEN c.id %% 20 = 1 THEN 'deferred' "
    "WHEN c.id %% 20 < 12 THEN 'sent' ELSE 'pending' END"
)


def customer_build() -> None:
    """One customer with 1,000,000 clients and a daily mailing to all of them
    that has 10 runs of 1,000,000 deliveries (the last one still sending),
    plus a few small mailings; built in one transaction, so an interrupted
    build leaves nothing behind and the next start builds it again."""
    from django.db import connection, transaction
    from django.utils import timezone

    from accounts.models import User
    from mailing.models import Mailing, Message, Run

    owner = User.objects.filter(email=CUSTOMER_EMAIL).first()
    if owner and Run.objects.filter(mailing__owner=owner).count() >= CUSTOMER_RUNS:
        return
    started = time.monotonic()
    now = timezone.now().replace(microsecond=0)
    with transaction.atomic(), connection.cursor() as cursor:
        if owner:
            owner.delete()
        owner = User.objects.create(email=CUSTOMER_EMAIL, password="!")
        cursor.execute(
            """
            INSERT INTO mailing_client (owner_id, email, full_name, comment,
                                        created_at, updated_at)
            SELECT %s, 'client' || n || '@' || (ARRAY['example.com', 'example.org',
                       'mail.example.net', 'post.example.de'])[1 + n %% 4],
                   'Customer ' || n,
                   CASE WHEN n %% 10 = 0 THEN 'VIP since ' || (2000 + n %% 25)
                        ELSE '' END,
                   %s - n * interval '1 second', %s
            FROM generate_series(1, %s) AS n
            """,
            [owner.pk, now, now, CUSTOMER_CLIENTS],
        )
        message = Message.objects.create(
            owner=owner, subject="Daily news", body="Hello {{ full_name }}"
        )
        big = Mailing.objects.create(
            owner=owner,
            message=message,
            start_at=now - timedelta(days=CUSTOMER_RUNS),
            end_at=now + timedelta(days=20),
            periodicity="daily",
            status="running",
            next_run_at=now + timedelta(hours=1),
        )
        cursor.execute(
            "INSERT INTO mailing_mailing_clients (mailing_id, client_id) "
            "SELECT %s, id FROM mailing_client WHERE owner_id = %s",
            [big.pk, owner.pk],
        )
        print(
            f"  1 customer, {CUSTOMER_CLIENTS:,} clients: "
            f"{time.monotonic() - started:.0f}s"
        )
        small = [
            Mailing.objects.create(
                owner=owner,
                message=message,
                start_at=now - timedelta(days=40 + n),
                end_at=now - timedelta(days=39 + n),
                status="finished",
            )
            for n in range(CUSTOMER_SMALL_MAILINGS)
        ]
        for n in range(CUSTOMER_RUNS):
            last = n == CUSTOMER_RUNS - 1
            scheduled = big.start_at + timedelta(days=n)
            run = Run.objects.create(
                mailing=big,
                scheduled_for=scheduled,
                status="running" if last else "finished",
                started_at=scheduled,
                finished_at=None if last else scheduled + timedelta(hours=1),
            )
            _customer_deliveries(
                cursor,
                run,
                owner,
                OPEN_STATUS if last else FINISHED_STATUS,
                limit=CUSTOMER_CLIENTS,
            )
            print(f"  run {n + 1}: {time.monotonic() - started:.0f}s")
        for mailing in small:
            run = Run.objects.create(
                mailing=mailing,
                scheduled_for=mailing.start_at,
                status="finished",
                started_at=mailing.start_at,
                finished_at=mailing.start_at + timedelta(minutes=5),
            )
            _customer_deliveries(cursor, run, owner, FINISHED_STATUS, limit=1000)
        # The counters the engine keeps, computed once from the rows.
        cursor.execute(
            """
            UPDATE mailing_run r SET delivery_count = d.n, sent_count = d.sent,
                failed_count = d.failed, deferred_count = d.deferred,
                last_sent_at = d.last
            FROM (SELECT run_id, count(*) AS n,
                         count(*) FILTER (WHERE status = 'sent') AS sent,
                         count(*) FILTER (WHERE status = 'failed') AS failed,
                         count(*) FILTER (WHERE attempts > 0
                             AND status NOT IN ('sent', 'failed')) AS deferred,
                         max(last_attempt_at) FILTER (WHERE status = 'sent') AS last
                  FROM mailing_delivery
                  WHERE run_id IN (SELECT r.id FROM mailing_run r
                      JOIN mailing_mailing m ON m.id = r.mailing_id
                      WHERE m.owner_id = %s)
                  GROUP BY run_id) d
            WHERE r.id = d.run_id
            """,
            [owner.pk],
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM ANALYZE mailing_client, mailing_mailing_clients, mailing_run, "
            "mailing_delivery"
        )
    print(f"  customer area built: {time.monotonic() - started:.0f}s")


def _customer_deliveries(cursor, run, owner, status_sql: str, *, limit: int) -> None:
    cursor.execute(
        f"""
        INSERT INTO mailing_delivery (run_id, client_id, email, status, attempts,
            last_attempt_at, server_response, message_id, claimed_by)
        SELECT %(run)s, c.id, c.email, s.status,
               CASE WHEN s.status = 'pending' THEN 0 ELSE 1 END,
               CASE WHEN s.status = 'pending' THEN NULL
                    ELSE %(at)s + (c.id %% 3600) * interval '1 second' END,
               CASE s.status
                 WHEN 'sent' THEN '250 2.0.0 Ok: queued as '
                                  || upper(to_hex(c.id * 7919 + %(run)s))
                 WHEN 'failed' THEN '550 5.1.1 <' || c.email
                                  || '>: Recipient address rejected: User unknown'
                 WHEN 'deferred' THEN '451 4.7.1 Greylisted, please try again later'
                 ELSE '' END,
               '<run' || %(run)s || '.client' || c.id || '@bench>', ''
        FROM (SELECT id, email FROM mailing_client WHERE owner_id = %(owner)s
              ORDER BY id LIMIT %(limit)s) c
        CROSS JOIN LATERAL (SELECT {status_sql} AS status) s
        """,
        {"run": run.pk, "owner": owner.pk, "at": run.scheduled_for, "limit": limit},
    )


def customer_measure(port: int) -> None:
    """Warm p50 / p99 and queries of every customer page, against targets."""

    from accounts.models import User
    from mailing.models import Client, Delivery, Mailing

    owner = User.objects.get(email=CUSTOMER_EMAIL)
    big = Mailing.objects.filter(owner=owner, status="running").get()
    runs = list(big.runs.order_by("-pk").values_list("pk", flat=True))
    browser, cookie = login(owner)
    older = Delivery.objects.filter(run_id=runs[3]).order_by("-id")[5000]
    detail = f"/app/mailings/{big.pk}/"
    pages = [
        ("baseline: robots.txt (no database)", "/robots.txt", None),
        ("dashboard", "/app/", 200),
        ("mailing list", "/app/mailings/", 200),
        ("mailing page", detail, 200),
        ("  log: status failed", f"{detail}?status=failed", 200),
        (
            "  log: status deferred, one run",
            f"{detail}?status=deferred&run={runs[0]}",
            200,
        ),
        ("  log: text 'user unknown'", f"{detail}?q=user+unknown", 200),
        ("  log: text '@example.org'", f"{detail}?q=%40example.org", 200),
        (
            "  log: an older page (keyset)",
            f"{detail}?after={older.run_id}.{older.pk}",
            200,
        ),
        ("progress JSON", f"{detail}progress/", 20),
        ("client list", "/app/clients/", 200),
        ("client list, page 300 by name", "/app/clients/?sort=name&page=300", 200),
        ("client list, newest first", "/app/clients/?sort=-created", 200),
        ("client search, rare 'client424242@'", "/app/clients/?q=client424242%40", 200),
        ("client search, common 'example.org'", "/app/clients/?q=example.org", 200),
        (
            "client search, comment 'vip since 2013'",
            "/app/clients/?q=vip+since+2013",
            200,
        ),
        (
            "picker search.json 'client99999@'",
            "/app/clients/search.json?q=client99999%40",
            200,
        ),
        (
            "picker search.json 'customer 99999'",
            "/app/clients/search.json?q=customer+99999",
            200,
        ),
        ("new-mailing form", "/app/mailings/new/", 200),
    ]
    unmatched = (
        "  log: text matching nothing",
        f"{detail}?q=no-such-reply-anywhere",
        None,
    )
    print(
        f"Customer {CUSTOMER_EMAIL}: {Client.objects.filter(owner=owner).count():,} "
        f"clients, mailing {big.pk} with {len(runs)} runs and "
        f"{sum(big.runs.values_list('delivery_count', flat=True)):,} deliveries; "
        f"{CUSTOMER_REQUESTS} warm requests per page from {CONCURRENCY} clients"
    )
    header = (
        f"{'customer page':<40}{'min ms':>8}{'p50 ms':>9}{'p99 ms':>9}{'target':>8}"
        f"{'queries':>9}{'bytes':>10}  ok"
    )
    print()
    print(header)
    print("-" * len(header))
    failures = []
    for name, path, target in [*pages, unmatched]:
        figures, queries, size = measure_page(
            port,
            path,
            browser=browser,
            cookie=cookie,
            requests=CUSTOMER_REQUESTS,
            concurrency=CONCURRENCY,
        )
        ok = "—" if target is None else ("yes" if figures["p99"] <= target else "NO")
        if ok == "NO":
            failures.append((name.strip(), queries))
        print(
            f"{name:<40}{figures['min']:>8.1f}{figures['p50']:>9.1f}"
            f"{figures['p99']:>9.1f}"
            f"{target or '':>8}{len(queries):>9}{size:>10}  {ok}"
        )
    print()
    print(
        "Targets (p99 <= 200 ms, progress JSON <= 20 ms): "
        + (
            "all met"
            if not failures
            else "missed by " + ", ".join(n for n, _ in failures)
        )
    )
    for name, captured in failures:
        explain_slowest(name, captured)


# -- measuring ----------------------------------------------------------------


def flush_cache() -> None:
    from django_redis import get_redis_connection

    get_redis_connection("default").flushdb()


def measure_cold(port, paths, requests) -> dict:
    latencies, errors = [], []
    for n in range(requests):
        flush_cache()
        status, elapsed = get(port, paths(n))
        latencies.append(elapsed)
        if status != 200:
            errors.append(status)
    return summary(latencies, sum(latencies), errors)


def queries_per_request(path_for, *, cold: bool) -> float:
    """Queries one request costs, counted in this process on the same data."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    counts = []
    for n in range(5):
        client = Client(HTTP_USER_AGENT=USER_AGENT, HTTP_HOST="127.0.0.1")
        if cold:
            flush_cache()
        else:
            client.get(path_for(n + 1000))
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path_for(n))
        assert response.status_code == 200, (path_for(n), response.status_code)
        counts.append(len(queries))
    return statistics.mean(counts)


def site_section() -> None:
    """The public pages: home with its figures, an article, the blog search."""
    from blog.models import BlogPage
    from blog.selectors import article_cards_prime
    from mailing.models import Client, Delivery, Mailing
    from mailing.selectors import site_figures

    slugs = list(BlogPage.objects.live().values_list("slug", flat=True))
    rng = random.Random(5)
    article_paths = [f"/blog/{rng.choice(slugs)}/" for _ in range(WARM_REQUESTS * 2)]
    pages = {
        "home page": lambda n: "/",
        "article page": lambda n: article_paths[n % len(article_paths)],
        "no figures (blog search form)": lambda n: "/blog/search/",
    }
    print(
        f"Data: {Client.objects.count():,} clients, {Mailing.objects.count():,} "
        f"mailings, {Delivery.objects.count():,} deliveries, "
        f"{len(slugs):,} articles; figures {site_figures()}"
    )

    port = free_port()
    server = start_gunicorn(port, environment(), WORKERS)
    try:
        # Warm up: renditions of every image, figures, ids, and every card.
        flush_cache()
        for n in range(60):
            for path_for in pages.values():
                get(port, path_for(n))
        for n in range(1, IMAGES + 1):  # one article per image: all renditions
            get(port, f"/blog/bench-article-{n}/")
        primed = article_cards_prime()
        print(
            f"gunicorn: {WORKERS} sync workers, DEBUG off, "
            f"127.0.0.1:{port}; warm: {WARM_REQUESTS} requests from "
            f"{CONCURRENCY} clients after priming {primed:,} cards; cold: "
            f"{COLD_REQUESTS} requests one at a time, cache flushed before each"
        )
        rows = []
        for name, path_for in pages.items():
            warm = measure_warm(port, path_for, WARM_REQUESTS, CONCURRENCY)
            warm_queries = queries_per_request(path_for, cold=False)
            cold = measure_cold(port, path_for, COLD_REQUESTS)
            cold_queries = queries_per_request(path_for, cold=True)
            flush_cache()
            for n in range(30):
                get(port, path_for(n))
            article_cards_prime()
            rows.append((name, warm, warm_queries, cold, cold_queries))
    finally:
        stop_gunicorn(server)

    header = (
        f"{'page':<31}{'cache':<6}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'p99/p50':>9}{'queries':>9}{'errors':>8}"
    )
    print()
    print(header)
    print("-" * len(header))
    for name, warm, warm_queries, cold, cold_queries in rows:
        for label, figures, queries in (
            ("warm", warm, warm_queries),
            ("cold", cold, cold_queries),
        ):
            print(
                f"{name:<31}{label:<6}{figures['rps']:>9.1f}{figures['p50']:>9.1f}"
                f"{figures['p99']:>9.1f}{figures['p99'] / figures['p50']:>9.2f}"
                f"{queries:>9.1f}{figures['errors']:>8}"
            )
    home, article, plain = rows
    print()
    print(
        f"Targets: warm article queries {article[2]:.1f} (<= 5); warm home "
        f"queries {home[2]:.1f} (<= 3); warm p99/p50 home "
        f"{home[1]['p99'] / home[1]['p50']:.2f}, article "
        f"{article[1]['p99'] / article[1]['p50']:.2f} (<= 2); warm home "
        f"throughput {home[1]['rps'] / plain[1]['rps']:.2f} of the figure-less "
        "page (>= 0.8)"
    )


def customer_section() -> None:
    """The customer area of one customer with a million clients."""
    port = free_port()
    server = start_gunicorn(port, environment(), WORKERS)
    try:
        customer_measure(port)
    finally:
        stop_gunicorn(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument(
        "--only", choices=["site", "customer"], help="build and measure one section"
    )
    parser.add_argument(
        "--build-only",
        action="store_true",
        help="build what is missing, measure nothing",
    )
    args = parser.parse_args()

    VAR.mkdir(parents=True, exist_ok=True)
    create_database(DB_NAME)
    setup_django(environment())
    print(f"Database {DB_NAME}: building what is missing (once; reused later)")
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if args.only != "customer":
        build(rebuild=args.rebuild)
    if args.only != "site":
        customer_build()
    if args.build_only:
        return
    if args.only != "customer":
        site_section()
    if args.only != "site":
        customer_section()


if __name__ == "__main__":
    main()
