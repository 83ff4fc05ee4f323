"""Public (logged-out) pages of audience: the sign-up form, its
confirmation link and the preference centre."""

from django.urls import path

from audience import public_views

app_name = "audience_public"

urlpatterns = [
    path(
        "subscribe/confirm/<str:token>/",
        public_views.confirm,
        name="confirm",
    ),
    path("subscribe/<str:public_id>/", public_views.subscribe, name="subscribe"),
    path(
        "m/preferences/<str:token>/",
        public_views.preferences,
        name="preferences",
    ),
]
