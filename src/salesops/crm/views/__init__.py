"""HTML pages of the crm app, one module per area; each module lists its own ``urlpatterns``, which
``crm/urls.py`` joins under ``/crm/``."""
