from django.urls import path

from salesops.incentives import views

app_name = "incentives"
urlpatterns = [
    path("", views.statements, name="statements"),
    path("runs/<int:run_id>/people/<int:person_id>/", views.statement, name="statement"),
]
