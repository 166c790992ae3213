from django.urls import path

from salesops.incentives.views import estimates, statements

app_name = "incentives"
urlpatterns = [
    path("", statements.statements, name="statements"),
    path("runs/<int:run_id>/people/<int:person_id>/", statements.statement, name="statement"),
    path("estimate/", estimates.estimate, name="estimate"),
]
