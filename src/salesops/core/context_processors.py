"""What every page needs: the company, the navigation for the user's role, the role's name."""

from __future__ import annotations

from salesops.core.roles import Role, role_of


def shell(request):
    from salesops.org.models import Company
    from salesops.web.nav import nav_for

    if not getattr(request, "user", None) or not request.user.is_authenticated:
        return {"company": Company.current()}
    role = role_of(request.user)
    return {
        "company": Company.current(),
        "nav": nav_for(request),
        "user_role": role,
        "user_role_label": Role(role).label if role else "",
    }
