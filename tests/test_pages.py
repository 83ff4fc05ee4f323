"""Every page of the foundation, for every role, answers as it should."""

import pytest
from django.template.loader import render_to_string

ROLES = ["anonymous", "customer", "manager", "content_manager", "superuser"]
LOGIN = "/accounts/login/"

# path -> expected status per role, in the order of ROLES. A 302 for the
# anonymous visitor means "sent to the login page".
PAGES = {
    "/": (200, 200, 200, 200, 200),
    "/accounts/login/": (200, 302, 302, 302, 302),
    "/accounts/signup/": (200, 302, 302, 302, 302),
    "/accounts/password/reset/": (200, 200, 200, 200, 200),
    "/accounts/password/reset/done/": (200, 200, 200, 200, 200),
    "/accounts/confirm-email/": (200, 200, 200, 200, 200),
    "/accounts/inactive/": (200, 200, 200, 200, 200),
    "/accounts/password/change/": (302, 200, 200, 200, 200),
    "/accounts/email/": (302, 200, 200, 200, 200),
    "/accounts/logout/": (302, 200, 200, 200, 200),
    "/app/": (302, 200, 200, 200, 200),
    "/cms/": (302, 403, 200, 200, 200),
    # Wagtail sends an editor to the part of the page tree they may edit (a
    # redirect while they may edit none), and a manager who opens the image
    # library back to the dashboard with a message.
    "/cms/pages/": (302, 403, 302, {200, 302}, 200),
    "/cms/images/": (302, 403, 302, 200, 200),
    "/cms/login/": (302, 403, 302, 302, 302),
    "/admin/": (404, 404, 404, 404, 404),
    "/no-such-page/": (404, 404, 404, 404, 404),
}

CASES = [
    pytest.param(path, role, statuses[i], id=f"{role}:{path}")
    for path, statuses in PAGES.items()
    for i, role in enumerate(ROLES)
]


@pytest.fixture
def as_role(client, request):
    def log_in(role):
        if role != "anonymous":
            user = request.getfixturevalue(role)
            client.force_login(
                user, backend="django.contrib.auth.backends.ModelBackend"
            )
        return client

    return log_in


@pytest.mark.django_db
@pytest.mark.parametrize(("path", "role", "expected"), CASES)
def test_page_status(as_role, path, role, expected):
    response = as_role(role).get(path)
    allowed = expected if isinstance(expected, set) else {expected}
    assert response.status_code in allowed, response.get("Location")
    if expected == 302 and role == "anonymous":
        assert response["Location"].startswith(LOGIN) or path.endswith("logout/")


@pytest.mark.django_db
def test_a_customer_is_kept_out_of_the_cms_with_the_sites_403(as_role):
    response = as_role("customer").get("/cms/")
    assert response.status_code == 403
    page = response.content.decode()
    assert "Not allowed" in page
    assert 'class="navbar' in page


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["manager", "content_manager", "superuser"])
def test_the_cms_loads_nothing_from_other_hosts(as_role, role):
    """No internet on the machines: avatars are not fetched from Gravatar."""
    page = as_role(role).get("/cms/").content.decode()
    assert "gravatar" not in page
    assert "avatar_placeholder" in page or "default-user-avatar" in page


@pytest.mark.django_db
def test_anonymous_cms_visitors_log_in_on_the_site_and_come_back(as_role):
    response = as_role("anonymous").get("/cms/pages/")
    assert response["Location"] == "/accounts/login/?next=/cms/pages/"


@pytest.mark.django_db
def test_the_404_page_has_the_sites_look(client):
    response = client.get("/no-such-page/")
    page = response.content.decode()
    assert "Page not found" in page
    assert 'class="navbar' in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "visible", "hidden"),
    [
        ("anonymous", ["Sign in", "Sign up"], ["Sign out", 'href="/cms/"']),
        ("customer", ["Dashboard", "Sign out"], ['href="/cms/"', "Sign up"]),
        ("manager", ["Dashboard", 'href="/cms/"'], ["Sign up"]),
        ("content_manager", ['href="/cms/"'], ["Sign up"]),
        ("superuser", ['href="/cms/"'], ["Sign up"]),
    ],
)
def test_the_navbar_shows_each_role_what_it_can_reach(as_role, role, visible, hidden):
    page = as_role(role).get("/accounts/password/reset/").content.decode()
    for text in visible:
        assert text in page
    for text in hidden:
        assert text not in page


@pytest.mark.django_db
def test_the_500_page_renders_without_a_database():

    page = render_to_string("500.html")
    assert "Something went wrong" in page
