"""Writes of the mailing domain, one module per entity.

Every service takes keyword-only arguments, runs in a transaction and
validates what it is given: the models (`clean()`, constraints) and these
services are the only validators, and the forms in front of them present
their errors. Background work is queued with `transaction.on_commit`, so a
task never sees a row that was rolled back, and no request talks to SMTP.

    clients.py        a customer's address book: add, change, delete
    messages.py       messages (the HTML part stored sanitised)
    mailings.py       mailings: plan, check, send now, pause, managers' switch
    test_sends.py     "Send a test" of a mailing (queued, rate-limited)
    suppression.py    the suppression list; a recipient's unsubscribe

CSV import of clients lives in audience (audience.imports), beside the
lists its clients join.

The public names are re-exported here: `from mailing.services import x`.
"""

from mailing.services.clients import (
    CLIENT_EXISTS,
    client_create,
    client_delete,
    client_update,
)
from mailing.services.mailings import (
    CHOOSE_CLIENTS,
    NO_CLIENTS_YET,
    mailing_check,
    mailing_create,
    mailing_delete,
    mailing_disable,
    mailing_enable,
    mailing_pause,
    mailing_recipients,
    mailing_resume,
    mailing_send_now,
    mailing_update,
)
from mailing.services.messages import message_create, message_delete, message_update
from mailing.services.suppression import (
    MAX_SUPPRESSION_ADD,
    SuppressionAdded,
    split_addresses,
    suppression_add,
    suppression_record,
    suppression_remove,
    unsubscribe,
)
from mailing.services.test_sends import (
    MAX_TEST_ADDRESSES,
    TEST_SENDS_PER_HOUR,
    mailing_test_send,
    sent_tests_count,
)

__all__ = [
    "CHOOSE_CLIENTS",
    "CLIENT_EXISTS",
    "MAX_SUPPRESSION_ADD",
    "MAX_TEST_ADDRESSES",
    "NO_CLIENTS_YET",
    "TEST_SENDS_PER_HOUR",
    "SuppressionAdded",
    "client_create",
    "client_delete",
    "client_update",
    "mailing_check",
    "mailing_create",
    "mailing_delete",
    "mailing_disable",
    "mailing_enable",
    "mailing_pause",
    "mailing_recipients",
    "mailing_resume",
    "mailing_send_now",
    "mailing_test_send",
    "mailing_update",
    "message_create",
    "message_delete",
    "message_update",
    "split_addresses",
    "suppression_add",
    "sent_tests_count",
    "suppression_record",
    "suppression_remove",
    "unsubscribe",
]
