import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("sjogrens_diary")
# Every CELERY_* Django setting configures Celery; a test checks the important ones took.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
