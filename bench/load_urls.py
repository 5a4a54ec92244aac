"""The app's URLs plus /bench/ping, a bare JSON view (bench/bench_load.py's baseline): the same
gunicorn, middleware and Python, none of the diary's work (token, database, encryption)."""

from django.http import JsonResponse
from django.urls import path

from config.urls import handler400, handler404
from config.urls import urlpatterns as app_urlpatterns

__all__ = ["handler400", "handler404", "urlpatterns"]


def ping(request):
    return JsonResponse({"ok": True})


urlpatterns = [path("bench/ping", ping), *app_urlpatterns]
