"""No 500 on bad input: each case gets a clear error and writes nothing."""

from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import multipartparser
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils import timezone

from audience.models import ClientImport
from audience.tests.helpers import import_csv
from mailing import services
from mailing.models import Client, Mailing, Message
from mailing.tests.factories import (
    ClientFactory,
    MailingFactory,
    MessageFactory,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("queued_runs")]

HUGE = 99999999999999999999


def _local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def _mailing_data(owner, **extra):
    start = timezone.now() + timedelta(days=1)
    data = {
        "message": MessageFactory(owner=owner).pk,
        "clients": [ClientFactory(owner=owner).pk],
        "start_at": _local(start),
        "end_at": _local(start + timedelta(days=7)),
        "periodicity": "weekly",
    }
    data.update(extra)
    return data


# Dates --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("start_at", "0001-01-01T00:00"),
        ("start_at", "1999-12-31T23:59"),
        ("end_at", "9999-12-31T23:59"),
    ],
)
def test_a_date_out_of_range_is_a_form_error(client, owner, field, value):
    data = _mailing_data(owner, periodicity="once", **{field: value})
    response = client.post(reverse("mailing:mailing_create"), data)
    assert response.status_code == 200
    assert "between the years 2000 and 2999" in " ".join(
        response.context["form"].errors[field]
    )
    assert not Mailing.objects.exists()


def test_the_service_refuses_the_year_one_too(owner):
    with pytest.raises(ValidationError) as error:
        services.mailing_create(
            owner=owner,
            message=MessageFactory(owner=owner),
            clients=[ClientFactory(owner=owner)],
            start_at=datetime(1, 1, 1, tzinfo=UTC),
            end_at=timezone.now() + timedelta(days=1),
        )
    assert "start_at" in error.value.message_dict
    assert not Mailing.objects.exists()


def test_a_window_wholly_in_the_past_is_refused(client, owner):
    start = timezone.now() - timedelta(days=10)
    response = client.post(
        reverse("mailing:mailing_create"),
        _mailing_data(
            owner, start_at=_local(start), end_at=_local(start + timedelta(days=2))
        ),
    )
    assert response.status_code == 200
    assert "whole window is in the past" in " ".join(
        response.context["form"].errors["end_at"]
    )
    assert not Mailing.objects.exists()


def test_editing_a_mailing_into_the_past_is_refused_and_changes_nothing(owner):
    mailing = MailingFactory(owner=owner, clients=1)
    before = (mailing.start_at, mailing.end_at)
    past = timezone.now() - timedelta(days=3)
    with pytest.raises(ValidationError, match="whole window is in the past"):
        services.mailing_update(
            mailing=mailing,
            message=mailing.message,
            start_at=past,
            end_at=past + timedelta(days=1),
            periodicity="once",
            clients=list(mailing.clients.all()),
        )
    mailing.refresh_from_db()
    assert (mailing.start_at, mailing.end_at) == before


# Ids ------------------------------------------------------------------------


def test_ids_beyond_the_integer_range_are_404(client, owner):
    for name in (
        "client_detail",
        "client_update",
        "client_delete",
        "message_detail",
        "message_update",
        "message_delete",
        "mailing_detail",
        "mailing_update",
        "mailing_delete",
        "mailing_progress",
    ):
        for pk in (HUGE, 2**31, 2**63):
            url = reverse(f"mailing:{name}", args=[pk])
            assert client.get(url).status_code == 404, url
    for name in ("mailing_send_now", "mailing_pause", "mailing_resume"):
        assert client.post(reverse(f"mailing:{name}", args=[HUGE])).status_code == 404


