from django.core.management.base import BaseCommand

from deliverability.services import sending_domains_recheck


class Command(BaseCommand):
    help = (
        "Re-check the DNS records of verified sending domains checked more than "
        "20 hours ago (the daily cron job does the same); owners whose domain "
        "lost its verification are told by e-mail."
    )

    def handle(self, *args, **options):
        counts = sending_domains_recheck()
        self.stdout.write(
            "{checked} checked, {verified} still verified, {lost} lost.".format(
                **counts
            )
        )
