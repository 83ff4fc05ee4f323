from django.urls import path

from audience import views

app_name = "audience"

urlpatterns = [
    path("lists/", views.list_list, name="list_list"),
    path("lists/new/", views.list_create, name="list_create"),
    path("lists/<int:pk>/", views.list_detail, name="list_detail"),
    path("lists/<int:pk>/edit/", views.list_update, name="list_update"),
    path("lists/<int:pk>/delete/", views.list_delete, name="list_delete"),
    path("lists/<int:pk>/export.csv", views.list_export, name="list_export"),
    path("clients/import/", views.client_import, name="client_import"),
    path(
        "clients/import/<int:pk>/",
        views.client_import_detail,
        name="client_import_detail",
    ),
    path(
        "clients/import/<int:pk>/columns/",
        views.client_import_mapping,
        name="client_import_mapping",
    ),
    path(
        "clients/import/<int:pk>/progress.json",
        views.client_import_progress,
        name="client_import_progress",
    ),
    path(
        "clients/import/<int:pk>/rejected.csv",
        views.client_import_report,
        name="client_import_report",
    ),
    path(
        "clients/<int:client_pk>/lists/",
        views.subscription_add,
        name="subscription_add",
    ),
    path(
        "subscriptions/<int:pk>/remove/",
        views.subscription_remove,
        name="subscription_remove",
    ),
]
