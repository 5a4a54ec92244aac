import logging
import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
application = get_wsgi_application()


def _refuse_wrong_keys() -> None:
    """A web worker with a wrong key-encryption key does not start (gunicorn reports "Worker
    failed to boot" and stops), instead of answering 500 on the first page that decrypts."""
    from django.db import DatabaseError, connection

    from diary import crypto

    try:
        crypto.assert_keks_unwrap()
    except DatabaseError:
        logging.getLogger(__name__).warning("key check skipped: database not available")
    except crypto.WrongKeyEncryptionKey as exc:
        logging.getLogger(__name__).critical("%s", exc)
        raise SystemExit(str(exc)) from exc
    finally:
        connection.close()


_refuse_wrong_keys()
