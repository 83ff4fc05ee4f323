"""The send engine: plans due runs and delivers them over SMTP.

Only services, tasks and the `send_mailings` command call it; nothing else
reaches SMTP. The entry points are in `mailing.engine.services`
(`send_due_mailings()`, `mailing_start_run(mailing=...)`,
`run_deliver_share(run=...)`, `mailing_send_test(...)` for "Send a test");
queueing runs for the task workers is a service of the app
(`mailing.services.queueing.queue_due_mailings()`).

    planner.py     due mailings -> Run + Delivery rows, next_run_at, statuses
    processes.py   a big run shared by forked dispatcher processes
    dispatcher.py  one dispatcher: ties claiming, sending and recording
    claim.py       claims with leases, the heartbeat
    send.py        sender threads (one connection each), breaker, pauses
    record.py      results -> deliveries, attempts, run counters (writer)
    journal.py     each result durable at once; dead dispatchers' replayed
    transport.py   the only module that talks SMTP; classifies replies
    message.py     the bytes of one message for one client
    preflight.py   the pre-flight check of a mailing (deliverability's rules)
    config.py      the knobs, read from settings at call time
"""
