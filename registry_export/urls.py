from django.urls import path

from registry_export import views

urlpatterns = [
    path("", views.destination_list, name="destination_list"),
    path("destinations/<uuid:destination_id>/run/", views.run_now, name="run_now"),
    path("runs/<int:run_id>/", views.run_detail, name="run_detail"),
    path("runs/<int:run_id>/files/<str:name>", views.run_file, name="run_file"),
    path("cohort/", views.cohort, name="cohort"),
]
