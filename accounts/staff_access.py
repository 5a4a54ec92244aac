"""What the "Staff" group may do in the admin: the model permissions that let a staff user run
the site without being a superuser, and without any view of diary payloads.

The group and its permissions are created by a data migration (accounts 0003). When this list
changes, add a migration that calls `staff_group_sync` again: the test
tests/accounts/test_staff_group.py compares the migrated group with this list.
"""

from __future__ import annotations

STAFF_GROUP_NAME = "Staff"

# (app label, model name) -> actions. Nothing from `diary` (encrypted payloads), `auth` (groups
# and permissions: no self-promotion) or `otp_*` (second-factor secrets) is ever listed here.
STAFF_PERMISSIONS: dict[tuple[str, str], tuple[str, ...]] = {
    # Accounts: create clinicians and researchers, deactivate them; never delete (audit trail).
    ("accounts", "user"): ("view", "add", "change"),
    ("accounts", "apitoken"): ("view", "change"),
    # Consent: verify clinicians, publish consent document versions, registries; audit logs.
    ("consent", "clinicianprofile"): ("view", "add", "change"),
    ("consent", "consentdocument"): ("view", "add", "change", "delete"),
    ("consent", "registry"): ("view", "add", "change"),
    ("consent", "consentevent"): ("view",),
    ("consent", "accesslogevent"): ("view",),
    # Registry export: destinations, their researchers, Bulk Data backend clients; runs read-only.
    ("registry_export", "destination"): ("view", "add", "change"),
    ("registry_export", "bulkclient"): ("view", "add", "change"),
    ("registry_export", "exportrun"): ("view",),
    # Imaging: which bundles exist and how many results wait for review.
    ("imaging", "bundle"): ("view",),
    # django-axes: deleting an access attempt resets that lockout.
    ("axes", "accessattempt"): ("view", "delete"),
    ("axes", "accessfailurelog"): ("view",),
    ("axes", "accesslog"): ("view",),
}


def staff_permission_codenames() -> set[tuple[str, str]]:
    """{(app label, codename)} of every permission the group holds."""
    return {
        (app_label, f"{action}_{model}")
        for (app_label, model), actions in STAFF_PERMISSIONS.items()
        for action in actions
    }


def staff_group_sync(*, group_model, permission_model):
    """Create the group if needed and give it exactly the listed permissions.

    Takes the model classes so that a migration can pass its historical models.
    """
    group, _ = group_model.objects.get_or_create(name=STAFF_GROUP_NAME)
    wanted = staff_permission_codenames()
    permissions = [
        p
        for p in permission_model.objects.select_related("content_type").filter(
            codename__in={codename for _, codename in wanted}
        )
        if (p.content_type.app_label, p.codename) in wanted
    ]
    missing = wanted - {(p.content_type.app_label, p.codename) for p in permissions}
    if missing:
        raise LookupError(f"Permissions not found: {sorted(missing)}")
    group.permissions.set(permissions)
    return group
