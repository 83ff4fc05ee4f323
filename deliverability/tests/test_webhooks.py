"""Provider webhooks through django-anymail: each provider's documented
bounce (or complaint) payload, posted to our endpoint with the basic-auth
secret (and Mailgun's signature), bounces the delivery it names and
suppresses the address; a post without the secret is refused."""

import base64
import hashlib
import hmac
import json
import time

import pytest

from deliverability.verp import verp_address
from mailing.models import Delivery, Suppression
from mailing.tests.factories import DeliveryFactory

pytestmark = pytest.mark.django_db

SECRET = "hooks:s3cret-webhook-pass"
MAILGUN_KEY = "key-mailgun-signing-test"
NO_SUCH_ACCOUNT = "The email account that you tried to reach does not exist."
AUTH = {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(SECRET.encode()).decode()}


@pytest.fixture(autouse=True)
def anymail_settings(settings):
    settings.BOUNCE_DOMAIN = "bounces.mailsite.test"
    settings.ANYMAIL = {
        "WEBHOOK_SECRET": SECRET,
        "MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY,
    }


def _ses(delivery, kind="bounce"):
    """An SNS notification of an SES bounce (docs.aws.amazon.com, "Amazon SES
    notification examples")."""
    mail = {
        "timestamp": "2026-12-01T12:00:00.000Z",
        "source": verp_address(delivery.pk),
        "messageId": "0100018c2b3e4f5a-ses-id-000000",
        "destination": [delivery.email],
        "headers": [{"name": "Message-ID", "value": delivery.message_id}],
        "commonHeaders": {"messageId": delivery.message_id, "subject": "News"},
    }
    if kind == "bounce":
        message = {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": "Permanent",
                "bounceSubType": "General",
                "bouncedRecipients": [
                    {
                        "emailAddress": delivery.email,
                        "action": "failed",
                        "status": "5.1.1",
                        "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                    }
                ],
                "timestamp": "2026-12-01T12:00:01.000Z",
                "feedbackId": "0100018c2b3e-feedback",
            },
            "mail": mail,
        }
    else:
        message = {
            "notificationType": "Complaint",
            "complaint": {
                "complainedRecipients": [{"emailAddress": delivery.email}],
                "timestamp": "2026-12-01T12:00:01.000Z",
                "feedbackId": "0100018c2b3e-feedback",
                "complaintFeedbackType": "abuse",
            },
            "mail": mail,
        }
    body = {
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses-events",
        "Message": json.dumps(message),
        "Timestamp": "2026-12-01T12:00:02.000Z",
        "SignatureVersion": "1",
    }
    headers = {
        "HTTP_X_AMZ_SNS_MESSAGE_TYPE": "Notification",
        "HTTP_X_AMZ_SNS_MESSAGE_ID": body["MessageId"],
    }
    return "amazon_ses", json.dumps(body), headers


def _mailgun(delivery, kind="bounce"):
    """Mailgun's webhook (event-data with a signature, documentation's
    "failed" permanent and "complained" examples)."""
    timestamp, token = (
        str(int(time.time())),
        "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0",
    )
    signature = hmac.new(
        MAILGUN_KEY.encode(), (timestamp + token).encode(), hashlib.sha256
    ).hexdigest()
    event = {
        "id": "G9Bn5sl1TC6nu79C8C0bwg",
        "timestamp": time.time(),
        "recipient": delivery.email,
        "envelope": {"sender": verp_address(delivery.pk)},
        "message": {"headers": {"message-id": delivery.message_id.strip("<>")}},
        "user-variables": {},
        "flags": {},
    }
    if kind == "bounce":
        event |= {
            "event": "failed",
            "severity": "permanent",
            "reason": "bounce",
            "delivery-status": {
                "code": 550,
                "message": "5.1.1 " + NO_SUCH_ACCOUNT,
                "description": "",
            },
        }
    else:
        event["event"] = "complained"
    body = {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": event,
    }
    return "mailgun", json.dumps(body), {}


