"""Gettext catalogs for customer-facing email text: extract, update, compile.

All customer-facing text lives in the Jinja2 templates (``{% trans %}`` / ``_()``); the
catalogs sit under ``locale/<lang>/LC_MESSAGES/messages.po``. Adding a language is adding
its ``.po``: rendering discovers the catalogs from the directory. ``.mo`` files are not
committed (``.gitignore``); they are compiled at build/test time by this module, and
``rendering`` compiles lazily when one is missing.

Workflow, run from ``layers/common/python/postpurchase/messaging`` (``PYBABEL`` is the
venv's ``pybabel``, e.g. ``/work/main/.venv/bin/pybabel``)::

    # 1. After changing template text: re-extract the template (.pot).
    $PYBABEL extract -F babel.cfg --add-comments=Translators: --sort-by-file \\
        --project=postpurchase -o locale/messages.pot .

    # 2. Merge the new template into every existing translation ...
    $PYBABEL update -i locale/messages.pot -d locale --ignore-obsolete
    #    ... and refill the English (source-language) catalog, msgstr = msgid, no fuzzy:
    PYTHONPATH=../.. python -m postpurchase.messaging.catalogs --sync-source

    # 3. To start a new language (e.g. tr), then translate every msgstr in its .po:
    $PYBABEL init -i locale/messages.pot -d locale -l tr

    # 4. Compile .po -> .mo (build step; skips catalogs whose .mo is up to date):
    PYTHONPATH=../.. python -m postpurchase.messaging.catalogs
    #    (equivalent: $PYBABEL compile -d locale --statistics)

``tests/unit/test_catalogs.py`` fails when the .pot is stale or a .po misses a msgid.
"""
from __future__ import annotations

import argparse
import functools
import gettext
import io
import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
MESSAGING_DIR = Path(__file__).resolve().parent
LOCALE_DIR = MESSAGING_DIR / "locale"
TEMPLATES_DIR = MESSAGING_DIR / "templates"
POT_PATH = LOCALE_DIR / f"{DOMAIN}.pot"
BABEL_CFG = MESSAGING_DIR / "babel.cfg"

logger = logging.getLogger(__name__)


def mo_path(po_path: Path) -> Path:
    return po_path.with_suffix(".mo")


def is_compiled(po_path: Path) -> bool:
    """True when the .mo next to ``po_path`` exists and is not older than the .po."""
    mo = mo_path(po_path)
    try:
        return mo.stat().st_mtime_ns >= po_path.stat().st_mtime_ns
    except FileNotFoundError:
        return False


def candidates(tag: str | None) -> Iterator[str]:
    """'zh-Hant-TW' -> zh_Hant_TW, zh_Hant, zh (each at most once, in that order)."""
    if not tag:
        return
    parts = [part for part in re.split(r"[-_]", tag.strip()) if part]
    for end in range(len(parts), 0, -1):
        yield "_".join(parts[:end])


_available_lock = threading.Lock()
_available: dict[Path, dict[str, str]] = {}


def available_languages(locale_dir: Path) -> dict[str, str]:
    """Catalog directory names under ``locale_dir`` keyed by their lower-cased name."""
    with _available_lock:
        found = _available.get(locale_dir)
        if found is None:
            found = {}
            if locale_dir.is_dir():
                for child in sorted(locale_dir.iterdir()):
                    messages = child / "LC_MESSAGES"
                    if any((messages / f"{DOMAIN}{ext}").is_file() for ext in (".po", ".mo")):
                        found[child.name.lower()] = child.name
            _available[locale_dir] = found
        return found


def resolve_language(requested: str | None, default: str | None, locale_dir: Path | None = None) -> str:
    """The catalog to write in: full tag, then its language, then the merchant's, then en.

    Kept free of Babel and Jinja2 so the API can use it without their import cost."""
    available = available_languages(Path(locale_dir) if locale_dir is not None else LOCALE_DIR)
    for tag in (requested, default):
        for candidate in candidates(tag):
            name = available.get(candidate.lower())
            if name is not None:
                return name
    return SOURCE_LANGUAGE


