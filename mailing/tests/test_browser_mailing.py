"""The main customer and manager flows in headless Chromium."""

import re
import signal
import time

import pytest
from django.contrib.auth.models import Group, Permission

from accounts import roles
from home.tree import site_tree_ensure
from mailing.models import Client, Delivery, Mailing, Message, Run
from mailing.tests.counters import run_counters_recompute_for_tests
from mailing.tests.engine_support import manage_process, require_postgresql
from mailing.tests.factories import (
    PASSWORD,
    ClientFactory,
    DeliveryFactory,
    MailingFactory,
    MessageFactory,
    RunFactory,
    UserFactory,
)

CSV = (
    b"email,full name,comment\n"
    b"ada@example.net,Ada Lovelace,met at the meetup\n"
    b"ALAN@example.net,Alan Turing,\n"
    b"ada@example.net,,\n"
    b"grace@example.net,Grace Hopper,\n"
)


def log_in(page, email, password=PASSWORD):
    page.goto("/accounts/login/")
    page.fill("input[name=login]", email)
    page.fill("input[name=password]", password)
    page.get_by_role("button", name="Sign In").click()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_customer_imports_clients_writes_a_message_and_creates_a_mailing(
    page, screenshot
):
    customer = UserFactory(email="casey@example.com")
    log_in(page, customer.email)
    page.wait_for_url(re.compile(r"/app/$"))

    page.goto("/app/clients/import/")
    page.set_input_files(
        "input[name=file]",
        files=[{"name": "clients.csv", "mimeType": "text/csv", "buffer": CSV}],
    )
    page.locator("main form#import-upload button[type=submit]").click()
    page.locator("#import-columns").wait_for()
    screenshot("1-import-columns")
    page.locator("main form#import-mapping button[type=submit]").click()
    page.locator("#import-outcome").wait_for()
    outcome = page.locator("#import-outcome").inner_text()
    assert "Clients added\n3" in outcome and "Rows rejected\n0" in outcome
    # A repeated address: its empty cells keep the earlier row's values.
    ada = Client.objects.get(email="ada@example.net")
    assert (ada.full_name, ada.comment) == ("Ada Lovelace", "met at the meetup")
    assert sorted(Client.objects.values_list("email", flat=True)) == [
        "ada@example.net",
        "alan@example.net",
        "grace@example.net",
    ]
    page.get_by_role("link", name="Back to clients").first.click()
    page.fill("input[name=q]", "turing")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="alan@example.net").wait_for()
    assert page.get_by_role("link", name="ada@example.net").count() == 0
    screenshot("2-clients-search")

    page.goto("/app/messages/new/")
    page.fill("textarea[name=subject]", "Hello {{ full_name }}")
    page.fill("textarea[name=body]", "Dear {{ full_name }},\nthis goes to {{ email }}.")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Message saved.").wait_for()
    assert page.locator("#preview-subject").inner_text() == "Hello Ada Lovelace"
    assert "this goes to ada@example.net." in page.locator("#preview-text").inner_text()
    screenshot("3-message-preview")

    page.goto("/app/mailings/new/")
    page.select_option("select[name=message]", label="Hello {{ full_name }}")
    page.check("input[name=all_clients]")
    page.fill("input[name=start_at]", "2031-03-01T09:00")
    page.fill("input[name=end_at]", "2031-12-31T09:00")
    page.select_option("select[name=periodicity]", "monthly")
    screenshot("4-mailing-form")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Mailing created.").wait_for()
    mailing = Mailing.objects.get()
    assert mailing.clients.count() == 3
    assert mailing.message == Message.objects.get()
    assert mailing.next_run_at is not None
    page.get_by_text("2031-03-01 09:00").first.wait_for()
    screenshot("5-mailing-detail")

    page.get_by_role("button", name="Pause").click()
    page.get_by_text("Mailing paused.").wait_for()
    mailing.refresh_from_db()
    assert mailing.is_paused


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_another_customer_gets_the_404_page(page, screenshot):
    mailing = MailingFactory(clients=2)
    other = UserFactory(email="bea@example.com")
    log_in(page, other.email)
    page.wait_for_url(re.compile(r"/app/$"))
    response = page.goto(f"/app/mailings/{mailing.pk}/")
    assert response.status == 404
    assert mailing.message.subject not in page.content()
    screenshot("404")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_manager_disables_a_mailing_and_blocks_a_user(page, screenshot):
    # A transactional test starts from an emptied database: the role group
    # made by the migration is rebuilt from the same list.
    site_tree_ensure()
    group, _ = Group.objects.get_or_create(name=roles.MANAGERS)
    group.permissions.add(
        *(
            Permission.objects.get(content_type__app_label=app, codename=code)
            for app, code in roles.MANAGER_PERMISSIONS
        )
    )
    manager = UserFactory(email="morgan@example.com")
    manager.groups.add(group)
    owner = UserFactory(email="spammer@example.com")
    mailing = MailingFactory(owner=owner, clients=2)
    run = RunFactory(mailing=mailing)
    DeliveryFactory(run=run, client=ClientFactory(owner=owner))
    DeliveryFactory(
        run=run,
        client=ClientFactory(owner=owner),
        status="failed",
        server_response="550 5.1.1 User unknown",
    )

    log_in(page, manager.email)
    page.wait_for_url(re.compile(r"/app/$"))
    page.goto("/cms/")
    menu = page.locator("nav").first.inner_text()
    assert "Moderation" in menu and "Pages" not in menu and "Images" not in menu
    page.goto("/cms/moderation/mailings/")
    page.locator("td", has_text="spammer@example.com").wait_for()
    assert page.get_by_role("link", name="Disable").count() == 1
    assert page.get_by_role("link", name=re.compile("^Add")).count() == 0
    screenshot("1-mailings")
    page.goto(f"/cms/moderation/mailings/inspect/{mailing.pk}/")
    page.get_by_text("550 5.1.1 User unknown").wait_for()
    screenshot("2-inspect")
    page.get_by_role("button", name="Disable this mailing").click()
    page.get_by_text("Mailing disabled.").wait_for()
    mailing.refresh_from_db()
    assert not mailing.is_active

    page.goto("/cms/moderation/users/?q=spammer")
    page.get_by_role("link", name="Block").click()
    page.get_by_text("They cannot log in").wait_for()
    page.fill("textarea[name=reason]", "Sends spam")
    screenshot("3-block-confirm")
    page.get_by_role("button", name="Yes, block").click()
    page.get_by_text("User blocked.").wait_for()
    owner.refresh_from_db()
    assert not owner.is_active and owner.blocked_at
    page.goto("/cms/moderation/log/")
    page.locator("td", has_text="Blocked user").wait_for()
    screenshot("4-moderation-log")

    page.context.clear_cookies()
    log_in(page, owner.email)
    page.wait_for_load_state()
    assert "/app/" not in page.url
    page.get_by_text("Your account is blocked").wait_for()
    screenshot("5-blocked-login")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_progress_bar_follows_a_run_and_the_page_refreshes_when_done(page, screenshot):
    """While a run is sending the bar moves by itself (JS polls the JSON
    endpoint); when it ends the page reloads with the final counts."""
    owner = UserFactory(email="casey@example.com")
    mailing = MailingFactory(owner=owner, clients=0)
    run = RunFactory(mailing=mailing, status=Run.Status.RUNNING)
    for n in range(4):
        DeliveryFactory(
            run=run,
            status="sent" if n == 0 else "pending",
            server_response="250 2.0.0 Ok" if n == 0 else "",
        )
    # The pages read the run's counters, which the engine keeps as it sends.
    run_counters_recompute_for_tests(run)
    log_in(page, owner.email)
    page.wait_for_url(re.compile(r"/app/$"))
    page.goto(f"/app/mailings/{mailing.pk}/")
    bar = page.locator("#run-progress")
    bar.get_by_text("1 / 4").wait_for()
    screenshot("1-sending")
    Delivery.objects.filter(run=run, status="pending").update(
        status="sent", server_response="250 2.0.0 Ok: queued"
    )
    run_counters_recompute_for_tests(run)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.FINISHED)
    # (A selector, not wait_for_function: the policy forbids Playwright's eval.)
    page.locator("#run-progress.d-none").wait_for(state="attached", timeout=15_000)
    assert page.locator("td.text-success", has_text="4").count() == 1
    screenshot("2-finished")


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_mailing_for_now_is_sent_by_the_worker_while_the_customer_watches(
    page, screenshot, smtp_sink, settings
):
    """The whole way, with nothing faked: the form queues the run in the
    database, a real `db_worker` process sends it (rate-limited, so there is
    something to watch) to a real SMTP server, the bar fills to 100 % by
    itself, and the log shows the server's replies."""
    require_postgresql()
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    owner = UserFactory(email="casey@example.com")
    ClientFactory.create_batch(30, owner=owner)
    MessageFactory(owner=owner, subject="Spring news for {{ full_name }}")
    worker = manage_process(
        smtp_sink,
        "db_worker",
        "--interval",
        "0.2",
        "--no-startup-delay",
        TASK_BACKEND="database",
        MAILING_RATE_LIMIT=10,
    )
    try:
        log_in(page, owner.email)
        page.wait_for_url(re.compile(r"/app/$"))
        page.goto("/app/mailings/new/")
        # The form proposes the newest message and a window from now on.
        page.check("input[name=all_clients]")
        page.get_by_role("button", name="Save").click()
        page.get_by_text("Mailing created.").wait_for()

        seen = set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                value = page.get_attribute(
                    "#run-progress .progress", "aria-valuenow", timeout=1000
                )
                hidden = "d-none" in page.get_attribute("#run-progress", "class")
            except Exception:  # noqa: BLE001 - the page is reloading
                continue
            if value is not None and not hidden:
                if int(value) not in seen and 0 < int(value) < 100:
                    screenshot("1-sending")
                if int(value) == 100 and 100 not in seen:
                    screenshot("2-done")
                seen.add(int(value))
            if 100 in seen and hidden:
                break
            time.sleep(0.05)
        assert any(0 < value < 100 for value in seen), seen
        assert 100 in seen, seen
        page.wait_for_load_state()
        screenshot("3-sent")
    finally:
        worker.send_signal(signal.SIGTERM)
        output = worker.communicate(timeout=30)[0]

    assert Delivery.objects.filter(status="sent").count() == 30, output
    received = [r for message in smtp_sink.messages for r in message.rcpt_tos]
    assert sorted(received) == sorted(owner.clients.values_list("email", flat=True))
    assert page.locator("#run-progress").get_attribute("class").count("d-none") == 1
    replies = page.locator("td", has_text=re.compile(r"^250 "))
    assert replies.count() == 30
    assert "Spring news for" in smtp_sink.messages[0].subject


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_customer_picks_clients_by_typing(page, queued_runs, screenshot):
    """The mailing form's picker finds clients as the customer types; a click
    or Enter chooses one, the cross removes it, and the chosen ones become
    the mailing's clients."""
    owner = UserFactory()
    MessageFactory(owner=owner, subject="Picked")
    ada = ClientFactory(owner=owner, email="ada@example.net", full_name="Ada")
    alan = ClientFactory(owner=owner, email="alan@example.net", full_name="Alan")
    grace = ClientFactory(owner=owner, email="grace@example.net", comment="admiral")
    ClientFactory(email="alan@example.org")  # another customer's
    log_in(page, owner.email)
    page.goto("/app/mailings/new/")
    picker = page.locator("[data-picker-input]")
    picker.fill("ala")
    results = page.locator("[data-picker-results] [data-client-id]")
    results.first.wait_for()
    assert results.all_inner_texts() == ["Alan <alan@example.net>"]
    results.first.click()
    picker.fill("admiral")
    page.get_by_role("option", name="grace@example.net").wait_for()
    picker.press("Enter")
    picker.fill("ada@")
    page.get_by_role("option", name="Ada <ada@example.net>").click()
    chosen = page.locator("[data-picker-chosen] [data-client-id]")
    assert chosen.count() == 3
    page.get_by_role("button", name="Remove Ada <ada@example.net>").click()
    assert chosen.count() == 2
    page.fill("input[name=start_at]", "2031-03-01T09:00")
    page.fill("input[name=end_at]", "2031-12-31T09:00")
    screenshot("picker")
    page.get_by_role("button", name="Save").click()
    page.get_by_text("Mailing created.").wait_for()
    assert set(Mailing.objects.get().clients.all()) == {alan, grace}
    assert ada not in Mailing.objects.get().clients.all()
