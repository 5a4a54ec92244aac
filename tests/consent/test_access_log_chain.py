"""The access log cannot be quietly erased (issue 16): the app's database role may only
INSERT and SELECT on it, no session can switch the trigger off, and the rows are sealed into a
hash chain that an edit or a deletion breaks."""

from __future__ import annotations

import psycopg
import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from consent import access_chain, services
from consent.models import AccessLogEvent, AccessLogSeal, AccessOutcome

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="database roles exist on PostgreSQL only"
)
APP_ROLE = "sjd_app_test"


def _log(n: int, patient_id=None) -> list[AccessLogEvent]:
    return [
        services.access_log_record(
            actor=None, patient_id=patient_id, what=f"read {i}", outcome=AccessOutcome.ALLOWED,
            request=None,
        )
        for i in range(n)
    ]  # fmt: skip


def _as_owner(statement: str, params=()) -> None:
    """What someone holding the tables' owner role could do behind the application's back."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE consent_accesslogevent DISABLE TRIGGER USER")
        cursor.execute(statement, params)
        cursor.execute("ALTER TABLE consent_accesslogevent ENABLE TRIGGER USER")


@pytest.mark.django_db
def test_rows_are_hashed_sealed_in_order_and_verify(patient_alice):
    rows = _log(3, patient_id=patient_alice.pk)
    assert all(len(r.row_hash) == 64 for r in rows)
    assert access_chain.unsealed() == 3
    assert access_chain.seal() == 3 and access_chain.seal() == 0
    seals = list(AccessLogSeal.objects.order_by("seq"))
    assert [s.event_id for s in seals] == [r.pk for r in rows]
    assert list(access_chain.verify()) == []
    call_command("access_log_verify")


@postgres_only
@pytest.mark.django_db
def test_an_edited_row_breaks_the_verification(patient_alice):
    rows = _log(3, patient_id=patient_alice.pk)
    access_chain.seal()
    _as_owner("UPDATE consent_accesslogevent SET what = 'nothing' WHERE id = %s", [rows[1].pk])
    (found,) = access_chain.verify()
    assert f"row id {rows[1].pk}" in found.where and "edited" in found.reason
    with pytest.raises(CommandError, match="broken in 1 place"):
        call_command("access_log_verify")


@postgres_only
@pytest.mark.django_db
def test_an_edit_that_rewrites_the_rows_hash_still_breaks_the_chain(patient_alice):
    rows = _log(3, patient_id=patient_alice.pk)
    access_chain.seal()
    forged = AccessLogEvent(
        **{f.attname: getattr(rows[1], f.attname) for f in rows[1]._meta.fields}
    )
    forged.what = "nothing"
    _as_owner(
        "UPDATE consent_accesslogevent SET what = %s, row_hash = %s WHERE id = %s",
        ["nothing", access_chain.content_hash(forged), rows[1].pk],
    )
    (found,) = access_chain.verify()
    assert "chain does not match" in found.reason


@postgres_only
@pytest.mark.django_db
def test_a_deleted_row_breaks_the_verification(patient_alice):
    rows = _log(3, patient_id=patient_alice.pk)
    access_chain.seal()
    _as_owner("DELETE FROM consent_accesslogevent WHERE id = %s", [rows[1].pk])
    (found,) = access_chain.verify()
    assert "deleted" in found.reason


@pytest.mark.django_db
def test_a_row_written_around_the_hashing_is_refused():
    with pytest.raises(IntegrityError), transaction.atomic():
        # bulk_create skips save(), where the hash is set: unhashed rows fail the constraint
        AccessLogEvent.objects.bulk_create(
            [AccessLogEvent(kind="page", what="x", outcome="allowed")]
        )


@pytest.mark.django_db
def test_the_seal_task_seals_new_rows(patient_alice):
    from consent.tasks import access_log_seal

    _log(2, patient_id=patient_alice.pk)
    access_log_seal.apply()
    assert access_chain.unsealed() == 0


@pytest.fixture
def app_role_cursor(django_db_blocker):
    """A connection to the test database as the application's role (made by the command)."""
    with django_db_blocker.unblock():
        call_command("db_app_role", APP_ROLE)
    settings = connection.settings_dict
    conn = psycopg.connect(
        dbname=settings["NAME"], user=APP_ROLE, host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432, autocommit=True,
    )  # fmt: skip
    try:
        yield conn.cursor()
    finally:
        conn.close()


@postgres_only
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("table", ["consent_accesslogevent", "consent_accesslogseal"])
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {t} SET id = id",
        "DELETE FROM {t}",
        "TRUNCATE {t}",
        "ALTER TABLE {t} DISABLE TRIGGER USER",
        "DROP TABLE {t}",
        # the old bypass: any session could set it before a TRUNCATE
        "SET consent.allow_access_log_truncate = 'on'; TRUNCATE {t}",
    ],
)
def test_the_app_role_cannot_change_or_erase_the_log(app_role_cursor, statement, table):
    _log(2)
    access_chain.seal()
    if "seal" in table:
        statement = statement.replace("SET id = id", "SET seq = seq")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        app_role_cursor.execute(statement.format(t=table))
    assert AccessLogEvent.objects.count() == 2 and AccessLogSeal.objects.count() == 2
    assert list(access_chain.verify()) == []


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_app_role_can_read_append_and_use_other_tables(app_role_cursor, patient_alice):
    _log(1)
    app_role_cursor.execute("SELECT count(*) FROM consent_accesslogevent")
    assert app_role_cursor.fetchone()[0] == 1
    app_role_cursor.execute(
        "INSERT INTO consent_accesslogevent (occurred_at, actor_role, kind, what, outcome, "
        "request_id, visit, row_hash) VALUES (now(), 'x', 'page', 'y', 'allowed', '', '', %s)",
        ["a" * 64],
    )
    app_role_cursor.execute(
        "UPDATE accounts_user SET last_login = now() WHERE id = %s", [patient_alice.pk]
    )
    app_role_cursor.execute(
        "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
        "WHERE r.rolname = %s",
        [APP_ROLE],
    )
    assert app_role_cursor.fetchone()[0] == 0  # it owns nothing
