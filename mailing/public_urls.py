"""Public (logged-out) pages of the mailing app: the unsubscribe link."""

app_name = "mailing_public"

urlpatterns = []
