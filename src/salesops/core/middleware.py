"""Pick the interface language: the user's saved choice, else the browser's (LocaleMiddleware, which runs
before this), else the company's default language."""

from __future__ import annotations

from django.conf import settings
from django.utils import translation


class UserLanguageMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = self._chosen(request)
        if language:
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)

    @staticmethod
    def _chosen(request) -> str | None:
        user = getattr(request, "user", None)
        profile = getattr(user, "profile", None) if user is not None and user.is_authenticated else None
        if profile is not None and profile.language:
            return profile.language
        if request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) or request.headers.get("Accept-Language"):
            return None  # the browser (or an explicit switch) decides, as LocaleMiddleware already did
        from salesops.org.models import Company

        return Company.current().default_language
