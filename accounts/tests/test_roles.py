"""The role groups, their permissions, and the demo users."""

from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.core.management import call_command
from wagtail.images import get_image_model
from wagtail.models import Collection
from wagtail.permissions import policy_registry

from accounts import roles
from accounts.demo import DEMO_USERS
from accounts.models import User


def codenames(group_name):
    group = Group.objects.get(name=group_name)
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}


@pytest.mark.django_db
def test_managers_may_look_and_moderate_but_not_edit():
    perms = codenames(roles.MANAGERS)
    assert perms == {f"{app}.{code}" for app, code in roles.MANAGER_PERMISSIONS}
    assert {
        "wagtailadmin.access_admin",
        "mailing.view_all_mailings",
        "mailing.disable_mailing",
        "accounts.block_user",
        "accounts.view_user",
        "mailing.view_mailing",
        "mailing.view_delivery",
    } <= perms
    assert not [p for p in perms if p.split(".")[1].startswith(("add_", "change_"))]
    assert not [p for p in perms if p.split(".")[1].startswith("delete_")]


@pytest.mark.django_db
def test_content_managers_reach_the_cms_and_its_media():
    perms = codenames(roles.CONTENT_MANAGERS)
    assert perms == {
        "wagtailadmin.access_admin",
        "wagtailimages.add_image",
        "wagtailimages.change_image",
        "wagtailimages.choose_image",
        "wagtaildocs.add_document",
        "wagtaildocs.change_document",
        "wagtaildocs.choose_document",
    }
    assert not [p for p in perms if p.startswith("mailing.")]


@pytest.mark.django_db
def test_content_managers_may_add_images_in_the_root_collection(content_manager):
    """Wagtail checks media permissions per collection, not per group."""
    root = Collection.get_first_root_node()
    image_policy = policy_registry.get_by_type(get_image_model())
    assert image_policy.user_has_permission(content_manager, "add")
    assert image_policy.user_has_permission_for_instance(
        content_manager, "change", get_image_model()(collection=root, title="x")
    )


@pytest.mark.django_db
def test_role_helpers(customer, manager, content_manager, superuser):
    assert not roles.is_manager(customer) and not roles.is_content_manager(customer)
    assert roles.is_manager(manager) and not roles.is_content_manager(manager)
    assert roles.is_content_manager(content_manager)
    assert not roles.is_manager(content_manager)
    assert roles.is_manager(superuser) and roles.is_content_manager(superuser)
    assert not roles.can_access_cms(customer)
    assert all(roles.can_access_cms(u) for u in (manager, content_manager, superuser))
    assert manager.has_perm("mailing.view_all_mailings")
    assert not manager.has_perm("mailing.change_mailing")
    assert not customer.has_perm("mailing.view_all_mailings")


@pytest.mark.django_db
def test_seed_demo_creates_one_user_per_role_and_can_run_twice():
    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=out)
    assert User.objects.count() == len(DEMO_USERS)
    for email, password, _name, group, superuser in DEMO_USERS:
        user = User.objects.get(email=email)
        assert user.check_password(password)
        assert user.is_superuser is superuser
        assert user.is_active
        assert list(user.groups.values_list("name", flat=True)) == (
            [group] if group else []
        )
        address = EmailAddress.objects.get(user=user)
        assert address.verified and address.primary
        assert email in out.getvalue() and password in out.getvalue()
    assert not roles.is_manager(User.objects.get(email="customer@example.com"))


@pytest.mark.django_db
def test_seed_demo_repairs_a_changed_demo_user():
    call_command("seed_demo", stdout=StringIO())
    user = User.objects.get(email="customer@example.com")
    user.set_password("changed-by-someone")
    user.is_active = False
    user.save()
    call_command("seed_demo", stdout=StringIO())
    user.refresh_from_db()
    assert user.is_active
    assert user.check_password("demo-customer-pass")
