from django.urls import path

from salesops.incentives.views import estimates, modelling, plans, runs, statements

app_name = "incentives"
urlpatterns = [
    path("", statements.statements, name="statements"),
    path("runs/<int:run_id>/people/<int:person_id>/", statements.statement, name="statement"),
    path("runs/<int:run_id>/people/<int:person_id>/why/<str:component>/", statements.why, name="why"),
    path("runs/<int:run_id>/people/<int:person_id>/pdf/", statements.statement_pdf, name="statement-pdf"),
    path("plans/", plans.plans, name="plans"),
    path("plans/<int:plan_id>/", plans.plan, name="plan"),
    path("plans/<int:plan_id>/v<int:version>.yaml", plans.plan_version_yaml, name="plan-yaml"),
    path("runs/", runs.runs, name="runs"),
    path("runs/<int:run_id>/", runs.run, name="run"),
    path("runs/<int:run_id>/<str:action>/", runs.run_action, name="run-action"),
    path("runs/<int:run_id>/payroll.<str:fmt>", runs.payroll, name="payroll"),
    path("adjustments/", runs.adjustments, name="adjustments"),
    path("adjustments/<int:adjustment_id>/decide/", runs.adjustment_decide, name="adjustment-decide"),
    path("disputes/", runs.disputes, name="disputes"),
    path("disputes/<int:dispute_id>/", runs.dispute, name="dispute"),
    path("lines/<int:payout_id>/dispute/", runs.dispute_raise, name="dispute-raise"),
    path("estimate/", estimates.estimate, name="estimate"),
    path("modelling/", modelling.modelling_page, name="modelling"),
    path("modelling/drafts/", modelling.modelling_draft, name="modelling-draft"),
]