def _load_translations(locale_dir: Path, language: str) -> gettext.NullTranslations:
    po = locale_dir / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if po.is_file() and not is_compiled(po):
        try:  # a fresh checkout has no .mo (build artefacts)
            compile_catalogs(locale_dir)
        except OSError:
            logger.warning("cannot write .mo files under %s; compiling in memory", locale_dir)
            return gettext.GNUTranslations(io.BytesIO(compile_po(po)))
    mo = mo_path(po)
    if not mo.is_file():
        logger.warning("no %s catalog under %s; the msgids are shown", language, locale_dir)
        return gettext.NullTranslations()
    with mo.open("rb") as fp:
        return gettext.GNUTranslations(fp)


def translations(language: str, locale_dir: Path | None = None) -> gettext.NullTranslations:
    """The compiled catalog of ``language`` read with the standard library's gettext (cached per
    process): the email and page templates' (rendering.py installs it in Jinja2) and the text
    looked up outside a template (the return policy, a review's nameless author) without Jinja2
    or Babel. Babel is imported only to compile a missing .mo."""
    return _cached_translations(Path(locale_dir) if locale_dir is not None else LOCALE_DIR, language)


# Two first calls at once may both load the catalog; either copy is the same text.
_cached_translations = functools.lru_cache(maxsize=None)(_load_translations)


def compile_po(po_path: Path) -> bytes:
    """The .mo bytes for one .po (fuzzy entries are left out, as gettext does)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po_path.open("rb") as fp:
        catalog = read_po(fp, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    return buffer.getvalue()


def compile_catalogs(locale_dir: Path | None = None) -> list[Path]:
    """Compile every ``*.po`` under ``locale_dir`` to a ``.mo`` next to it.

    Catalogs whose .mo is already up to date are skipped. Each .mo is written to a temporary
    file and renamed into place, so a concurrent reader never sees half a catalog.
    Returns the .mo paths written.
    """
    root = Path(locale_dir) if locale_dir is not None else LOCALE_DIR
    written: list[Path] = []
    for po in sorted(root.rglob("*.po")):
        if is_compiled(po):
            continue
        data = compile_po(po)
        target = mo_path(po)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fp:
                fp.write(data)
            os.chmod(tmp, 0o644)  # mkstemp makes it 0600; the Lambda runtime user must read it
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        written.append(target)
    return written


def sync_source_catalog(
    locale_dir: Path | None = None, language: str = SOURCE_LANGUAGE, pot_path: Path | None = None
) -> Path:
    """Rewrite the source-language .po from the .pot with every msgstr equal to its msgid."""
    from babel.messages.pofile import read_po, write_po

    root = Path(locale_dir) if locale_dir is not None else LOCALE_DIR
    pot = Path(pot_path) if pot_path is not None else root / f"{DOMAIN}.pot"
    with pot.open("rb") as fp:
        catalog = read_po(fp, locale=language, domain=DOMAIN)
    catalog.fuzzy = False
    for message in catalog:
        if not message.id:
            continue  # the header
        if message.pluralizable:
            singular, plural = message.id[0], message.id[1]
            message.string = tuple(
                singular if index == 0 else plural for index in range(catalog.num_plurals)
            )
        else:
            message.string = message.id
        message.flags.discard("fuzzy")
    target = root / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as fp:
        write_po(fp, catalog, ignore_obsolete=True)
    return target


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m postpurchase.messaging.catalogs",
        description="Compile the email gettext catalogs (.po -> .mo).",
    )
    parser.add_argument("--locale-dir", type=Path, default=None, help=f"default: {LOCALE_DIR}")
    parser.add_argument(
        "--sync-source",
        action="store_true",
        help=f"first rewrite the {SOURCE_LANGUAGE} .po from messages.pot (msgstr = msgid)",
    )
    args = parser.parse_args(argv)
    if args.sync_source:
        print(f"synced {sync_source_catalog(args.locale_dir)}")
    for path in compile_catalogs(args.locale_dir):
        print(f"compiled {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
