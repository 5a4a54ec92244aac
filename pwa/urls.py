"""Served from the site root (config/urls.py): a worker's scope is the path it is served from."""

from django.urls import path

from pwa import views

app_name = "pwa"

urlpatterns = [
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("offline/", views.offline, name="offline"),
    path("jsi18n/<str:language>/", views.javascript_catalog, name="javascript_catalog"),
]
