"""anymail's `tracking` signal, connected in DeliverabilityConfig.ready()."""

from anymail.signals import tracking

from deliverability.webhooks import tracking_event_apply


def _tracking(sender, event, esp_name, **kwargs):
    tracking_event_apply(event=event, esp_name=esp_name)


def connect_receivers() -> None:
    tracking.connect(_tracking, dispatch_uid="deliverability.tracking")
