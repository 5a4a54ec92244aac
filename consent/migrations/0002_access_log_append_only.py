"""The access log is append-only on PostgreSQL: a trigger refuses UPDATE, DELETE and TRUNCATE.

TRUNCATE is allowed only when the session sets consent.allow_access_log_truncate = 'on', which
only the test settings do (the test runner flushes tables between transactional tests); the
application never sets it. See consent/signals.py.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION consent_access_log_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'TRUNCATE'
       AND coalesce(current_setting('consent.allow_access_log_truncate', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'consent_accesslogevent is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER consent_access_log_no_update_delete
    BEFORE UPDATE OR DELETE ON consent_accesslogevent
    FOR EACH ROW EXECUTE FUNCTION consent_access_log_refuse_change();

CREATE TRIGGER consent_access_log_no_truncate
    BEFORE TRUNCATE ON consent_accesslogevent
    FOR EACH STATEMENT EXECUTE FUNCTION consent_access_log_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS consent_access_log_no_truncate ON consent_accesslogevent;
DROP TRIGGER IF EXISTS consent_access_log_no_update_delete ON consent_accesslogevent;
DROP FUNCTION IF EXISTS consent_access_log_refuse_change();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("consent", "0001_initial")]

    operations = [migrations.RunPython(forward, backward, elidable=False)]
