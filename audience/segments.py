"""A segment's conditions: checked against the owner's fields and lists, and
compiled into a filter over the owner's clients.

`conditions` is JSON (the audience contract)::

    {"match": "all" | "any",
     "rules": [
       {"kind": "field", "key": "city", "op": "eq", "value": "Berlin"},
       {"kind": "list", "op": "in", "list": 7},
       {"kind": "added", "op": "within_days", "value": 365},
       {"kind": "sent", "op": "not_within_days", "value": 30}]}

Field rules compare `Client.attributes[key]` by the custom field's type:
text and choice case-insensitively (eq, ne, contains), numbers as numbers
(a stored value that is not a number matches neither gt nor lt), dates as
their ISO text, yes/no fields with eq true or false; is_set means a value
other than null and the empty text. List rules ask for a subscribed
membership; added rules look at the day the client was added (dates in the
owner's time zone); sent rules at a delivery sent to the client (also one
that later bounced or was complained about: it went out).

The negative rules (ne, not_in, not_within_days, is_not_set) hold for
clients without the value, membership or delivery at all, as a person
reading "city is not Berlin" expects: a client with no city is not in
Berlin.

Stored conditions can go stale (a field or list deleted since): they still
compile, without failing a planned run. A rule on a deleted list is one
nobody is a member of; a field rule without its field compares by the JSON
type of the rule's value. `conditions_validate` reports them for the pages.

On PostgreSQL eq and ne use the GIN index on the lowered attributes
(audience migration 0003): `lower(attributes::text)::jsonb @> {...}`.
"""

import json
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db.models import BooleanField, Exists, F, FloatField, Func, OuterRef, Q
from django.db.models.fields.json import KeyTextTransform
from django.db.models.lookups import (
    Exact,
    GreaterThan,
    IContains,
    IsNull,
    LessThan,
)
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from audience.models import CustomField, MailingList, Subscription
from mailing.models import Delivery

MATCHES = ("all", "any")
MAX_RULES = 20
MAX_DAYS = 36_500
MAX_TEXT = 200

FIELD_OPS = {
    CustomField.Type.TEXT: ("eq", "ne", "contains", "is_set", "is_not_set"),
    CustomField.Type.CHOICE: ("eq", "ne", "is_set", "is_not_set"),
    CustomField.Type.NUMBER: ("eq", "ne", "gt", "lt", "is_set", "is_not_set"),
    CustomField.Type.DATE: ("eq", "ne", "gt", "lt", "is_set", "is_not_set"),
    CustomField.Type.BOOLEAN: ("eq", "is_set", "is_not_set"),
}
KIND_OPS = {
    "field": ("eq", "ne", "contains", "gt", "lt", "is_set", "is_not_set"),
    "list": ("in", "not_in"),
    "added": ("within_days", "before", "after"),
    "sent": ("within_days", "not_within_days"),
}
KIND_LABELS = {
    "field": gettext_lazy("Custom field"),
    "list": gettext_lazy("List"),
    "added": gettext_lazy("Added"),
    "sent": gettext_lazy("Mail sent"),
}
OP_LABELS = {
    "eq": gettext_lazy("is"),
    "ne": gettext_lazy("is not"),
    "contains": gettext_lazy("contains"),
    "gt": gettext_lazy("is greater than / after"),
    "lt": gettext_lazy("is less than / before"),
    "is_set": gettext_lazy("is filled in"),
    "is_not_set": gettext_lazy("is empty"),
    "in": gettext_lazy("is a subscribed member of"),
    "not_in": gettext_lazy("is not a subscribed member of"),
    "within_days": gettext_lazy("within the last … days"),
    "not_within_days": gettext_lazy("not within the last … days"),
    "before": gettext_lazy("before the date"),
    "after": gettext_lazy("after the date"),
}
# A delivery that went out: later bounce and complaint reports keep it sent.
SENT_STATUSES = (
    Delivery.Status.SENT,
    Delivery.Status.BOUNCED,
    Delivery.Status.COMPLAINED,
)


# -- validation ---------------------------------------------------------------


class _RuleError(Exception):
    """One rule's problem, in words for the customer."""


def _days(value) -> int:
    if isinstance(value, bool):
        raise _RuleError(_("Give a whole number of days."))
    try:
        days = int(str(value).strip())
    except (TypeError, ValueError):
        raise _RuleError(_("Give a whole number of days.")) from None
    if not 1 <= days <= MAX_DAYS:
        raise _RuleError(
            _("Give a number of days from 1 to %(max)s.") % {"max": MAX_DAYS}
        )
    return days


