"""Provider webhooks through django-anymail: each provider's documented
bounce (or complaint) payload, posted to our endpoint with the basic-auth
secret (and Mailgun's signature), bounces the delivery it names and
suppresses the address; a post without the secret is refused. Postmark's
events, which name none of ours, find the delivery by the recipient.

No test reaches the network: SES notifications need no boto3 call, and
`no_aws` makes any boto3 session (SNS subscription confirmation) fail."""

import base64
import hashlib
import hmac
import json
import time
from datetime import timedelta

import boto3
import pytest
from django.utils import timezone

from deliverability.verp import verp_address
from mailing.models import Delivery, Suppression
from mailing.tests.factories import DeliveryFactory, RunFactory

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


@pytest.fixture(autouse=True)
def no_aws(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to reach AWS")

    monkeypatch.setattr(boto3.session, "Session", refuse)


def _ses(delivery, kind="bounce", type_key="notificationType"):
    """An SNS notification of an SES bounce or complaint (docs.aws.amazon.com,
    "Amazon SES notification examples"; `type_key="eventType"`: the
    event-publishing format, "Examples of event data that Amazon SES
    publishes to Amazon SNS")."""
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
            type_key: "Bounce",
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
                "reportingMTA": "dsn; a1-2.smtp-out.amazonses.com",
            },
            "mail": mail,
        }
    else:
        message = {
            type_key: "Complaint",
            "complaint": {
                "complainedRecipients": [{"emailAddress": delivery.email}],
                "timestamp": "2026-12-01T12:00:01.000Z",
                "feedbackId": "0100018c2b3e-feedback",
                "userAgent": "Mozilla/5.0 (Windows NT 10.0) AppleWebKit",
                "complaintFeedbackType": "abuse",
                "arrivalDate": "2026-12-01T12:00:00.000Z",
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
        "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4VbeS0Q",
        "SigningCertURL": (
            "https://sns.us-east-1.amazonaws.com/"
            "SimpleNotificationService-0000000000000000000000.pem"
        ),
        "UnsubscribeURL": (
            "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
            "&SubscriptionArn=arn:aws:sns:us-east-1:123456789012:ses-events:0"
        ),
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


def _ses_event_publishing(delivery, kind="bounce"):
    return _ses(delivery, kind, type_key="eventType")


def _postmark_documented(delivery, kind="bounce"):
    """Postmark's bounce webhook exactly as documented ("Bounce webhook"
    example; "Spam complaint webhook" for a complaint): nothing of ours in
    it but the recipient."""
    body = {
        "RecordType": "Bounce",
        "MessageStream": "outbound",
        "ID": 4323372036854775807,
        "Type": "HardBounce",
        "TypeCode": 1,
        "Name": "Hard bounce",
        "Tag": "Test",
        "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
        "Metadata": {"a_key": "a_value", "b_key": "b_value"},
        "ServerID": 23,
        "Description": (
            "The server was unable to deliver your message "
            "(ex: unknown user, mailbox not found)."
        ),
        "Details": "Test bounce details",
        "Email": delivery.email,
        "From": "sender@example.com",
        "BouncedAt": "2026-12-01T12:00:00Z",
        "DumpAvailable": True,
        "Inactive": True,
        "CanActivate": True,
        "Subject": "Test subject",
        "Content": "Test content",
    }
    if kind == "complaint":
        body |= {
            "RecordType": "SpamComplaint",
            "Type": "SpamComplaint",
            "TypeCode": 512,
            "Name": "Spam complaint",
            "Description": "The subscriber explicitly marked this message as spam.",
            "Details": "Test spam complaint details",
            "Inactive": True,
            "CanActivate": False,
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
@pytest.mark.parametrize(
    "payload",
    [
        _ses,
        _ses_event_publishing,
        _mailgun,
        _postmark,
        _postmark_documented,
        _sendgrid,
        _brevo,
    ],
)
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


@pytest.mark.parametrize(
    "payload", [_ses, _ses_event_publishing, _mailgun, _postmark_documented]
)
def test_a_providers_complaint_event_suppresses(client, payload):
    delivery = DeliveryFactory(message_id="<20261201.def456@mailsite.test>")
    provider, body, headers = payload(delivery, kind="complaint")
    refused = _post(client, provider, body, headers, auth=False)
    assert refused.status_code in (400, 401, 403)
    assert not Suppression.objects.exists()

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


def test_an_unauthenticated_sns_subscription_is_refused_without_reaching_aws(client):
    body = {
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768",
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses-events",
        "Message": "You have chosen to subscribe to the topic …",
        "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
        "Timestamp": "2026-12-01T12:00:00.000Z",
    }
    headers = {
        "HTTP_X_AMZ_SNS_MESSAGE_TYPE": "SubscriptionConfirmation",
        "HTTP_X_AMZ_SNS_MESSAGE_ID": body["MessageId"],
    }
    response = _post(client, "amazon_ses", json.dumps(body), headers, auth=False)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Basic ")


def test_postmark_charges_the_most_recent_sender_to_the_address(client):
    """One address on two customers' lists: only the customer who wrote to
    it last gets the bounce and the suppression; a delivery older than the
    window, or failed, is never matched; a retried event moves nothing
    more."""
    email = "gone@example.org"
    now = timezone.now()
    older = DeliveryFactory(email=email, last_attempt_at=now - timedelta(days=2))
    latest = DeliveryFactory(email=email, last_attempt_at=now - timedelta(hours=1))
    DeliveryFactory(
        email=email,
        status=Delivery.Status.FAILED,
        last_attempt_at=now,
        run=RunFactory(mailing=latest.run.mailing),
    )
    provider, body, headers = _postmark_documented(latest)

    for _ in range(2):
        assert _post(client, provider, body, headers).status_code == 200

    latest.refresh_from_db()
    older.refresh_from_db()
    assert latest.status == Delivery.Status.BOUNCED
    assert older.status == Delivery.Status.SENT
    entry = Suppression.objects.get()
    assert entry.owner_id == latest.run.mailing.owner_id
    assert entry.email == email


def test_postmark_matches_nothing_outside_the_window(client):
    stale = DeliveryFactory(
        email="old@example.org", last_attempt_at=timezone.now() - timedelta(days=8)
    )
    provider, body, headers = _postmark_documented(stale)
    assert _post(client, provider, body, headers).status_code == 200
    stale.refresh_from_db()
    assert stale.status == Delivery.Status.SENT
    assert not Suppression.objects.exists()
