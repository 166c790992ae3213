"""Writes for users and profiles."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction

from salesops.core import audit
from salesops.core.models import Profile


@transaction.atomic
def user_create(*, actor, username: str, password: str | None, role: str, email: str = "", first_name: str = "",
                language: str = ""):
    user = get_user_model().objects.create_user(username=username, password=password, email=email, first_name=first_name)
    profile = Profile.objects.create(user=user, role=role, language=language)
    audit.record(actor=actor, event="user.created", subject=user, new={"username": username, "role": role})
    return user, profile


@transaction.atomic
def profile_set_language(*, actor, profile: Profile, language: str) -> Profile:
    old = profile.language
    profile.language = language
    profile.full_clean()
    profile.save(update_fields=["language"])
    if old != language:
        audit.record(actor=actor, event="profile.language_changed", subject=profile, old={"language": old},
                     new={"language": language})
    return profile
