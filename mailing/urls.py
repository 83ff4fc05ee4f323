from django.urls import path

from mailing import views

app_name = "mailing"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("clients/", views.client_list, name="client_list"),
    path("clients/new/", views.client_create, name="client_create"),
    path("clients/export.csv", views.client_export, name="client_export"),
    path("clients/search.json", views.client_search, name="client_search"),
    path("clients/<int:pk>/", views.client_detail, name="client_detail"),
    path("clients/<int:pk>/edit/", views.client_update, name="client_update"),
    path("clients/<int:pk>/delete/", views.client_delete, name="client_delete"),
    path("suppressed/", views.suppression_list, name="suppression_list"),
    path(
        "suppressed/<int:pk>/remove/",
        views.suppression_remove,
        name="suppression_remove",
    ),
    path("messages/", views.message_list, name="message_list"),
    path("messages/new/", views.message_create, name="message_create"),
    path("messages/<int:pk>/", views.message_detail, name="message_detail"),
    path("messages/<int:pk>/edit/", views.message_update, name="message_update"),
    path("messages/<int:pk>/delete/", views.message_delete, name="message_delete"),
    path("mailings/", views.mailing_list, name="mailing_list"),
    path("mailings/new/", views.mailing_create, name="mailing_create"),
    path(
        "mailings/recipients.json",
        views.mailing_recipient_count,
        name="mailing_recipient_count",
    ),
    path("mailings/<int:pk>/", views.mailing_detail, name="mailing_detail"),
    path("mailings/<int:pk>/edit/", views.mailing_update, name="mailing_update"),
    path("mailings/<int:pk>/delete/", views.mailing_delete, name="mailing_delete"),
    path(
        "mailings/<int:pk>/progress/",
        views.mailing_progress,
        name="mailing_progress",
    ),
    path("mailings/<int:pk>/send/", views.mailing_send_now, name="mailing_send_now"),
    path("mailings/<int:pk>/test/", views.mailing_test_send, name="mailing_test_send"),
    path("mailings/<int:pk>/pause/", views.mailing_pause, name="mailing_pause"),
    path("mailings/<int:pk>/resume/", views.mailing_resume, name="mailing_resume"),
]
