"""The entry point that django-crontab runs every minute."""

from django.core.management import call_command


def send_due_mailings():
    call_command("send_mailings")
