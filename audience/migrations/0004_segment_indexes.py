"""Indexes for segment counts on PostgreSQL (nothing on SQLite).

- client_attributes_lower_idx: a GIN index (jsonb_path_ops) on the client's
  custom field values with the text lowered, the expression that
  audience.segments compares eq/ne with (`lower(attributes::text)::jsonb @>
  {"city": "berlin"}`). One index serves every field, any number of them,
  and case-insensitive matching; an expression index per key would need a
  migration per custom field a customer adds.
- delivery_client_sent_idx: a sent rule asks, per client, whether a delivery
  went out within N days; this partial index answers it from the index
  alone instead of reading every delivery the client ever had.
"""

from django.db import migrations

SENT_STATUSES = "('sent', 'bounced', 'complained')"


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS client_attributes_lower_idx ON mailing_client "
        "USING gin ((lower(attributes::text)::jsonb) jsonb_path_ops)"
    )
    schema_editor.execute(
        "CREATE INDEX IF NOT EXISTS delivery_client_sent_idx ON mailing_delivery "
        f"(client_id, last_attempt_at) WHERE status IN {SENT_STATUSES}"
    )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS client_attributes_lower_idx")
    schema_editor.execute("DROP INDEX IF EXISTS delivery_client_sent_idx")


class Migration(migrations.Migration):

    dependencies = [
        ("audience", "0003_list_form_fields"),
        ("mailing", "0012_client_attributes_mailing_segment"),
    ]

    operations = [
        migrations.RunPython(create_indexes, drop_indexes),
    ]
