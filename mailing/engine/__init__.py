"""The send engine: plans due runs and delivers them over SMTP.

Only services, tasks and the `send_mailings` command call it; nothing else
reaches SMTP. The entry points live in `mailing.engine.services`.
"""
