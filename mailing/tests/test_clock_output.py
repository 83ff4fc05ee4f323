"""What the clock (`send_mailings --watch`) prints round after round."""

from io import StringIO

import pytest

from mailing.management.commands.send_mailings import Command
from mailing.tests.engine_support import make_mailing


@pytest.mark.django_db
def test_idle_rounds_are_quiet_and_busy_ones_are_reported(smtp_sink):
    out = StringIO()
    command = Command(stdout=out)
    command._once(False, quiet_when_idle=True)
    assert out.getvalue() == ""

    make_mailing(clients=2)
    command._once(False, quiet_when_idle=True)
    assert (
        "1 run(s) planned; 2 sent, 0 deferred, 0 failed in 1 run(s)" in out.getvalue()
    )


@pytest.mark.django_db
def test_a_single_call_always_reports():
    out = StringIO()
    Command(stdout=out)._once(False)
    assert out.getvalue().strip() == (
        "0 run(s) planned; 0 sent, 0 deferred, 0 failed in 0 run(s)"
    )
