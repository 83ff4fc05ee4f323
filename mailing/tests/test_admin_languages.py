"""The managers' moderation screens in the Wagtail admin speak the manager's
language: in Russian, no English words of ours (Wagtail's own chrome is
Wagtail's translation); in English, no Cyrillic."""

import pytest

from mailing.models import Delivery, ModerationEvent
from mailing.tests.engine_support import make_mailing
from tests.test_page_languages import cyrillic_words, english_words, visible_text

# Latin that stays in Russian: this test's user data (the subject, the
# server's reply), Wagtail's name, and the breadcrumb Wagtail itself leaves
# in English.
ALLOWED = {"Hello", "try", "later", "spam", "Wagtail", "Home", "ID"}


@pytest.fixture
def moderated(db, manager):
    mailing = make_mailing(clients=2, subject="Hello", body="sample", plan=False)
    run = mailing.runs.create(scheduled_for=mailing.start_at)
    client = mailing.clients.first()
    Delivery.objects.create(
        run=run,
        client=client,
        email=client.email,
        status=Delivery.Status.DEFERRED,
        attempts=1,
        server_response="451 4.3.0 try later",
    )
    mailing.event = ModerationEvent.objects.create(
        actor=manager,
        action=ModerationEvent.Action.DISABLE_MAILING,
        target_mailing=mailing,
        target_user=mailing.owner,
        reason="spam",
    )
    return mailing


def _pages(mailing):
    owner = mailing.owner
    return [
        "/cms/moderation/mailings/",
        f"/cms/moderation/mailings/inspect/{mailing.pk}/",
        "/cms/moderation/users/",
        f"/cms/moderation/users/inspect/{owner.pk}/",
        "/cms/moderation/log/",
        f"/cms/moderation/log/inspect/{mailing.event.pk}/",
        f"/cms/moderation/disable/{mailing.pk}/",
        f"/cms/moderation/block/{owner.pk}/",
    ]


@pytest.mark.parametrize("language", ["ru", "en"])
def test_moderation_screens_speak_the_managers_language(
    client, manager, moderated, language
):
    manager.language = language
    manager.save(update_fields=["language"])
    client.force_login(manager)
    problems = []
    for path in _pages(moderated):
        response = client.get(path)
        assert response.status_code == 200, path
        text = visible_text(response.content.decode(), language)
        if language == "ru":
            found = [w for w in english_words(text) if w not in ALLOWED]
        else:
            found = cyrillic_words(text)
        if found:
            problems.append(f"{path}: {sorted(set(found))}")
    assert not problems, "\n".join(problems)
