from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    path("", include("salesops.web.urls")),
    path("org/", include("salesops.org.urls")),
    path("imports/", include("salesops.imports.urls")),
    path("targets/", include("salesops.targets.urls")),
    path("incentives/", include("salesops.incentives.urls")),
    path("crm/", include("salesops.crm.urls")),
    path("api/", include("salesops.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
]
