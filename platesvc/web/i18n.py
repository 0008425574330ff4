"""The reader's language: every word a page or a downloaded report shows comes from Flask-Babel's
gettext catalogs (platesvc/translations), Chinese (zh_Hans) first, English on request.

Message ids are the English text, so English is whole by construction and the Chinese catalog
must hold every id (tests/platesvc/web/test_translations.py). A message with no Chinese yet is
shown in English and logged once as untranslated (the tests fail on that line).
"""

import functools
import logging
from pathlib import Path

from babel.support import NullTranslations
from flask import Flask, Request, has_request_context, request
from flask_babel import Babel, Domain, format_decimal, get_locale, gettext

from platesvc import labels

log = logging.getLogger(__name__)

LANGUAGES = ("zh", "en")  # as ?lang= names them
DEFAULT_LANGUAGE = "zh"
LOCALES = {"zh": "zh_Hans", "en": "en"}
CATALOGS = Path(__file__).resolve().parent.parent / "translations"
# OGC API and tiles answer map developers, health and metrics operators: in English. Our own JSON API
# answers programs in English unless they ask for Chinese; pages and Open311 (the city's 12345
# systems) speak Chinese unless asked otherwise.
ENGLISH_ONLY = ("/healthz", "/readyz", "/metrics", "/tiles/", "/ogc")
ENGLISH_FIRST = ("/api/",)


def choose_language(request: Request) -> str:
    """?lang= first, then the client's Accept-Language, then Chinese (English for programs: see above)."""
    path = request.path
    if path.startswith(ENGLISH_ONLY):
        return "en"
    asked = request.args.get("lang", "").lower()
    if asked in LANGUAGES:
        return asked
    default = "en" if path.startswith(ENGLISH_FIRST) else DEFAULT_LANGUAGE
    return request.accept_languages.best_match(LANGUAGES, default=default)


def language() -> str:
    """The language this request is answered in ("zh" or "en"); English outside a request."""
    locale = get_locale() if has_request_context() else None
    return "en" if locale is None or locale.language == "en" else "zh"


def distance_text(metres: float) -> str:
    """A distance as a resident reads it: to ten metres below a kilometre, then to a tenth of one."""
    if metres < 1000:
        return gettext("About %(metres)s m", metres=round(metres / 10) * 10)
    return gettext("About %(kilometres)s km", kilometres=round(metres / 1000, 1))


def walk_text(point: dict, straight: bool = True) -> str:
    """How far a listed service is on foot (minutes, metres) and, unless `straight` is false, in a straight
    line, as a resident reads it."""
    if point.get("on_network") is None:  # linked before walking was: the straight line, as it always said
        return distance_text(point["distance_m"])
    if not point["on_network"]:
        return gettext("%(distance)s in a straight line (no walk along the streets joins them)",
                       distance=distance_text(point["distance_m"]))
    if not straight:
        return gettext("%(minutes)s min walk, %(distance)s", minutes=point["walk_minutes"],
                       distance=_short_distance(point["walk_m"]))
    return gettext("%(minutes)s min walk, %(distance)s (straight line %(straight)s)", minutes=point["walk_minutes"],
                   distance=_short_distance(point["walk_m"]), straight=_short_distance(point["distance_m"]))


def _short_distance(metres: float) -> str:
    """A distance in few characters: to ten metres below a kilometre, then to a tenth of one."""
    if metres < 1000:
        return gettext("%(metres)s m", metres=max(10, round(metres / 10) * 10))
    return gettext("%(kilometres)s km", kilometres=round(metres / 1000, 1))


def number(value) -> str:
    """A count grouped as the reader's language groups it (12,345)."""
    return format_decimal(value) if has_request_context() else f"{value:,}"


def init_app(app: Flask) -> None:
    CheckedBabel(app, locale_selector=_locale, default_locale=LOCALES[DEFAULT_LANGUAGE],
                 default_translation_directories=str(CATALOGS))
    app.add_template_filter(number, "number")
    app.add_template_global(distance_text, "distance")
    app.add_template_global(walk_text, "walk")
    app.add_template_global(labels, "labels")
    app.context_processor(lambda: {"lang": language(), "html_lang": labels.HTML_LANG[language()]})


def _locale() -> str:
    return LOCALES[choose_language(request)] if has_request_context() else LOCALES["en"]


class CheckedBabel(Babel):
    """Flask-Babel whose catalogs say when a message has no translation (see Untranslated)."""

    @functools.cached_property
    def domain_instance(self):
        return CheckedDomain(domain=self.domain)


class CheckedDomain(Domain):
    def get_translations(self):
        translations = super().get_translations()
        if not hasattr(translations, "checked"):  # once, as the catalog is first loaded
            locale = get_locale()
            translations.checked = locale is not None and locale.language != "en"
            if translations.checked:
                translations.add_fallback(Untranslated())
        return translations


class Untranslated(NullTranslations):
    """The last resort of a catalog: the English message id, and a log line naming it."""

    def gettext(self, message):
        _report(message)
        return message

    def ngettext(self, singular, plural, n):
        _report(singular)
        return singular if n == 1 else plural

    ugettext, ungettext = gettext, ngettext


@functools.lru_cache(maxsize=256)  # once a message: a missing translation is a fault to fix, not to count
def _report(message: str) -> None:
    log.warning("untranslated message: %r", message)
