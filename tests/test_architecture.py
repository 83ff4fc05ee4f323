"""The import contracts (pyproject.toml, run by `lint-imports`) cover every
app of the project."""

import tomllib
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def _importlinter() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def test_every_app_of_ours_is_analysed():
    """An app added to INSTALLED_APPS is added to import-linter's root
    packages too, or no contract would look at it."""
    ours = {
        app.split(".")[0]
        for app in settings.INSTALLED_APPS
        if (ROOT / app.split(".")[0]).is_dir()
    }
    assert ours  # the scan works
    assert ours - set(_importlinter()["root_packages"]) == set()


def test_every_contract_has_an_id_and_a_name():
    """`lint-imports --contract ID` picks one; the name says the rule."""
    contracts = _importlinter()["contracts"]
    ids = [c["id"] for c in contracts]
    assert len(ids) == len(set(ids))
    assert all(c["name"] for c in contracts)
