from django.urls import path

from salesops.imports import views

app_name = "imports"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.upload, name="upload"),
    path("<int:pk>/", views.batch_detail, name="batch"),
    path("<int:pk>/map/", views.mapping, name="mapping"),
    path("<int:pk>/errors/", views.batch_errors, name="errors"),
    path("export/<str:kind>/", views.export, name="export"),
]
