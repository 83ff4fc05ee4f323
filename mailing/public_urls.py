"""Public (logged-out) pages of the mailing app: the unsubscribe link."""

from django.urls import path

from mailing import public_views

app_name = "mailing_public"

urlpatterns = [
    path("unsubscribe/<str:token>/", public_views.unsubscribe, name="unsubscribe"),
]
