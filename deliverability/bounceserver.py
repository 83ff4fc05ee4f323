"""The SMTP receiver behind the bounce domain's MX (`manage.py
bounce_server`): it accepts mail only for VERP addresses of ours
(`b-<token>@<BOUNCE_DOMAIN>` whose token checks out) and hands each message
to the intake (`deliverability.bounces`). Anything else is refused at RCPT,
so the server is no open relay and a forged token gets a 550.
"""

import asyncio
import logging

from aiosmtpd.controller import Controller
from django.db import close_old_connections

from deliverability import config
from deliverability.bounces import message_apply
from deliverability.reports import NotAReport
from deliverability.verp import delivery_id_from_verp

logger = logging.getLogger("deliverability.bounces")

MAX_MESSAGE_BYTES = 10 * 1024 * 1024


def is_our_address(address: str) -> bool:
    """A VERP address of the bounce domain whose token checks out."""
    domain = address.rpartition("@")[2].strip(">").lower()
    return (
        domain == config.bounce_domain() and delivery_id_from_verp(address) is not None
    )


def _apply(raw: bytes, recipients: list[str]) -> str:
    """Run the intake (in a worker thread: the ORM is synchronous)."""
    close_old_connections()
    try:
        applied = message_apply(raw=raw, envelope_recipients=recipients)
    except NotAReport:
        # Taken and dropped: a refusal would only bounce it back to its
        # sender, who is a mail server.
        logger.info("Not a bounce or complaint report: dropped")
        return "250 2.0.0 Ok: not a report, dropped"
    finally:
        close_old_connections()
    return f"250 2.0.0 Ok: {len(applied)} report(s) read"


class BounceHandler:
    """aiosmtpd handler of the bounce domain."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if not is_our_address(address):
            return "550 5.1.1 No such recipient here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(
                None, _apply, envelope.content, list(envelope.rcpt_tos)
            )
        except Exception:
            logger.exception("Reading a report failed")
            return "451 4.3.0 Could not process the report, try again later"


def bounce_controller(host: str, port: int) -> Controller:
    """An aiosmtpd Controller (start() it, stop() it) serving the bounce
    domain on host:port."""
    return Controller(
        BounceHandler(),
        hostname=host,
        port=port,
        data_size_limit=MAX_MESSAGE_BYTES,
        server_hostname=config.bounce_domain(),
    )
