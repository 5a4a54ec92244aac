"""Create or refresh the PostgreSQL role the application runs as.

Migrations run as the role that owns the tables; the web and worker processes connect as this
role, which owns nothing: it may read and write the application's tables, but on the access log
(consent_accesslogevent and its seals) only SELECT and INSERT, so no UPDATE, DELETE, TRUNCATE,
ALTER TABLE or trigger switch is possible from the application. Run it after every `migrate`,
as the owner:

    DATABASE_URL=postgres://owner@host/db python manage.py db_app_role sjd_app \
        --password-env APP_DB_PASSWORD
"""

from __future__ import annotations

import os

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from psycopg import sql

APPEND_ONLY = {("consent", "AccessLogEvent"), ("consent", "AccessLogSeal")}
READ_ONLY = {"django_migrations"}


class Command(BaseCommand):
    help = "Create or refresh the non-owner database role the application runs as."

    def add_arguments(self, parser):
        parser.add_argument("role")
        parser.add_argument(
            "--password-env", help="name of an environment variable holding the role's password"
        )

    def handle(self, *args, role: str, password_env: str | None = None, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Database roles exist on PostgreSQL only.")
        password = os.environ.get(password_env, "") if password_env else ""
        if password_env and not password:
            raise CommandError(f"The environment variable {password_env} is empty or missing.")
        append_only = {apps.get_model(*key)._meta.db_table for key in APPEND_ONLY}
        ident = sql.Identifier(role)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role])
            verb = "ALTER" if cursor.fetchone() else "CREATE"
            options_sql = sql.SQL(
                " LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOBYPASSRLS"
            )
            statement = sql.SQL(verb + " ROLE {}").format(ident) + options_sql
            if password:
                statement += sql.SQL(" PASSWORD {}").format(sql.Literal(password))
            cursor.execute(statement.as_string(cursor.connection))
            cursor.execute("SELECT current_database(), current_user")
            database, owner = cursor.fetchone()
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            tables = [row[0] for row in cursor.fetchall()]
            for statement in _grants(ident, database, tables, append_only):
                cursor.execute(statement.as_string(cursor.connection))
            cursor.execute(
                "SELECT count(*) FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner "
                "WHERE r.rolname = %s",
                [role],
            )
            owned = cursor.fetchone()[0]
        if owned:
            raise CommandError(f"Role {role} owns {owned} relations; it must own nothing.")
        self.stdout.write(
            f"Role {role} may use the tables of {database} (owner {owner}); on "
            f"{', '.join(sorted(append_only))} only SELECT and INSERT. Run again after migrate."
        )


def _grants(role: sql.Identifier, database: str, tables: list[str], append_only: set[str]):
    yield sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), role)
    yield sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(role)
    yield sql.SQL("REVOKE CREATE ON SCHEMA public FROM {}").format(role)
    yield sql.SQL("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {}").format(role)
    yield sql.SQL("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {}").format(role)
    for table in tables:
        if table in append_only:
            rights = "SELECT, INSERT"
        elif table in READ_ONLY:
            rights = "SELECT"
        else:
            rights = "SELECT, INSERT, UPDATE, DELETE"
        yield sql.SQL("GRANT " + rights + " ON TABLE {} TO {}").format(sql.Identifier(table), role)
