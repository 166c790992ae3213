"""Both languages are complete for all that exists: every marked string is in the catalogue and translated."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

SRC = Path(__file__).resolve().parents[2] / "src" / "salesops"
PO = SRC / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
ENTRY = re.compile(r'(#,[^\n]*\n)?(?:msgctxt "[^\n]*"\n)?msgid ((?:"[^\n]*"\n)+)(?:msgid_plural (?:"[^\n]*"\n)+)?'
                   r'((?:msgstr(?:\[\d\])? (?:"[^\n]*"\n)+)+)')


def entries(text: str) -> dict[str, tuple[str, bool]]:
    found = {}
    for flags, msgid, msgstr in ENTRY.findall(text + "\n"):
        key = "".join(re.findall(r'"(.*)"', msgid))
        value = "".join(re.findall(r'"(.*)"', msgstr))
        if key:
            found[key] = (value, "fuzzy" in (flags or ""))
    return found


def test_every_chinese_entry_is_translated_and_not_fuzzy():
    missing = [k for k, (v, fuzzy) in entries(PO.read_text("utf-8")).items() if not v or fuzzy]
    assert missing == []


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="gettext is not installed")
def test_every_marked_string_is_in_the_catalogue(tmp_path, settings, monkeypatch):
    # makemessages adopts any folder named "locale" it walks past, so scan a copy of the sources without it.
    shutil.copytree(SRC, tmp_path / "src", ignore=shutil.ignore_patterns("locale", "__pycache__", "*.pyc"))
    settings.LOCALE_PATHS = [tmp_path / "locale"]
    (tmp_path / "locale").mkdir()
    monkeypatch.chdir(tmp_path / "src")
    call_command("makemessages", locale=["zh_Hans"], verbosity=0, no_location=True)
    fresh = entries((tmp_path / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po").read_text("utf-8"))
    committed = entries(PO.read_text("utf-8"))
    assert sorted(set(fresh) - set(committed)) == [], "run `make messages` and translate the new strings"


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext is not installed")
def test_the_compiled_catalogue_is_current(tmp_path):
    out = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(out), str(PO)], check=True)  # noqa: S603, S607 - fixed tool
    assert out.read_bytes() == PO.with_suffix(".mo").read_bytes(), "run `make messages` to recompile"
