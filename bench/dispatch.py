"""Dispatch throughput: prints figures, is not a test.

One run of a mailing to 10,000 (and, with --large, 100,000) clients on
PostgreSQL (its own database, `bench_dispatch`, created and dropped here),
through a local SMTP sink: Postfix's `smtp-sink` when installed (a Python
sink would be the bottleneck), aiosmtpd otherwise. For each size it prints
messages per second, the dispatcher's peak RSS, database queries and CPU
time per delivered message, once unsigned and once DKIM-signed (a platform
key made for the run, RSA 2048, as every message of a real mailing is
signed), side by side with the ratio of the two; on the same sink it times
(a) the naive way, Django's `send_mail` once per recipient, and (b) the best
bare client without any database (smtplib over 10-50 reused connections in
threads, and aiosmtplib over as many in one event loop), and prints our
rate as ratios of both; the best bare client is timed once more just before
each unsigned run, and the ratio to that timing is printed too (these
shared machines change speed from minute to minute, and the best of six
timings is itself an outlier).

With --crash it then kills a dispatcher (`kill -9` of its whole process
group, forked dispatchers included) five times in the middle of a run of
its own, lets another dispatcher take the work over once the short lease
(`--lease`, 3 s) has run out, and prints for each kill how many clients got
nothing (lost, must be 0) and how many extra copies arrived (duplicated,
target <= 2 x connections x processes; the journal bounds it by the
messages on the wire, one per connection). That needs a sink that counts
recipients, so crash runs always use the aiosmtpd sink.

    .venv/bin/python bench/dispatch.py            # 10,000 clients
    .venv/bin/python bench/dispatch.py --large    # 10,000 and 100,000
    .venv/bin/python bench/dispatch.py --crash    # and five kills

The admin database URL comes from BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/postgres); BENCH_DB_NAME names the
database it creates and drops (default `bench_dispatch`).
"""

import argparse
import asyncio
import json
import os
import resource
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import threading
import time
from collections import Counter

from common import ADMIN_URL, database_url, free_port, peak_rss_mb

DB_NAME = os.environ.get("BENCH_DB_NAME", "bench_dispatch")
BODY = (
    "Dear {{ full_name }},\n\nThis is the monthly news for {{ email }}.\n"
    + "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 8
    + "\n"
)


def setup_django(sink_port: int, **engine) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "mailsite.settings.test"
    os.environ["DATABASE_URL"] = database_url(DB_NAME)
    os.environ["EMAIL_URL"] = f"smtp://127.0.0.1:{sink_port}"
    os.environ.setdefault("EMAIL_TIMEOUT", "10")
    import django
    from django.conf import settings

    django.setup()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    for key, value in engine.items():
        setattr(settings, key, value)


# -- the sink ---------------------------------------------------------------


