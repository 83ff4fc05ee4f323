"""The Custom fields pages, the client form and page with custom values,
the list form's choice of fields, and the hosted sign-up form asking them."""

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation

from audience.models import CustomField, Subscription
from audience.tests.factories import CustomFieldFactory, MailingListFactory
from mailing.models import Client
from mailing.tests.factories import ClientFactory, UserFactory

pytestmark = pytest.mark.django_db

Type = CustomField.Type


@pytest.fixture(autouse=True)
def _fresh_rate_limit():
    cache.clear()
    yield
    cache.clear()


def test_add_edit_delete_a_field(client, owner):
    page = client.get(reverse("audience:field_list")).content.decode()
    assert "No custom fields yet" in page
    assert reverse("audience:field_list") in page  # in the area's navigation
    response = client.post(
        reverse("audience:field_create"),
        {"label": "Plan", "key": "plan", "type": "choice", "choices": "Free\nPro\n"},
    )
    assert response.url == reverse("audience:field_list")
    field = CustomField.objects.get(owner=owner)
    assert (field.key, field.type, field.choices) == ("plan", "choice", ["Free", "Pro"])
    form = client.get(reverse("audience:field_update", args=[field.pk]))
    assert "Free\nPro" in form.content.decode()
    # The type input is disabled: a posted type is ignored.
    client.post(
        reverse("audience:field_update", args=[field.pk]),
        {"label": "Tariff", "key": "plan", "type": "text", "choices": "Free"},
    )
    field.refresh_from_db()
    assert (field.label, field.type, field.choices) == ("Tariff", "choice", ["Free"])
    page = client.get(reverse("audience:field_list")).content.decode()
    assert "{{ plan }}" in page
    client.post(reverse("audience:field_delete", args=[field.pk]))
    assert not CustomField.objects.exists()


def test_field_form_errors_write_nothing(client, owner):
    response = client.post(
        reverse("audience:field_create"),
        {"label": "Mail", "key": "email", "type": "text"},
    )
    assert response.status_code == 200
    assert "built-in placeholder" in response.content.decode()
    response = client.post(
        reverse("audience:field_create"),
        {"label": "Plan", "key": "plan", "type": "choice", "choices": ""},
    )
    assert "at least one choice" in response.content.decode()
    assert not CustomField.objects.exists()


def test_another_customers_field_is_404(client, owner):
    field = CustomFieldFactory(owner=UserFactory())
    for name in ("audience:field_update", "audience:field_delete"):
        assert client.get(reverse(name, args=[field.pk])).status_code == 404
        assert client.post(reverse(name, args=[field.pk])).status_code == 404
    assert CustomField.objects.filter(pk=field.pk).exists()
    assert (
        field.label not in client.get(reverse("audience:field_list")).content.decode()
    )


def test_the_client_form_has_one_input_per_field_and_saves_typed_values(client, owner):
    CustomFieldFactory(owner=owner, key="age", label="Age", type=Type.NUMBER)
    CustomFieldFactory(owner=owner, key="born", label="Born", type=Type.DATE)
    CustomFieldFactory(owner=owner, key="vip", label="VIP", type=Type.BOOLEAN)
    CustomFieldFactory(
        owner=owner, key="plan", label="Plan", type=Type.CHOICE, choices=["Free", "Pro"]
    )
    CustomFieldFactory(key="secret", label="Not mine")
    page = client.get(reverse("mailing:client_create")).content.decode()
    assert 'type="number"' in page and 'name="cf_age"' in page
    assert 'type="date"' in page and 'name="cf_born"' in page
    assert '<select name="cf_vip"' in page and '<select name="cf_plan"' in page
    assert "cf_secret" not in page
    response = client.post(
        reverse("mailing:client_create"),
        {
            "email": "ann@example.com",
            "cf_age": "42",
            "cf_born": "1990-02-28",
            "cf_vip": "yes",
            "cf_plan": "Pro",
        },
    )
    assert response.status_code == 302
    saved = Client.objects.get(owner=owner)
    assert saved.attributes == {
        "age": 42,
        "born": "1990-02-28",
        "vip": True,
        "plan": "Pro",
    }
    # Editing: a value emptied is removed; a deleted field's value is kept.
    Client.objects.filter(pk=saved.pk).update(
        attributes={**saved.attributes, "gone": "kept"}
    )
    edit = client.get(reverse("mailing:client_update", args=[saved.pk]))
    assert 'value="42"' in edit.content.decode()
    client.post(
        reverse("mailing:client_update", args=[saved.pk]),
        {
            "email": "ann@example.com",
            "cf_age": "",
            "cf_vip": "no",
            "cf_plan": "Pro",
            "cf_born": "1990-02-28",
        },
    )
    saved.refresh_from_db()
    assert saved.attributes == {
        "born": "1990-02-28",
        "vip": False,
        "plan": "Pro",
        "gone": "kept",
    }


