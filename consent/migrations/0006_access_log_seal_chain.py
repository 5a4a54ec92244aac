"""The access log is sealed into a hash chain, and its TRUNCATE bypass goes (issue 16).

- `row_hash` on every row (a hash of its content; existing rows are hashed here with the
  append-only trigger disabled for this one UPDATE: migrations run as the table's owner, who
  alone may do that) and `AccessLogSeal`, the chain (consent/access_chain.py), append-only too.
- The trigger function no longer honours a session setting that any session could set: UPDATE
  and DELETE are refused always, TRUNCATE unless the current role owns the table (the migration
  role; the test runner's flush). The application runs as a role that owns nothing and may only
  INSERT and SELECT on both tables (`manage.py db_app_role`).
- A beat entry seals new rows every minute.
"""

import datetime as dt
import hashlib

from django.db import migrations, models
from django.db.models import Q

FUNCTION = """
CREATE OR REPLACE FUNCTION consent_access_log_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' AND pg_has_role(
        current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER'
    ) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER consent_access_seal_no_update_delete
    BEFORE UPDATE OR DELETE ON consent_accesslogseal
    FOR EACH ROW EXECUTE FUNCTION consent_access_log_refuse_change();

CREATE TRIGGER consent_access_seal_no_truncate
    BEFORE TRUNCATE ON consent_accesslogseal
    FOR EACH STATEMENT EXECUTE FUNCTION consent_access_log_refuse_change();
"""

SEAL_TASK = "consent.tasks.access_log_seal"


def _content_hash(row):
    occurred = row.occurred_at.astimezone(dt.UTC).isoformat(timespec="microseconds")
    fields = (
        occurred,
        "" if row.actor_id is None else str(row.actor_id),
        row.actor_role,
        "" if row.patient_id is None else str(row.patient_id),
        row.kind,
        row.what,
        row.outcome,
        row.request_id,
        row.client_address or "",
        row.visit,
    )
    return hashlib.sha256("\x1f".join(fields).encode()).hexdigest()


def hash_existing(apps, schema_editor):
    Event = apps.get_model("consent", "AccessLogEvent")
    pg = schema_editor.connection.vendor == "postgresql"
    trigger = "consent_accesslogevent {} TRIGGER consent_access_log_no_update_delete"
    if pg:
        schema_editor.execute("ALTER TABLE " + trigger.format("DISABLE"))
    for row in Event.objects.order_by("id").iterator(chunk_size=2000):
        Event.objects.filter(pk=row.pk).update(row_hash=_content_hash(row))
    if pg:
        schema_editor.execute("ALTER TABLE " + trigger.format("ENABLE"))


def triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION, params=None)


def schedule(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    every, _ = IntervalSchedule.objects.get_or_create(every=1, period="minutes")
    PeriodicTask.objects.get_or_create(
        name="Seal the access log", defaults={"task": SEAL_TASK, "interval": every}
    )


class Migration(migrations.Migration):
    dependencies = [
        ("consent", "0005_access_log_visit"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.AddField(
            model_name="accesslogevent",
            name="row_hash",
            field=models.CharField(default="", max_length=64),
            preserve_default=False,
        ),
        migrations.RunPython(hash_existing, migrations.RunPython.noop, elidable=False),
        migrations.AddConstraint(
            model_name="accesslogevent",
            constraint=models.CheckConstraint(
                condition=Q(row_hash__regex="^[0-9a-f]{64}$"), name="access_log_row_hashed"
            ),
        ),
        migrations.CreateModel(
            name="AccessLogSeal",
            fields=[
                ("seq", models.BigIntegerField(primary_key=True, serialize=False)),
                ("link_hash", models.CharField(max_length=64)),
                ("sealed_at", models.DateTimeField(auto_now_add=True)),
                (
                    "event",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=models.deletion.DO_NOTHING,
                        related_name="seal",
                        to="consent.accesslogevent",
                    ),
                ),
            ],
        ),
        migrations.RunPython(triggers, migrations.RunPython.noop, elidable=False),
        migrations.RunPython(schedule, migrations.RunPython.noop, elidable=False),
    ]
