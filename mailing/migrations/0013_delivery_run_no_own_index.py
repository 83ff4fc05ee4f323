"""Drop the delivery's own index on `run`: the unique (run, client) and the
other delivery indexes all begin with the run.

Only the index goes (concurrently on PostgreSQL, so dispatchers keep
writing); Django's AlterField would also drop and re-add the foreign key,
checking every delivery again under a lock of the whole table.
"""

import django.db.models.deletion
from django.db import migrations, models

INDEX = "mailing_delivery_run_id_18eb84f5"


def _concurrently(schema_editor) -> str:
    return "CONCURRENTLY " if schema_editor.connection.vendor == "postgresql" else ""


def drop_index(apps, schema_editor):
    schema_editor.execute(
        f'DROP INDEX {_concurrently(schema_editor)}IF EXISTS "{INDEX}"'
    )


def create_index(apps, schema_editor):
    schema_editor.execute(
        f'CREATE INDEX {_concurrently(schema_editor)}IF NOT EXISTS "{INDEX}" '
        'ON "mailing_delivery" ("run_id")'
    )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("mailing", "0012_client_attributes_mailing_segment"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="delivery",
                    name="run",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="deliveries",
                        to="mailing.run",
                        verbose_name="run",
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(drop_index, create_index)],
        ),
    ]
