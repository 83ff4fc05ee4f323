from django.db import migrations, models

# icontains on PostgreSQL compares UPPER(column::text), so the trigram indexes
# are on that expression; the planner uses them for the client search.
TRIGRAM_COLUMNS = ("email", "full_name", "comment")


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in TRIGRAM_COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS client_{column}_trgm_idx "
            f"ON mailing_client USING gin ((UPPER({column}::text)) gin_trgm_ops)"
        )


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in TRIGRAM_COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS client_{column}_trgm_idx")


class Migration(migrations.Migration):

    dependencies = [
        ("mailing", "0004_h3_message_html_removed"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="delivery",
            name="delivery_run_status_idx",
        ),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(
                fields=["run", "status", "id"], name="delivery_run_status_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(fields=["run", "id"], name="delivery_run_log_idx"),
        ),
        migrations.AddIndex(
            model_name="client",
            index=models.Index(
                fields=["owner", "created_at"], name="client_owner_created_idx"
            ),
        ),
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes),
    ]