def test_a_bad_value_is_an_error_on_its_input_and_nothing_is_written(client, owner):
    CustomFieldFactory(owner=owner, key="age", label="Age", type=Type.NUMBER)
    response = client.post(
        reverse("mailing:client_create"),
        {"email": "ann@example.com", "cf_age": "forty"},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["cf_age"] == [
        "Enter a number, such as 42 or 3.5."
    ]
    assert not Client.objects.exists()


def test_the_client_page_shows_values_with_labels_in_the_users_language(client, owner):
    CustomFieldFactory(owner=owner, key="born", label="Born", type=Type.DATE)
    CustomFieldFactory(owner=owner, key="vip", label="VIP", type=Type.BOOLEAN)
    CustomFieldFactory(owner=owner, key="empty", label="Never filled")
    person = ClientFactory(
        owner=owner,
        attributes={"born": "1990-02-28", "vip": True, "old": "stale-value-x"},
    )
    page = client.get(person.get_absolute_url()).content.decode()
    assert '<dt class="col-sm-3">Born</dt>' in page
    assert ">28.02.1990</dd>" in page  # the short date format of en
    assert ">Yes</dd>" in page
    assert "Never filled" not in page and "stale-value-x" not in page
    owner.language = "ru"
    owner.save()
    with translation.override("ru"):
        page = client.get(person.get_absolute_url()).content.decode()
    assert "28.02.1990" in page
    assert ">Да</dd>" in page


def test_the_message_form_lists_the_custom_placeholders(client, owner):
    CustomFieldFactory(owner=owner, key="city")
    page = client.get(reverse("mailing:message_create")).content.decode()
    assert "{{ city }}" in page
    assert 'default:"friend"' in page


def test_a_list_offers_only_its_owners_fields_for_its_form(client, owner):
    mine = CustomFieldFactory(owner=owner, key="city", label="City")
    theirs = CustomFieldFactory(key="town", label="Town")
    page = client.get(reverse("audience:list_create")).content.decode()
    assert "City" in page and "Town" not in page
    client.post(
        reverse("audience:list_create"),
        {"name": "News", "form_fields": [mine.pk]},
    )
    mailing_list = owner.mailing_lists.get()
    assert list(mailing_list.form_fields.all()) == [mine]
    response = client.post(
        reverse("audience:list_update", args=[mailing_list.pk]),
        {"name": "News", "form_fields": [theirs.pk]},
    )
    assert response.status_code == 200
    assert list(mailing_list.form_fields.all()) == [mine]
    snippet = client.get(mailing_list.get_absolute_url()).content.decode()
    assert '&lt;input type="text" name="cf_city" placeholder="City"&gt;' in snippet


# The hosted sign-up form -------------------------------------------------------


def _list_asking(owner=None):
    owner = owner or UserFactory()
    city = CustomFieldFactory(owner=owner, key="city", label="City")
    vip = CustomFieldFactory(owner=owner, key="vip", label="VIP", type=Type.BOOLEAN)
    CustomFieldFactory(owner=owner, key="hidden", label="Internal note")
    mailing_list = MailingListFactory(owner=owner)
    mailing_list.form_fields.set([city, vip])
    return mailing_list


def test_the_sign_up_form_asks_the_lists_fields_and_stores_them(client):
    mailing_list = _list_asking()
    page = client.get(mailing_list.get_form_url()).content.decode()
    assert 'name="cf_city"' in page and '<select name="cf_vip"' in page
    assert "cf_hidden" not in page
    response = client.post(
        mailing_list.get_form_url(),
        {
            "email": "vi@example.org",
            "cf_city": "Oslo",
            "cf_vip": "yes",
            "cf_hidden": "sneaky",
        },
        REMOTE_ADDR="192.0.2.1",
    )
    assert response.status_code == 302
    visitor = Client.objects.get(email="vi@example.org")
    assert visitor.attributes == {"city": "Oslo", "vip": True}
    assert visitor.subscriptions.get().status == Subscription.Status.UNCONFIRMED


def test_an_invalid_sign_up_value_is_a_form_error_and_writes_nothing(client):
    mailing_list = _list_asking()
    response = client.post(
        mailing_list.get_form_url(),
        {"email": "vi@example.org", "cf_vip": "perhaps"},
        REMOTE_ADDR="192.0.2.1",
    )
    assert response.status_code == 200
    assert "cf_vip" in response.context["form"].errors
    assert not Client.objects.exists()
    assert not Subscription.objects.exists()


def test_a_sign_up_fills_empty_fields_only(client):
    mailing_list = _list_asking()
    known = ClientFactory(
        owner=mailing_list.owner, email="vi@example.org", attributes={"city": "Rome"}
    )
    client.post(
        mailing_list.get_form_url(),
        {"email": "vi@example.org", "cf_city": "Oslo", "cf_vip": "no"},
        REMOTE_ADDR="192.0.2.1",
    )
    known.refresh_from_db()
    assert known.attributes == {"city": "Rome", "vip": False}
