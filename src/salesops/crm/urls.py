from salesops.crm.views import activities, analytics, customers, pipeline, quotes

app_name = "crm"
urlpatterns = [
    *customers.urlpatterns,
    *pipeline.urlpatterns,
    *activities.urlpatterns,
    *quotes.urlpatterns,
    *analytics.urlpatterns,
]