def start_sink():
    """(name, port, stop) for Postfix's smtp-sink, or aiosmtpd."""
    port = free_port()
    binary = shutil.which("smtp-sink") or (
        "/usr/sbin/smtp-sink" if os.path.exists("/usr/sbin/smtp-sink") else None
    )
    if binary:
        command = [binary, "-m", "200"]
        if os.geteuid() == 0:
            command += ["-u", "nobody"]
        process = subprocess.Popen(
            [*command, f"127.0.0.1:{port}", "256"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)

        def stop():
            process.terminate()
            process.wait()

        return f"Postfix smtp-sink ({binary})", port, stop
    from mailing.devtools.smtp_sink import SMTPSink

    sink = SMTPSink(port=port).start()

    def stop_python():
        sink.stop()

    sink.messages = _Discard()
    return "aiosmtpd (Postfix's smtp-sink is not installed)", port, stop_python


class _Discard(list):
    def append(self, item):
        pass


class _Tally(list):
    """Counts recipients instead of keeping messages (for the crash runs)."""

    def __init__(self):
        super().__init__()
        self.received = Counter()

    def append(self, item):
        self.received.update(item.rcpt_tos)

    def clear(self):
        self.received = Counter()


# -- the database -------------------------------------------------------------


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def drop_database() -> None:
    import psycopg

    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def create_mailing(count: int) -> int:
    """A once mailing due now to `count` fresh clients (bulk SQL, fast)."""
    from datetime import timedelta

    from django.db import connection
    from django.utils import timezone

    from accounts.models import User
    from mailing.models import Client, Mailing, Message
    from mailing.scheduling import next_run_at_for

    owner = User.objects.create_user(
        email=f"bench{count}-{time.time_ns()}@example.com", password="x" * 12
    )
    message = Message.objects.create(
        owner=owner,
        subject="News for {{ full_name }}",
        body=BODY,
        html_body="<p>Dear {{ full_name }},</p><p>" + BODY + "</p>",
    )
    now = timezone.now()
    mailing = Mailing.objects.create(
        owner=owner,
        message=message,
        start_at=now - timedelta(minutes=1),
        end_at=now + timedelta(days=1),
    )
    mailing.next_run_at = next_run_at_for(mailing, now=now)
    mailing.save()
    through = Mailing.clients.through._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""INSERT INTO {Client._meta.db_table}
                (owner_id, email, full_name, comment, attributes, created_at,
                 updated_at)
                SELECT %s, 'client' || i || '@bench.example', 'Client ' || i, '',
                       '{{}}'::jsonb, now(), now()
                FROM generate_series(1, %s) AS i""",
            [owner.pk, count],
        )
        cursor.execute(
            f"""INSERT INTO {through} (mailing_id, client_id)
                SELECT %s, id FROM {Client._meta.db_table} WHERE owner_id = %s""",
            [mailing.pk, owner.pk],
        )
    return mailing.pk


# -- the three ways of sending --------------------------------------------------


def count_queries_everywhere():
    """A counter of every query this process, its threads and the dispatcher
    processes it forks make: instruments each database connection as it
    opens (Django's `connection_created` signal), from outside the engine;
    the counter lives in shared memory, so forked processes add to it."""
    import multiprocessing

    from django.db import connections
    from django.db.backends.signals import connection_created

    counter = multiprocessing.Value("q", 0)

    def count(execute, sql, params, many, context):
        with counter.get_lock():
            counter.value += 1
        return execute(sql, params, many, context)

    def instrument(sender, connection, **kwargs):
        # The same wrappers as `connection.execute_wrapper(count)`, for the
        # connection's whole life rather than a `with` block.
        if count not in connection.execute_wrappers:
            connection.execute_wrappers.append(count)

    connection_created.connect(instrument, weak=False)
    for conn in connections.all():
        instrument(None, conn)
    return counter


def cpu_seconds() -> float:
    """CPU time of this process and its reaped children (forked dispatchers):
    a figure that a busy machine moves much less than a rate."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def child_engine(mailing_id: int) -> None:
    """In a fresh process: plan and deliver one mailing; print JSON figures."""
    from mailing.engine.services import mailing_start_run
    from mailing.models import Delivery, Mailing

    queries = count_queries_everywhere()
    mailing = Mailing.objects.get(pk=mailing_id)
    cpu_before = cpu_seconds()
    started = time.perf_counter()
    report = mailing_start_run(mailing=mailing)
    seconds = time.perf_counter() - started
    cpu = cpu_seconds() - cpu_before
    counted = queries.value
    sent = Delivery.objects.filter(run__mailing=mailing, status="sent").count()
    total = Delivery.objects.filter(run__mailing=mailing).count()
    print(
        json.dumps(
            {
                "sent": sent,
                "total": total,
                "seconds": seconds,
                "queries": counted,
                "cpu_seconds": cpu,
                "processes": report.dispatch.processes,
                "peak_rss_mb": peak_rss_mb(),
            }
        )
    )


def _engine_command(
    mailing_id, port, connections, processes, lease=None, dkim_key=None
) -> list:
    command = [
        sys.executable,
        __file__,
        "--child",
        str(mailing_id),
        "--port",
        str(port),
        "--connections",
        str(connections),
        "--processes",
        str(processes),
    ]
    if lease is not None:
        command += ["--child-lease", str(lease)]
    if dkim_key is not None:
        command += ["--child-dkim", str(dkim_key)]
    return command


def run_engine(
    count: int, port: int, connections: int, processes: int, dkim_key=None
) -> dict:
    """One run of `count` clients in a fresh process; signed with the key in
    the file `dkim_key` (the platform's), or unsigned when it is None."""
    mailing_id = create_mailing(count)
    output = subprocess.run(
        _engine_command(mailing_id, port, connections, processes, dkim_key=dkim_key),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def crash_round(sink, port, *, count, kill_at, connections, processes, lease):
    """One run whose dispatcher is killed (SIGKILL, every process of it) when
    `kill_at` messages have arrived; another one finishes it after the lease.
    Returns (arrived before the kill, lost, duplicated)."""
    from mailing.models import Delivery

    mailing_id = create_mailing(count)
    sink.messages.clear()
    victim = subprocess.Popen(
        _engine_command(mailing_id, port, connections, processes, lease),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: forks included
    )
    deadline = time.monotonic() + 120
    while sum(sink.messages.received.values()) < kill_at:
        if victim.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("The dispatcher ended before it could be killed.")
        time.sleep(0.005)
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    arrived = sum(sink.messages.received.values())
    time.sleep(lease + 0.5)  # the dead dispatcher's leases run out
    subprocess.run(
        _engine_command(mailing_id, port, connections, processes, lease),
        capture_output=True,
        check=True,
    )
    received = sink.messages.received
    emails = set(
        Delivery.objects.filter(run__mailing_id=mailing_id).values_list(
            "email", flat=True
        )
    )
    unsent = (
        Delivery.objects.filter(run__mailing_id=mailing_id)
        .exclude(status="sent")
        .count()
    )
    lost = len(emails - set(received)) + unsent
    duplicated = sum(received[email] - 1 for email in emails if received[email] > 1)
    return arrived, lost, duplicated


def naive(port: int, count: int) -> float:
    """Django's send_mail once per recipient: a new connection every time."""
    from django.core.mail import send_mail

    started = time.perf_counter()
    for i in range(count):
        send_mail(
            f"News for Client {i}",
            BODY,
            "Mailsite <noreply@localhost>",
            [f"naive{i}@bench.example"],
        )
    return count / (time.perf_counter() - started)


def _bare_message(i: int) -> bytes:
    return (
        f"From: noreply@localhost\r\nTo: bare{i}@bench.example\r\n"
        f"Subject: News for Client {i}\r\nMessage-ID: <bare{i}@localhost>\r\n"
        f"\r\n{BODY}".replace("\n", "\r\n").replace("\r\r\n", "\r\n")
    ).encode()


def bare_smtplib(port: int, count: int, connections: int) -> float:
    """smtplib over reused connections in threads; no database at all."""
    counter = iter(range(count))
    lock = threading.Lock()

    def work():
        conn = smtplib.SMTP("127.0.0.1", port, timeout=10)
        while True:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            conn.sendmail(
                "noreply@localhost", [f"bare{i}@bench.example"], _bare_message(i)
            )
        conn.quit()

    threads = [threading.Thread(target=work) for _ in range(connections)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return count / (time.perf_counter() - started)


def bare_aiosmtplib(port: int, count: int, connections: int) -> float:
    """aiosmtplib over reused connections in one event loop."""
    import aiosmtplib

    async def main():
        queue = asyncio.Queue()
        for i in range(count):
            queue.put_nowait(i)

        async def work():
            client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=10)
            await client.connect()
            while not queue.empty():
                i = queue.get_nowait()
                await client.sendmail(
                    "noreply@localhost", [f"bare{i}@bench.example"], _bare_message(i)
                )
            await client.quit()

        await asyncio.gather(*(work() for _ in range(connections)))

    started = time.perf_counter()
    asyncio.run(main())
    return count / (time.perf_counter() - started)


def _parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--large", action="store_true", help="also 100,000 clients")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument(
        "--processes",
        type=int,
        default=os.cpu_count() or 1,
        help="MAILING_PROCESSES for the engine (default: one per CPU)",
    )
    parser.add_argument(
        "--crash", action="store_true", help="then kill a dispatcher five times"
    )
    parser.add_argument(
        "--crash-clients", type=int, default=10_000, help="clients per crash run"
    )
    parser.add_argument(
        "--lease",
        type=float,
        default=3.0,
        help="MAILING_LEASE_SECONDS in the crash runs (default 3)",
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-lease", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--child-dkim", help=argparse.SUPPRESS)
    return parser.parse_args()


def _run_child(args: argparse.Namespace) -> None:
    engine = {
        "MAILING_CONNECTIONS": args.connections,
        "MAILING_PROCESSES": args.processes,
    }
    if args.child_lease:
        engine["MAILING_LEASE_SECONDS"] = args.child_lease
    # Signed and unsigned runs differ in the key only: the same domains, so
    # the same headers and VERP return paths.
    engine["MAILING_DOMAIN"] = "bench.example"
    engine["DKIM_SELECTOR"] = "bench"
    engine["DKIM_PRIVATE_KEY"] = args.child_dkim or ""
    setup_django(args.port, **engine)
    child_engine(args.child)


def _baselines(port: int):
    """(a) the naive rate and (b) the best bare client's, printed; and the
    best bare client itself, to be timed again beside each engine run."""
    naive_rate = naive(port, 2000)
    print(f"(a) naive send_mail per recipient: {naive_rate:8.0f} msg/s")
    bare, bare_cpu, clients = {}, {}, {}
    for connections in (10, 20, 50):
        for name, client in (
            (f"smtplib, {connections} threads", bare_smtplib),
            (f"aiosmtplib, {connections} connections", bare_aiosmtplib),
        ):
            cpu_before = cpu_seconds()
            bare[name] = client(port, 20000, connections)
            bare_cpu[name] = (cpu_seconds() - cpu_before) / 20000
            clients[name] = (client, connections)
    for name, rate in bare.items():
        print(
            f"    bare {name:28}: {rate:8.0f} msg/s,"
            f" {bare_cpu[name] * 1e6:4.0f} µs CPU/msg"
        )
    best_name, best = max(bare.items(), key=lambda item: item[1])
    print(f"(b) best bare client ({best_name}): {best:8.0f} msg/s")
    client, connections = clients[best_name]
    return naive_rate, best, lambda: client(port, 20000, connections)


def _print_engine(
    label: str, size: int, figures: dict, naive_rate, best, beside=None
) -> float:
    rate = figures["sent"] / figures["seconds"]
    print(
        f"Engine, {label:8} {size:>7,} clients: {figures['sent']:,}"
        f"/{figures['total']:,} sent in {figures['seconds']:.1f}s ="
        f" {rate:,.0f} msg/s; peak RSS {figures['peak_rss_mb']:.0f} MB;"
        f" {figures['queries'] / max(figures['sent'], 1):.4f} queries/msg"
    )
    print(
        f"    {figures['cpu_seconds'] / max(figures['sent'], 1) * 1e6:.0f}"
        f" µs CPU/msg in the dispatcher processes (planning included;"
        f" PostgreSQL's and the sink's not)"
    )
    print(
        f"    = {rate / naive_rate:.1f}x naive (target >= 3x),"
        f" {100 * rate / best:.0f}% of the best bare client"
        + (" (target >= 80%)" if label == "unsigned" else "")
    )
    if beside:
        print(
            f"    = {100 * rate / beside:.0f}% of the best bare client timed"
            f" again just before this run ({beside:,.0f} msg/s; target >= 80%)"
        )
    return rate


def _dkim_key_file() -> str:
    """A fresh platform key (RSA 2048, as customers' domains get) in a
    temporary file; the caller removes it."""
    import tempfile

    from deliverability.keys import generate_rsa_key

    handle, path = tempfile.mkstemp(prefix="bench-dkim-", suffix=".pem")
    with os.fdopen(handle, "w") as file:
        file.write(generate_rsa_key()[0])
    return path


def _engine_runs(args, port: int, naive_rate: float, best: float, bare) -> None:
    sizes = [10_000, 100_000] if args.large else [10_000]
    results = {}
    key_file = _dkim_key_file()
    try:
        for size in sizes:
            rates = {}
            for label, key in (("unsigned", None), ("signed", key_file)):
                # These shared machines change speed from one minute to the
                # next: the best bare client (the best of six timings above)
                # is timed again beside the unsigned run, to compare like
                # with like.
                beside = bare() if label == "unsigned" else None
                figures = run_engine(
                    size, port, args.connections, args.processes, dkim_key=key
                )
                results[size, label] = figures
                rates[label] = _print_engine(
                    label, size, figures, naive_rate, best, beside
                )
            cpu = {
                label: results[size, label]["cpu_seconds"]
                / max(results[size, label]["sent"], 1)
                * 1e6
                for label in rates
            }
            print(
                f"Signed / unsigned, {size:,} clients:"
                f" {100 * rates['signed'] / rates['unsigned']:.0f}% (target >= 50%);"
                f" signing adds {cpu['signed'] - cpu['unsigned']:.0f} µs CPU/msg"
            )
    finally:
        os.unlink(key_file)
    if 100_000 in sizes:
        ratio = (
            results[100_000, "unsigned"]["peak_rss_mb"]
            / results[10_000, "unsigned"]["peak_rss_mb"]
        )
        print(f"Peak RSS 100k / 10k (unsigned): {ratio:.2f} (target <= 1.2)")


def _crash_runs(args, crash_sink) -> None:
    # The target; the journal's own bound is half of it, the
    # messages on the wire (one per connection).
    target = 2 * args.connections * args.processes
    print(
        f"Crash runs: {args.crash_clients:,} clients each, kill -9 of the"
        f" dispatcher ({args.processes} process(es) x {args.connections}"
        f" connections), takeover after a {args.lease:g} s lease:"
    )
    for n in range(5):
        arrived, lost, duplicated = crash_round(
            crash_sink,
            crash_sink.port,
            count=args.crash_clients,
            kill_at=args.crash_clients * (15 + 15 * n) // 100,
            connections=args.connections,
            processes=args.processes,
            lease=args.lease,
        )
        print(
            f"    kill {n + 1} after {arrived:>6,} messages: lost {lost}"
            f" (must be 0), duplicated {duplicated} (target <= {target};"
            f" on the wire: <= {target // 2})"
        )


def main() -> None:
    args = _parse_args()
    if args.child:
        _run_child(args)
        return

    sink_name, port, stop_sink = start_sink()
    stop_crash_sink = None
    recreate_database()
    try:
        setup_django(port)
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        print(f"Sink: {sink_name} on 127.0.0.1:{port}")
        print(f"CPUs: {os.cpu_count()}; PostgreSQL database {DB_NAME}")
        naive_rate, best, bare = _baselines(port)
        _engine_runs(args, port, naive_rate, best, bare)
        if args.crash:
            from mailing.devtools.smtp_sink import SMTPSink

            crash_sink = SMTPSink().start()
            crash_sink.messages = _Tally()
            stop_crash_sink = crash_sink.stop
            _crash_runs(args, crash_sink)
    finally:
        from django.db import connections

        connections.close_all()
        stop_sink()
        if stop_crash_sink:
            stop_crash_sink()
        drop_database()


if __name__ == "__main__":
    main()