def _iso_date(value) -> str:
    text = str(value or "").strip()
    try:
        if len(text) != 10:
            raise ValueError
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise _RuleError(_("Give a date as YYYY-MM-DD.")) from None


def _number(value) -> int | float:
    if isinstance(value, bool):
        raise _RuleError(_("Give a number."))
    if isinstance(value, int | float):
        return value
    text = str(value or "").strip().replace(",", ".")
    try:
        number = float(text)
    except ValueError:
        raise _RuleError(_("Give a number.")) from None
    if number != number or number in (float("inf"), float("-inf")):
        raise _RuleError(_("Give a number."))
    return int(number) if number.is_integer() and "." not in text else number


_TRUE = {"true", "yes", "1", "on", "да"}
_FALSE = {"false", "no", "0", "off", "нет"}


def _boolean(value) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE or text in _FALSE:
        return text in _TRUE
    raise _RuleError(_("Choose yes or no."))


def _text(value, field: CustomField) -> str:
    text = str("" if value is None else value).strip()
    if not text:
        raise _RuleError(_("Give a value to compare with."))
    if len(text) > MAX_TEXT:
        raise _RuleError(
            _("Give a value of at most %(max)s characters.") % {"max": MAX_TEXT}
        )
    if field.type == CustomField.Type.CHOICE and field.choices:
        for choice in field.choices:
            if str(choice).lower() == text.lower():
                return str(choice)
        raise _RuleError(
            _("Choose one of: %(choices)s.")
            % {"choices": ", ".join(str(choice) for choice in field.choices)}
        )
    return text


def _field_value(field: CustomField, op: str, value):
    if op in ("is_set", "is_not_set"):
        return None
    if field.type == CustomField.Type.NUMBER:
        return _number(value)
    if field.type == CustomField.Type.DATE:
        return _iso_date(value)
    if field.type == CustomField.Type.BOOLEAN:
        return _boolean(value)
    return _text(value, field)


def _field_rule(rule: dict, fields: dict) -> dict:
    key = rule.get("key")
    field = fields.get(key) if isinstance(key, str) else None
    if field is None:
        raise _RuleError(_("Choose one of your custom fields."))
    op = rule.get("op")
    if op not in FIELD_OPS.get(field.type, ()):
        raise _RuleError(
            _("“%(op)s” does not apply to the field %(field)s.")
            % {"op": OP_LABELS.get(op, op), "field": field.label}
        )
    clean = {"kind": "field", "key": key, "op": op}
    if op not in ("is_set", "is_not_set"):
        clean["value"] = _field_value(field, op, rule.get("value"))
    return clean


def _list_rule(rule: dict, list_ids: set[int]) -> dict:
    value = rule.get("list")
    try:
        list_id = None if isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        list_id = None
    if list_id not in list_ids:
        raise _RuleError(_("Choose one of your lists."))
    return {"kind": "list", "op": rule["op"], "list": list_id}


def _rule_clean(rule, *, fields: dict, list_ids: set[int]) -> dict:
    if not isinstance(rule, dict):
        raise _RuleError(_("Not a rule."))
    kind = rule.get("kind")
    if kind not in KIND_OPS:
        raise _RuleError(_("Choose what the rule looks at."))
    op = rule.get("op")
    if op not in KIND_OPS[kind]:
        raise _RuleError(_("Choose a comparison that applies to this rule."))
    if kind == "field":
        return _field_rule(rule, fields)
    if kind == "list":
        return _list_rule(rule, list_ids)
    value = rule.get("value")
    if kind == "added" and op in ("before", "after"):
        return {"kind": kind, "op": op, "value": _iso_date(value)}
    return {"kind": kind, "op": op, "value": _days(value)}


def conditions_validate(conditions, *, owner) -> dict:
    """`conditions` checked against `owner`'s custom fields and lists, with
    each value in its stored type (numbers as numbers, dates as ISO text).

    Raises ValidationError listing one message per faulty rule ("Rule 2:
    …"): an unknown kind or comparison, a field or list that is not the
    owner's, a value of the wrong type; no rule at all, or too many.
    """
    if not isinstance(conditions, dict):
        raise ValidationError(_("The conditions are not readable."))
    match = conditions.get("match", "all")
    if match not in MATCHES:
        raise ValidationError(_("Choose whether all or any rule must match."))
    rules = conditions.get("rules")
    if not isinstance(rules, list) or not rules:
        raise ValidationError(_("Add at least one rule."))
    if len(rules) > MAX_RULES:
        raise ValidationError(
            _("A segment has at most %(max)s rules.") % {"max": MAX_RULES}
        )
    fields = {field.key: field for field in CustomField.objects.filter(owner=owner)}
    list_ids = set(MailingList.objects.filter(owner=owner).values_list("pk", flat=True))
    clean, errors = [], []
    for number, rule in enumerate(rules, start=1):
        try:
            clean.append(_rule_clean(rule, fields=fields, list_ids=list_ids))
        except _RuleError as error:
            errors.append(
                _("Rule %(number)s: %(error)s") % {"number": number, "error": error}
            )
    if errors:
        raise ValidationError(errors)
    return {"match": match, "rules": clean}


