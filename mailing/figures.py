"""The site-wide figures on the home page (the Wagtail-site issue fills this)."""


def site_figures() -> dict:
    return {"total_mailings": 0, "active_mailings": 0, "unique_clients": 0}
