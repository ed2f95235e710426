"""Gettext catalogs: templates, .pot and every .po agree; .po compiles to a readable .mo."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from babel.support import Translations

from postpurchase.messaging import catalogs, rendering

MESSAGING_DIR = catalogs.MESSAGING_DIR
LOCALE_DIR = catalogs.LOCALE_DIR
PO_FILES = sorted(LOCALE_DIR.glob("*/LC_MESSAGES/messages.po"))


def _mapping():
    with catalogs.BABEL_CFG.open() as fp:
        return parse_mapping_cfg(fp, str(catalogs.BABEL_CFG))


def _key(message_id, context=None) -> tuple[str, str | None]:
    msgid = message_id[0] if isinstance(message_id, (tuple, list)) else message_id
    return msgid, context


@pytest.fixture(scope="module")
def extracted() -> set[tuple[str, str | None]]:
    method_map, options_map = _mapping()
    found = set()
    files = set()
    for filename, _lineno, message, _comments, context in extract_from_dir(
        str(MESSAGING_DIR), method_map, options_map
    ):
        files.add(filename)
        found.add(_key(message, context))
    assert {"templates/base.html", "templates/order_confirmation.html", "templates/order_confirmation.txt"} <= {
        f.replace(os.sep, "/") for f in files
    }
    assert found
    return found


def _read(path: Path):
    with path.open("rb") as fp:
        return read_po(fp)


def test_babel_cfg_maps_templates_with_i18n_extension():
    method_map, options_map = _mapping()
    assert ("templates/**.html", "jinja2") in method_map
    assert ("templates/**.txt", "jinja2") in method_map
    for pattern, _method in method_map:
        assert options_map[pattern]["extensions"] == "jinja2.ext.i18n"


def test_babel_cfg_matches_the_rendering_environment():
    """Extraction must see the template text exactly as rendering does, or lookups miss."""
    env = rendering._new_environment(Translations())
    _, options_map = _mapping()
    truthy = {"1", "on", "yes", "true"}
    for options in options_map.values():
        assert (options.get("trim_blocks", "false").lower() in truthy) == env.trim_blocks
        assert (options.get("lstrip_blocks", "false").lower() in truthy) == env.lstrip_blocks
        assert (options.get("trimmed", "false").lower() in truthy) == bool(env.policies["ext.i18n.trimmed"])
        assert (options.get("newstyle_gettext", "false").lower() in truthy) == env.newstyle_gettext
        assert options.get("silent", "true").lower() not in truthy  # broken templates must fail


def test_pot_is_up_to_date(extracted):
    pot = _read(catalogs.POT_PATH)
    in_pot = {_key(m.id, m.context) for m in pot if m.id}
    assert in_pot - extracted == set(), "stale msgids in messages.pot: re-run pybabel extract"
    assert extracted - in_pot == set(), "msgids missing from messages.pot: re-run pybabel extract"


def test_there_is_an_english_catalog():
    assert LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po" in PO_FILES


@pytest.mark.parametrize("po_path", PO_FILES, ids=lambda p: p.parent.parent.name)
def test_every_catalog_translates_every_msgid(po_path, extracted):
    catalog = _read(po_path)
    in_po = {_key(m.id, m.context) for m in catalog if m.id}
    assert extracted - in_po == set(), f"missing from {po_path}: run pybabel update"
    assert in_po - extracted == set(), f"stale entries in {po_path}: run pybabel update --ignore-obsolete"
    for msgid, context in extracted:
        message = catalog.get(msgid, context)
        if message is None:  # plural entries are keyed by their singular
            message = next(m for m in catalog if m.id and _key(m.id, m.context) == (msgid, context))
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert strings and all(s.strip() for s in strings), f"empty msgstr for {msgid!r}"
        assert not message.fuzzy, f"fuzzy msgstr for {msgid!r}"
    # Placeholders in each msgstr must match the msgid's (babel's python-format checker).
    problems = [(m.id, [str(e) for e in errors]) for m, errors in catalog.check()]
    assert problems == []


def test_english_catalog_is_the_source_text(extracted):
    catalog = _read(LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po")
    for msgid, context in extracted:
        message = catalog.get(msgid, context)
        if message.pluralizable:  # English: singular, then plural (as sync_source_catalog writes it)
            assert message.string == message.id
        else:
            assert message.string == msgid


@pytest.fixture
def locale_copy(tmp_path) -> Path:
    root = tmp_path / "locale"
    shutil.copytree(LOCALE_DIR, root, ignore=shutil.ignore_patterns("*.mo"))
    # A second language whose text differs from its msgids, to prove the .mo is really read.
    pseudo = root / "xx" / "LC_MESSAGES" / "messages.po"
    pseudo.parent.mkdir(parents=True)
    pseudo.write_text(
        'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n"Language: xx\\n"\n\n'
        'msgid "View your order"\nmsgstr "Siparişinizi görüntüleyin"\n\n'
        '#, fuzzy\nmsgid "Subtotal"\nmsgstr "Ara toplam"\n',
        encoding="utf-8",
    )
    return root


def test_compile_catalogs_writes_loadable_mo(locale_copy):
    written = catalogs.compile_catalogs(locale_copy)
    assert sorted(written) == sorted(p.with_suffix(".mo") for p in locale_copy.rglob("*.po"))
    assert all(p.is_file() and p.stat().st_size > 0 for p in written)

    english = Translations.load(str(locale_copy), ["en"], domain="messages")
    assert isinstance(english, Translations)
    assert english.gettext("View your order") == "View your order"
    assert english.gettext("Your order %(number)s is confirmed") == "Your order %(number)s is confirmed"
    assert len(english._catalog) >= len(_read(LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po"))

    pseudo = Translations.load(str(locale_copy), ["xx"], domain="messages")
    assert pseudo.gettext("View your order") == "Siparişinizi görüntüleyin"
    assert pseudo.gettext("Subtotal") == "Subtotal"  # fuzzy entries are not compiled


def test_compile_catalogs_skips_up_to_date_mo(locale_copy):
    catalogs.compile_catalogs(locale_copy)
    assert catalogs.compile_catalogs(locale_copy) == []
    po = locale_copy / "xx" / "LC_MESSAGES" / "messages.po"
    mo = po.with_suffix(".mo")
    later = mo.stat().st_mtime_ns + 5_000_000_000
    os.utime(po, ns=(later, later))
    assert catalogs.compile_catalogs(locale_copy) == [mo]
    mo.unlink()
    assert catalogs.compile_catalogs(locale_copy) == [mo]
    assert not list(locale_copy.rglob("*.tmp"))


def test_compile_catalogs_default_dir_is_the_package_locale_dir():
    catalogs.compile_catalogs()  # writes gitignored .mo files, as the build does
    assert PO_FILES and all(catalogs.is_compiled(po) for po in PO_FILES)


def test_module_is_runnable(locale_copy):
    env = {**os.environ, "PYTHONPATH": str(MESSAGING_DIR.parents[1])}
    result = subprocess.run(
        [sys.executable, "-m", "postpurchase.messaging.catalogs", "--locale-dir", str(locale_copy)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert (locale_copy / "en" / "LC_MESSAGES" / "messages.mo").is_file()
    assert "compiled" in result.stdout


def test_sync_source_catalog_fills_english_from_pot(tmp_path, extracted):
    target = catalogs.sync_source_catalog(tmp_path, pot_path=catalogs.POT_PATH)
    assert target == tmp_path / "en" / "LC_MESSAGES" / "messages.po"
    catalog = _read(target)
    assert not catalog.fuzzy
    assert {_key(m.id, m.context) for m in catalog if m.id} == extracted
    assert all(m.string == m.id and not m.fuzzy for m in catalog if m.id)