# -- compilation --------------------------------------------------------------


class _AttributeEquals(Func):
    """`attributes[key]` equals `value`, text without regard to case.

    On PostgreSQL, `indexed` (eq) asks containment in the lowered
    attributes, which the GIN index `client_attributes_lower_idx` answers;
    without it (ne, which no index helps) the one value is compared, much
    cheaper per row than lowering and parsing the whole document."""

    output_field = BooleanField()

    def __init__(self, key: str, value, *, indexed: bool = True, exact=False):
        super().__init__(F("attributes"))
        self.key, self.value, self.indexed = key, value, indexed
        self.exact = exact

    def as_postgresql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        if self.exact:
            return f"(({column}) ->> %s) = %s", [*params, self.key, self.value]
        if self.indexed:
            document = json.dumps({self.key: self.value}, ensure_ascii=False)
            return (
                f"lower(({column})::text)::jsonb @> lower(%s::text)::jsonb",
                [*params, document],
            )
        if isinstance(self.value, str):
            return (
                f"lower(({column}) ->> %s) = lower(%s::text)",
                [*params, self.key, self.value],
            )
        return (
            f"(({column}) -> %s) = %s::jsonb",
            [*params, self.key, json.dumps(self.value)],
        )

    def as_sql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        path = f'$."{self.key}"'
        if self.exact:
            return f"json_extract({column}, %s) = %s", [*params, path, self.value]
        if isinstance(self.value, str):
            return (
                f"lower(json_extract({column}, %s)) = lower(%s)",
                [*params, path, self.value],
            )
        value = int(self.value) if isinstance(self.value, bool) else self.value
        return f"json_extract({column}, %s) = %s", [*params, path, value]


class _AttributeNumber(Func):
    """`attributes[key]` as a number, null when it holds anything else (a
    cast of text would fail the whole query)."""

    output_field = FloatField()

    def __init__(self, key: str):
        super().__init__(F("attributes"))
        self.key = key

    def as_postgresql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        return (
            f"CASE WHEN jsonb_typeof({column} -> %s) = 'number' "
            f"THEN ({column} ->> %s)::double precision END",
            [*params, self.key, *params, self.key],
        )

    def as_sql(self, compiler, connection, **extra):
        column, params = compiler.compile(self.source_expressions[0])
        path = f'$."{self.key}"'
        return (
            f"CASE WHEN json_type({column}, %s) IN ('integer', 'real') "
            f"THEN json_extract({column}, %s) END",
            [*params, path, *params, path],
        )


_COMPARE = {"gt": GreaterThan, "lt": LessThan}


def _field_q(rule: dict, field_type: str | None) -> Q:
    key, op, value = rule["key"], rule["op"], rule.get("value")
    text = KeyTextTransform(key, "attributes")
    missing = Q(IsNull(text, True))
    if op == "is_set":
        return Q(IsNull(text, False)) & ~Q(Exact(text, ""))
    if op == "is_not_set":
        return missing | Q(Exact(text, ""))
    if op == "eq" and field_type == CustomField.Type.CHOICE:
        # A choice is stored as the choice itself (every way in coerces to
        # it) and the rule's value is that choice too: one value compared
        # per client. A common choice ("Berlin" for 14 % of a million
        # clients) made the lowered index's lossy recheck read and reparse
        # every matching document: 370 ms against 230 ms for this scan.
        return Q(_AttributeEquals(key, value, exact=True))
    if op == "eq":
        return Q(_AttributeEquals(key, value))
    if op == "ne":
        return missing | ~Q(_AttributeEquals(key, value, indexed=False))
    if op == "contains":
        return Q(IContains(text, str(value)))
    is_number = field_type == CustomField.Type.NUMBER or (
        field_type is None and isinstance(value, int | float)
    )
    if is_number:
        return Q(_COMPARE[op](_AttributeNumber(key), float(value)))
    return Q(IsNull(text, False)) & Q(_COMPARE[op](text, str(value)))


def _day_start(day: str, zone) -> datetime:
    return datetime.combine(date.fromisoformat(day), time.min, tzinfo=zone)


