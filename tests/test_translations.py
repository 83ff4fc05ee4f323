"""The catalogues are complete: every string the code marks for translation
has a translation in every language of LANGUAGES but English, none is fuzzy
or empty, and Russian has its own three plural forms."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

from conftest import missing
from tests import pofile

ROOT = Path(settings.BASE_DIR)
CATALOGUES = ("django", "djangojs")
# Every language of the site but the one the code is written in.
TRANSLATED = [code for code, _name in settings.LANGUAGES if code != "en"]
# What a copy of the project needs for makemessages: no runtime data, no
# virtualenv, no vendored libraries, no version control.
_SKIP = shutil.ignore_patterns(
    ".*", "__pycache__", "*.mo", "var", "staticfiles", "media", "node_modules",
    "test-artifacts", "vendor", "*.png", "*.jpg", "*.svg", "*.webp",
)  # fmt: skip
RUSSIAN_PLURALS = (
    "nplurals=3; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && "
    "(n%100<10 || n%100>=20) ? 1 : 2);"
)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """The catalogues as `makemessages` leaves them when run over a copy of
    the project today: new strings arrive as empty entries."""
    if shutil.which("xgettext") is None or shutil.which("msgmerge") is None:
        missing("gettext (xgettext, msgmerge)")
    copy = tmp_path_factory.mktemp("project") / "mailsite"
    shutil.copytree(ROOT, copy, ignore=_SKIP)
    languages = [arg for code in TRANSLATED for arg in ("-l", code)]
    for domain in CATALOGUES:
        subprocess.run(
            [sys.executable, "manage.py", "makemessages", *languages, "-d", domain],
            cwd=copy,
            check=True,
            capture_output=True,
            env={**os.environ, "DJANGO_SETTINGS_MODULE": "mailsite.settings.test"},
        )
    return {
        (code, domain): pofile.read(copy / _catalogue(code, domain))
        for code in TRANSLATED
        for domain in CATALOGUES
    }


def _catalogue(code: str, domain: str) -> Path:
    return Path("locale", code, "LC_MESSAGES", f"{domain}.po")


def _problems(entries):
    n = pofile.nplurals(entries)
    for entry in entries:
        if entry.is_header:
            continue
        if entry.fuzzy:
            yield f"fuzzy: {entry.msgid!r}"
        elif entry.untranslated(n):
            yield f"no Russian: {entry.msgid!r}"


@pytest.mark.slow
@pytest.mark.parametrize("language", TRANSLATED)
@pytest.mark.parametrize("domain", CATALOGUES)
def test_every_marked_string_has_a_translation(regenerated, language, domain):
    """makemessages adds no msgid without a translation, and nothing is fuzzy
    or empty. Fix: `make messages`, then translate the entries it lists."""
    problems = list(_problems(regenerated[language, domain]))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("domain", CATALOGUES)
def test_the_catalogues_in_the_repository_are_complete_and_russian(domain):
    """The committed .po declares Russian's three plural forms; no entry is
    fuzzy or empty, and none is a copy of the English."""
    entries = pofile.read(ROOT / _catalogue("ru", domain))
    header = next(e for e in entries if e.is_header).msgstr[0]
    assert "Language: ru" in header
    assert RUSSIAN_PLURALS in header.replace("\n", "")
    assert not list(_problems(entries))
    copies = [
        e.msgid
        for e in entries
        if not e.is_header and e.msgstr.get(0) == e.msgid and e.msgid.isascii()
    ]
    assert not copies, copies


def test_russian_plural_forms_are_right():
    """1 просмотр, 2 просмотра, 5 просмотров, 11 просмотров, 21 просмотр."""
    template = "%(counter)s view"
    with translation.override("ru"):
        got = [
            translation.ngettext(template, "%(counter)s views", n) % {"counter": n}
            for n in (1, 2, 5, 11, 21, 22, 111)
        ]
    assert got == [
        "1 просмотр",
        "2 просмотра",
        "5 просмотров",
        "11 просмотров",
        "21 просмотр",
        "22 просмотра",
        "111 просмотров",
    ]


def test_the_scripts_catalogue_is_ours_and_russian(client):
    """static/js strings reach the browser through /jsi18n/ (loaded on every
    page), translated, without the catalogues of every installed app."""
    russian = client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert f'"Done": {json.dumps("Готово")}' in russian
    assert len(russian) < 10_000
    english = client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '"Done"' not in english
