"""The send engine: plans due runs and delivers them over SMTP.

Only services, tasks and the `send_mailings` command call it; nothing else
reaches SMTP. The entry points are in `mailing.engine.services`:
`send_due_mailings()`, `mailing_start_run(mailing=...)`,
`queue_due_mailings()` and `run_dispatch(run=...)`.

    planner.py     due mailings -> Run + Delivery rows, next_run_at, statuses
    dispatcher.py  claims with leases, parallel connections, breaker, results
    transport.py   the only module that talks SMTP; classifies replies
    message.py     the bytes of one message for one client
"""
