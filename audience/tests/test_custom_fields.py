"""Custom field definitions (the services' rules) and the coercion of raw
input into typed values."""

import pytest
from django.core.exceptions import ValidationError

from audience import selectors, services
from audience.custom_fields import FieldRule, FieldSchema
from audience.models import CustomField
from audience.tests.factories import CustomFieldFactory
from mailing.tests.factories import ClientFactory, UserFactory

pytestmark = pytest.mark.django_db

Type = CustomField.Type


def _error(call) -> dict:
    with pytest.raises(ValidationError) as info:
        call()
    return info.value.message_dict


def test_a_field_is_created_last_with_its_key():
    owner = UserFactory()
    first = services.custom_field_create(owner=owner, key="city", label="City")
    second = services.custom_field_create(
        owner=owner, key="plan_2", label=" Plan  ", type=Type.CHOICE, choices=["a"]
    )
    assert (first.position, second.position) == (0, 1)
    assert second.label == "Plan"
    assert selectors.custom_field_keys(owner_id=owner.pk) == ["city", "plan_2"]


@pytest.mark.parametrize(
    "key",
    ["", "City", "2city", "_city", "city-name", "a" * 41, "ciu dad", "é"],
)
def test_a_key_breaking_the_rule_is_refused(key):
    owner = UserFactory()
    errors = _error(
        lambda: services.custom_field_create(owner=owner, key=key, label="X")
    )
    assert "lower-case" in errors["key"][0]
    assert not CustomField.objects.exists()


@pytest.mark.parametrize("key", ["email", "full_name", "comment", "unsubscribe_url"])
def test_a_built_in_placeholder_is_not_a_key(key):
    errors = _error(
        lambda: services.custom_field_create(owner=UserFactory(), key=key, label="X")
    )
    assert "built-in placeholder" in errors["key"][0]


def test_a_key_is_unique_per_owner_only():
    owner = UserFactory()
    services.custom_field_create(owner=owner, key="city", label="City")
    errors = _error(
        lambda: services.custom_field_create(owner=owner, key="city", label="Town")
    )
    assert "already have a field" in errors["key"][0]
    services.custom_field_create(owner=UserFactory(), key="city", label="City")
    assert CustomField.objects.count() == 2


def test_a_label_is_required_and_a_choice_field_needs_choices():
    owner = UserFactory()
    assert "label" in _error(
        lambda: services.custom_field_create(owner=owner, key="city", label="  ")
    )
    assert "choices" in _error(
        lambda: services.custom_field_create(
            owner=owner, key="plan", label="Plan", type=Type.CHOICE, choices=[" ", ""]
        )
    )
    field = services.custom_field_create(
        owner=owner,
        key="plan",
        label="Plan",
        type=Type.CHOICE,
        choices=["a", " a", "b"],
    )
    assert field.choices == ["a", "b"]
    # Choices belong to choice fields only.
    text = services.custom_field_create(
        owner=owner, key="note", label="Note", choices=["x"]
    )
    assert text.choices == []


def test_the_type_of_a_field_cannot_change():
    field = CustomFieldFactory(key="age", type=Type.TEXT)
    errors = _error(
        lambda: services.custom_field_update(custom_field=field, type=Type.NUMBER)
    )
    assert "cannot change" in errors["type"][0]
    field.refresh_from_db()
    assert field.type == Type.TEXT
    services.custom_field_update(custom_field=field, type=Type.TEXT, label="Age")
    field.refresh_from_db()
    assert field.label == "Age"


def test_deleting_a_field_keeps_the_values():
    field = CustomFieldFactory(key="city")
    client = ClientFactory(owner=field.owner, attributes={"city": "Oslo"})
    services.custom_field_delete(custom_field=field)
    client.refresh_from_db()
    assert client.attributes == {"city": "Oslo"}
    assert not CustomField.objects.exists()


# Coercion --------------------------------------------------------------------

SCHEMA = FieldSchema(
    [
        FieldRule("city", "City", Type.TEXT),
        FieldRule("age", "Age", Type.NUMBER),
        FieldRule("born", "Born", Type.DATE),
        FieldRule("vip", "VIP", Type.BOOLEAN),
        FieldRule("plan", "Plan", Type.CHOICE, ("Free", "Pro")),
    ]
)


@pytest.mark.parametrize(
    ("key", "raw", "value"),
    [
        ("city", "  Oslo ", "Oslo"),
        ("age", "42", 42),
        ("age", "-3", -3),
        ("age", "3.5", 3.5),
        ("age", "3,5", 3.5),
        ("age", "1 000", 1000),
        ("born", "1990-02-28", "1990-02-28"),
        ("vip", "yes", True),
        ("vip", "TRUE", True),
        ("vip", "1", True),
        ("vip", "да", True),
        ("vip", "no", False),
        ("vip", "0", False),
        ("plan", "pro", "Pro"),
        ("plan", "Free", "Free"),
    ],
)
def test_each_type_is_coerced(key, raw, value):
    coerced = SCHEMA.coerce({key: raw})
    assert coerced.ok
    assert coerced.values == {key: value}
    assert type(coerced.values[key]) is type(value)


@pytest.mark.parametrize(
    ("key", "raw", "message"),
    [
        ("age", "forty", "Enter a number"),
        ("age", "1e5", "Enter a number"),
        ("age", "nan", "Enter a number"),
        ("age", "9" * 40, "Enter a number"),
        ("born", "28.02.1990", "YYYY-MM-DD"),
        ("born", "1990-02-30", "YYYY-MM-DD"),
        ("vip", "maybe", "yes or no"),
        ("plan", "Gold", "Choose one of: Free, Pro."),
        ("city", "x" * 1001, "at most 1000"),
    ],
)
def test_bad_input_gets_a_message_per_field(key, raw, message):
    coerced = SCHEMA.coerce({key: raw, "city" if key != "city" else "age": ""})
    assert not coerced.ok
    assert list(coerced.errors) == [key]
    assert message in coerced.errors[key]
    label = SCHEMA.get(key).label
    assert coerced.error_text().startswith(f"{label}: ")


def test_empty_removes_a_value_unknown_keys_are_ignored_others_are_kept():
    coerced = SCHEMA.coerce({"city": "  ", "age": "7", "nickname": "Bo"})
    assert coerced.values == {"city": None, "age": 7}
    stored = {"city": "Oslo", "age": 1, "old_field": "kept"}
    assert coerced.apply(stored) == {"age": 7, "old_field": "kept"}
    assert stored["city"] == "Oslo"  # a new dict
    # fill(): only where nothing is stored yet.
    assert SCHEMA.coerce({"city": "Rome", "age": "9"}).fill({"city": "Oslo"}) == {
        "city": "Oslo",
        "age": 9,
    }


def test_the_schema_is_read_once_then_coerces_rows_without_queries(
    django_assert_num_queries,
):
    owner = UserFactory()
    CustomFieldFactory(owner=owner, key="b_field", type=Type.NUMBER, position=2)
    CustomFieldFactory(owner=owner, key="a_field", position=1)
    CustomFieldFactory(key="elsewhere")
    with django_assert_num_queries(1):
        schema = selectors.field_schema(owner=owner)
    assert [rule.key for rule in schema] == ["a_field", "b_field"]
    with django_assert_num_queries(0):
        rows = [
            schema.coerce({"a_field": f"x{n}", "b_field": str(n)}) for n in range(50)
        ]
    assert rows[7].values == {"a_field": "x7", "b_field": 7}
