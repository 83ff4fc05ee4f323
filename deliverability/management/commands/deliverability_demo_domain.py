from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from deliverability.demo import DEMO_DOMAIN, demo_domain_verify


class Command(BaseCommand):
    help = (
        "Give a demo customer a verified sending domain and a sender, checked "
        "through a local DNS server that publishes the domain's records."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", default="customer@example.com")
        parser.add_argument("--domain", default=DEMO_DOMAIN)

    def handle(self, *args, email, domain, **options):
        owner = get_user_model().objects.filter(email=email).first()
        if owner is None:
            raise CommandError(f"No user {email}; run `manage.py seed_demo` first.")
        try:
            sending_domain = demo_domain_verify(owner=owner, domain=domain)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        if not sending_domain.is_verified:
            reasons = [c["reason"] for c in sending_domain.checks if not c["ok"]]
            raise CommandError("Not verified: " + " ".join(reasons))
        self.stdout.write(
            f"{sending_domain.domain} is verified for {email} "
            f"(DKIM selector {sending_domain.dkim_selector})."
        )
