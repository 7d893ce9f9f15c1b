"""Languages: Chinese by default, English one switch away (a cookie, then the browser)."""

from __future__ import annotations

import json
from functools import cache

from babel import Locale
from flask import Flask, current_app, request
from flask_babel import get_locale
from flask_login import current_user

from .extensions import babel

LANG_COOKIE = "lang"


@cache
def _locale(code: str) -> Locale:
    """Parsed once per process: parsing looks the locale data up on disk every time."""
    return Locale.parse(code)


def select_locale() -> Locale:
    return _locale(_select_code())


def _select_code() -> str:
    languages = current_app.config["LANGUAGES"]
    chosen = request.args.get("lang") or request.cookies.get(LANG_COOKIE)
    if chosen in languages:
        return chosen
    if getattr(current_user, "is_authenticated", False) and current_user.locale in languages:
        return current_user.locale
    best = request.accept_languages.best_match(["zh_CN", "zh", "en"])
    if best in ("zh", "zh_CN"):
        return "zh_CN"
    return best or current_app.config["BABEL_DEFAULT_LOCALE"]


def init_app(app: Flask) -> None:
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(app.root_path + "/translations"),
    )

    # Audit details and the like as readable JSON: Chinese kept as it is (autoescaped as text).
    app.jinja_env.filters["plainjson"] = lambda value: json.dumps(
        value, ensure_ascii=False, sort_keys=True, default=str
    )

    @app.context_processor
    def _languages():
        locale = str(get_locale())
        return {
            "languages": app.config["LANGUAGES"],
            "current_locale": locale,
            "html_lang": "zh-CN" if locale.startswith("zh") else locale,
        }
