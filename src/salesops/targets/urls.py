from django.urls import path

from salesops.targets import views

app_name = "targets"
urlpatterns = [
    path("", views.plans, name="plans"),
    path("potential/", views.potential_tables, name="potential"),
    path("new/", views.plan_edit, name="plan-new"),
    path("<int:pk>/", views.plan, name="plan"),
    path("<int:pk>/edit/", views.plan_edit, name="plan-edit"),
    path("<int:pk>/status/", views.plan_transition, name="plan-transition"),
    path("<int:pk>/allocate/", views.plan_allocate, name="plan-allocate"),
    path("<int:pk>/new-version/", views.plan_new_version, name="plan-new-version"),
    path("<int:pk>/nodes/lock/", views.node_lock, name="node-lock"),
    path("<int:pk>/nodes/unlock/", views.node_unlock, name="node-unlock"),
    path("<int:pk>/nodes/manual/", views.node_manual, name="node-manual"),
    path("<int:pk>/nodes/commit/", views.node_commit, name="node-commit"),
    path("<int:pk>/nodes/accept/", views.node_accept, name="node-accept"),
    path("<int:pk>/diff/", views.plan_diff, name="plan-diff"),
    path("<int:pk>/attainment/", views.plan_attainment_page, name="plan-attainment"),
    path("<int:pk>/export.xlsx", views.plan_export, name="plan-export"),
    path("<int:pk>/import/", views.plan_import, name="plan-import"),
]
