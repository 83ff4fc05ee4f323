from django.urls import path

from audience import views

app_name = "audience"

urlpatterns = [
    path("lists/", views.list_list, name="list_list"),
    path("lists/new/", views.list_create, name="list_create"),
    path("lists/<int:pk>/", views.list_detail, name="list_detail"),
    path("lists/<int:pk>/edit/", views.list_update, name="list_update"),
    path("lists/<int:pk>/delete/", views.list_delete, name="list_delete"),
    path("fields/", views.field_list, name="field_list"),
    path("fields/new/", views.field_create, name="field_create"),
    path("fields/<int:pk>/edit/", views.field_update, name="field_update"),
    path("fields/<int:pk>/delete/", views.field_delete, name="field_delete"),
    path("segments/", views.segment_list, name="segment_list"),
    path("segments/new/", views.segment_create, name="segment_create"),
    path("segments/<int:pk>/", views.segment_detail, name="segment_detail"),
    path("segments/<int:pk>/edit/", views.segment_update, name="segment_update"),
    path("segments/<int:pk>/delete/", views.segment_delete, name="segment_delete"),
    path("segments/<int:pk>/export/", views.segment_export, name="segment_export"),
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
