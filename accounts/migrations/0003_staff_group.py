"""The "Staff" group and its model permissions (accounts/staff_access.py), so that staff run the
site without being superusers. Existing staff-role users who are not superusers join it."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from accounts.staff_access import STAFF_GROUP_NAME, STAFF_PERMISSIONS, staff_group_sync


def forwards(apps, schema_editor):
    # Permissions are normally created after all migrations (post_migrate); create the ones the
    # group needs now, so that a fresh database gets the group in the same `migrate`.
    for label in sorted({app_label for app_label, _ in STAFF_PERMISSIONS}):
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    group = staff_group_sync(
        group_model=apps.get_model("auth", "Group"),
        permission_model=apps.get_model("auth", "Permission"),
    )
    User = apps.get_model("accounts", "User")
    group.user_set.add(*User.objects.filter(role="staff", is_superuser=False))


def backwards(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=STAFF_GROUP_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_user_birth_year"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("consent", "0004_consent_event_survives_erasure"),
        ("registry_export", "0002_bulk_data_clients_jobs_and_withdrawal_lists"),
        ("imaging", "0004_review_submissions"),
        ("axes", "0010_accessattemptexpiration"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