def _added_q(rule: dict, *, owner, now: datetime) -> Q:
    op, value = rule["op"], rule["value"]
    if op == "within_days":
        return Q(created_at__gte=now - timedelta(days=int(value)))
    start = _day_start(value, owner.zone)
    if op == "before":
        return Q(created_at__lt=start)
    return Q(created_at__gte=start + timedelta(days=1))


def _list_q(rule: dict, owner_list_ids: set[int]) -> Q:
    list_id = rule.get("list")
    if list_id in owner_list_ids:
        member = Exists(
            Subscription.objects.filter(
                client_id=OuterRef("pk"),
                mailing_list_id=list_id,
                status=Subscription.Status.SUBSCRIBED,
            )
        )
    else:
        # A deleted list (or one of another owner's): nobody is a member.
        member = Q(pk__in=[])
    return Q(member) if rule["op"] == "in" else ~Q(member)


def _sent_q(rule: dict, *, now: datetime) -> Q:
    sent = Exists(
        Delivery.objects.filter(
            client_id=OuterRef("pk"),
            status__in=SENT_STATUSES,
            last_attempt_at__gte=now - timedelta(days=int(rule["value"])),
        )
    )
    return Q(sent) if rule["op"] == "within_days" else ~Q(sent)


def _rule_q(rule: dict, *, owner, types: dict, list_ids: set[int], now) -> Q:
    kind = rule.get("kind")
    if kind == "field":
        return _field_q(rule, types.get(rule.get("key")))
    if kind == "list":
        return _list_q(rule, list_ids)
    if kind == "added":
        return _added_q(rule, owner=owner, now=now)
    if kind == "sent":
        return _sent_q(rule, now=now)
    return Q(pk__in=[])


def conditions_q(conditions: dict, *, owner, now: datetime | None = None) -> Q:
    """The filter over `owner`'s clients that `conditions` select (the owner
    filter itself is the caller's). Expects conditions as stored, checked
    by `conditions_validate`; a rule it cannot read selects nobody."""
    now = now or timezone.now()
    rules = (conditions.get("rules") or []) if isinstance(conditions, dict) else []
    types = dict(CustomField.objects.filter(owner=owner).values_list("key", "type"))
    list_ids = set(MailingList.objects.filter(owner=owner).values_list("pk", flat=True))
    parts = [
        _rule_q(rule, owner=owner, types=types, list_ids=list_ids, now=now)
        for rule in rules
        if isinstance(rule, dict)
    ]
    if not parts:
        return Q()
    combined = parts[0]
    any_rule = conditions.get("match") == "any"
    for part in parts[1:]:
        combined = (combined | part) if any_rule else (combined & part)
    return combined


def _days_text(op: str, days) -> str:
    if op == "not_within_days":
        return ngettext(
            "no mail sent in the last %(days)s day",
            "no mail sent in the last %(days)s days",
            days,
        ) % {"days": days}
    return ngettext(
        "mail sent in the last %(days)s day",
        "mail sent in the last %(days)s days",
        days,
    ) % {"days": days}


def _added_text(op: str, value) -> str:
    if op == "before":
        return _("added before %(date)s") % {"date": value}
    if op == "after":
        return _("added after %(date)s") % {"date": value}
    return ngettext(
        "added in the last %(days)s day", "added in the last %(days)s days", value
    ) % {"days": value}


def rule_describe(rule, *, labels: dict, list_names: dict) -> str:
    """One stored rule in words, for the segment page ("City is “Berlin”")."""
    if not isinstance(rule, dict):
        return "?"
    kind, op, value = rule.get("kind"), rule.get("op"), rule.get("value")
    if kind == "list":
        name = list_names.get(rule.get("list"), _("(deleted list)"))
        if op == "not_in":
            return _("not subscribed to %(list)s") % {"list": name}
        return _("subscribed to %(list)s") % {"list": name}
    if kind == "added":
        return _added_text(op, value)
    if kind == "sent":
        return _days_text(op, value)
    field = labels.get(rule.get("key"), rule.get("key"))
    if op in ("is_set", "is_not_set"):
        return f"{field} {OP_LABELS.get(op, op)}"
    if isinstance(value, bool):
        value = _("yes") if value else _("no")
    return f"{field} {OP_LABELS.get(op, op)} “{value}”"


def conditions_stale(conditions, *, owner) -> list[str]:
    """What is wrong with stored conditions now (a field or list deleted
    since it was saved); empty when nothing is."""
    try:
        conditions_validate(conditions, owner=owner)
    except ValidationError as error:
        return error.messages
    return []


__all__ = [
    "KIND_LABELS",
    "OP_LABELS",
    "rule_describe",
    "KIND_OPS",
    "FIELD_OPS",
    "conditions_q",
    "conditions_stale",
    "conditions_validate",
]