def _postmark(delivery, kind="bounce"):
    """Postmark's bounce webhook (HardBounce), the VERP address passed as
    metadata."""
    body = {
        "RecordType": "Bounce",
        "ID": 4323372036854775807,
        "Type": "HardBounce",
        "TypeCode": 1,
        "Name": "Hard bounce",
        "Tag": "",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Metadata": {"return-path": verp_address(delivery.pk)},
        "ServerID": 23,
        "MessageStream": "outbound",
        "Description": (
            "The server was unable to deliver your message "
            "(ex: unknown user, mailbox not found)."
        ),
        "Details": "smtp;550 5.1.1 " + NO_SUCH_ACCOUNT,
        "Email": delivery.email,
        "From": "news@shop.example.com",
        "BouncedAt": "2026-12-01T12:00:00Z",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "News",
    }
    return "postmark", json.dumps(body), {}


def _sendgrid(delivery, kind="bounce"):
    """SendGrid's event webhook: a batch of events (the "bounce" example)."""
    body = [
        {
            "email": delivery.email,
            "timestamp": int(time.time()),
            "smtp-id": delivery.message_id,
            "event": "bounce",
            "category": [],
            "sg_event_id": "6g4ZI7SA-xmRDv57GoPIPw==",
            "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
            "reason": "550 5.1.1 " + NO_SUCH_ACCOUNT,
            "status": "5.1.1",
            "type": "bounce",
        }
    ]
    return "sendgrid", json.dumps(body), {}


def _brevo(delivery, kind="bounce"):
    """Brevo's transactional webhook ("hard_bounce" example)."""
    body = {
        "event": "hard_bounce",
        "email": delivery.email,
        "id": 123456,
        "date": "2026-12-01 13:00:00",
        "ts": 1796130000,
        "message-id": delivery.message_id,
        "ts_event": 1796130000,
        "subject": "News",
        "tag": "",
        "sending_ip": "185.41.28.109",
        "ts_epoch": 1796130000000,
        "reason": "550 5.1.1 " + NO_SUCH_ACCOUNT,
    }
    return "brevo", json.dumps(body), {}


def _post(client, provider, body, headers, auth=True):
    return client.post(
        f"/webhooks/anymail/{provider}/tracking/",
        data=body,
        content_type="application/json",
        **headers,
        **(AUTH if auth else {}),
    )


@pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailNotSupportedWarning")
# Amazon SES: anymail's SES webhook needs boto3 (django-anymail[amazon-ses]),
# which is not installed; its payload builder stays for when it is.
@pytest.mark.parametrize("payload", [_mailgun, _postmark, _sendgrid, _brevo])
def test_a_providers_bounce_event_suppresses(client, payload):
    delivery = DeliveryFactory(message_id="<20261201.abc123@mailsite.test>")
    provider, body, headers = payload(delivery)

    refused = _post(client, provider, body, headers, auth=False)
    assert refused.status_code in (400, 401, 403)
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT

    response = _post(client, provider, body, headers)
    assert response.status_code == 200, response.content
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.BOUNCED
    assert delivery.bounce_class == "hard_bounce"
    entry = Suppression.objects.get()
    assert (entry.email, entry.reason) == (delivery.email, "hard_bounce")
    assert entry.source.startswith("provider webhook, mailing #")


@pytest.mark.parametrize("payload", [_mailgun])
def test_a_providers_complaint_event_suppresses(client, payload):
    delivery = DeliveryFactory(message_id="<20261201.def456@mailsite.test>")
    provider, body, headers = payload(delivery, kind="complaint")
    assert _post(client, provider, body, headers).status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.COMPLAINED
    assert Suppression.objects.get().reason == "complaint"


def test_a_wrong_mailgun_signature_is_refused(client):
    delivery = DeliveryFactory(message_id="<x.1@mailsite.test>")
    provider, body, headers = _mailgun(delivery)
    forged = body.replace('"signature": "', '"signature": "00')
    assert _post(client, provider, forged, headers).status_code == 400
    delivery.refresh_from_db()
    assert delivery.status == Delivery.Status.SENT
