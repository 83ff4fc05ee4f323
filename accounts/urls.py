from django.urls import path

from accounts import views

# Mounted under /accounts/ beside allauth's own URLs.
urlpatterns = [
    path("profile/", views.profile, name="account_profile"),
]