def test_an_out_of_range_client_id_in_a_mailing_form_is_a_form_error(client, owner):
    response = client.post(
        reverse("mailing:mailing_create"),
        _mailing_data(owner, clients=[str(HUGE)], message=str(HUGE)),
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert "clients" in errors and "message" in errors
    assert not Mailing.objects.exists()


@pytest.mark.parametrize(
    "query",
    [
        {"page": str(HUGE)},
        {"page": "-1"},
        {"page": "x"},
        {"status": "nonsense"},
        {"q": "\x00"},
        {"sort": "nonsense"},
    ],
)
def test_list_query_parameters_never_500(client, owner, query):
    mailing = MailingFactory(owner=owner, clients=1)
    for url in (
        reverse("mailing:client_list"),
        reverse("mailing:message_list"),
        reverse("mailing:mailing_list"),
        mailing.get_absolute_url(),
    ):
        assert client.get(url, query).status_code == 200, (url, query)


# Moderation -----------------------------------------------------------------


def _moderation_url(action, pk):
    return reverse("moderation_action", args=[action, pk])


def test_an_unknown_moderation_action_is_404_for_a_manager(client, manager):
    mailing = MailingFactory(clients=1)
    client.force_login(manager)
    for method in (client.get, client.post):
        response = method(_moderation_url("explode", mailing.pk))
        assert response.status_code == 404
    mailing.refresh_from_db()
    assert mailing.is_active


def test_moderation_by_a_content_manager_is_a_permission_error(client, content_manager):
    """Wagtail answers a permission error in its admin by sending the user
    back to the admin home with "permission denied" (as test_permissions
    expects for every moderation page)."""
    mailing = MailingFactory(clients=1)
    client.force_login(content_manager)
    for action, method in (("explode", client.get), ("disable", client.post)):
        response = method(_moderation_url(action, mailing.pk))
        assert (response.status_code, response["Location"]) == (302, "/cms/")
        page = client.get("/cms/").content.decode()
        assert "do not have permission" in page
    mailing.refresh_from_db()
    assert mailing.is_active


def test_a_moderation_target_beyond_the_integer_range_is_404(client, manager):
    client.force_login(manager)
    assert client.get(_moderation_url("disable", HUGE)).status_code == 404
    assert client.get(_moderation_url("block", HUGE)).status_code == 404
    for kind in ("mailings", "users"):
        for pk in (HUGE, "abc", "-1"):
            url = f"/cms/moderation/{kind}/inspect/{pk}/"
            assert client.get(url).status_code == 404, url


# CSV import -------------------------------------------------------------------


def test_a_csv_field_over_128_kib_names_the_row(owner):
    content = (
        "a@example.com,Ann\n"
        + 'b@example.com,"'
        + "x" * (128 * 1024 + 1)
        + '"\nc@example.com,Cy\n'
    ).encode()
    with pytest.raises(ValidationError) as error:
        import_csv(owner, content)
    [text] = error.value.messages
    assert text.startswith("Row 2 (line 2): a field is longer than 128 KiB")
    assert not Client.objects.exists() and not ClientImport.objects.exists()


def test_a_csv_field_over_128_kib_is_a_form_error(client, owner):
    content = b"a@example.com," + b"y" * (200 * 1024) + b"\n"
    response = client.post(
        reverse("audience:client_import"),
        {"file": SimpleUploadedFile("c.csv", content, "text/csv")},
    )
    assert response.status_code == 200
    assert "longer than 128 KiB" in " ".join(response.context["form"].errors["file"])
    assert not Client.objects.exists() and not ClientImport.objects.exists()


def test_null_characters_are_refused_row_by_row(owner):
    job = import_csv(owner, b"a@example.com,A\x00nn\nb@example.com,Bob\n")
    assert (job.created, job.rejected) == (1, 1)
    with job.report.open("rb") as report:
        assert "it contains a null character" in report.read().decode()
    assert [c.email for c in Client.objects.all()] == ["b@example.com"]


def test_a_30_mib_upload_is_refused_before_it_is_read(
    client, owner, monkeypatch, settings
):
    def never(self, *args, **kwargs):
        raise AssertionError("the upload was parsed")

    settings.IMPORT_MAX_MB = 16
    monkeypatch.setattr(multipartparser.MultiPartParser, "parse", never)
    big = SimpleUploadedFile(
        "big.csv", b"a@example.com\n" * (30 * 1024 * 1024 // 14 + 1), "text/csv"
    )
    response = client.post(reverse("audience:client_import"), {"file": big})
    assert response.status_code == 413
    error = " ".join(response.context["form"].errors["file"])
    assert "the limit is 16,384 KiB" in error and "Nothing was read" in error
    assert not Client.objects.exists() and not ClientImport.objects.exists()


def test_the_import_upload_still_checks_csrf(owner):
    browser = HttpClient(enforce_csrf_checks=True)
    browser.force_login(owner)
    response = browser.post(
        reverse("audience:client_import"),
        {"file": SimpleUploadedFile("c.csv", b"a@example.com\n", "text/csv")},
    )
    assert response.status_code == 403
    assert not Client.objects.exists() and not ClientImport.objects.exists()


# Null characters through the services -------------------------------------


def test_null_characters_are_refused_by_the_services(owner):
    with pytest.raises(ValidationError):
        services.client_create(owner=owner, email="a@example.com", full_name="A\x00")
    with pytest.raises(ValidationError):
        services.message_create(owner=owner, subject="s", body="b\x00")
    assert not Client.objects.exists() and not Message.objects.exists()
