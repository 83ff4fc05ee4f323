"""Create the role groups and give them their permissions.

Model permissions are normally created after `migrate` finishes; they are
created here first so that a fresh database gets complete groups in one pass.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from accounts import roles


def _ensure_permissions(apps):
    for app_config in apps.get_app_configs():
        # Historical app configs have no models module; create_permissions
        # skips such apps unless told otherwise.
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None


def _permissions(apps, pairs):
    Permission = apps.get_model("auth", "Permission")
    found = []
    for app_label, codename in pairs:
        found.append(
            Permission.objects.get(
                content_type__app_label=app_label, codename=codename
            )
        )
    return found


def create_roles(apps, schema_editor):
    _ensure_permissions(apps)
    Group = apps.get_model("auth", "Group")
    Collection = apps.get_model("wagtailcore", "Collection")
    GroupCollectionPermission = apps.get_model(
        "wagtailcore", "GroupCollectionPermission"
    )

    managers, _ = Group.objects.get_or_create(name=roles.MANAGERS)
    managers.permissions.set(_permissions(apps, roles.MANAGER_PERMISSIONS))

    content_managers, _ = Group.objects.get_or_create(name=roles.CONTENT_MANAGERS)
    content_managers.permissions.set(
        _permissions(apps, roles.CONTENT_MANAGER_PERMISSIONS)
    )
    root = Collection.objects.filter(depth=1).first()
    if root is not None:
        for permission in _permissions(
            apps, roles.CONTENT_MANAGER_COLLECTION_PERMISSIONS
        ):
            GroupCollectionPermission.objects.get_or_create(
                group=content_managers, collection=root, permission=permission
            )


def delete_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.filter(name__in=[roles.MANAGERS, roles.CONTENT_MANAGERS]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("mailing", "0001_initial"),
        ("wagtailadmin", "0001_create_admin_access_permissions"),
        ("wagtailcore", "0098_apitoken"),
        ("wagtailimages", "0027_image_description"),
        ("wagtaildocs", "0014_alter_document_file_size"),
    ]

    operations = [migrations.RunPython(create_roles, delete_roles)]
