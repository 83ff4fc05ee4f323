from django.urls import path

from deliverability import views

app_name = "deliverability"

urlpatterns = [
    path("domains/", views.domain_list, name="domain_list"),
    path("domains/<int:pk>/", views.domain_detail, name="domain_detail"),
    path("domains/<int:pk>/check/", views.domain_check, name="domain_check"),
    path("domains/<int:pk>/delete/", views.domain_delete, name="domain_delete"),
    path("senders/", views.sender_list, name="sender_list"),
    path("senders/<int:pk>/delete/", views.sender_delete, name="sender_delete"),
]
