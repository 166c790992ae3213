"""URLs of the REST API, mounted at ``/api/`` (schema at ``/api/schema/``, docs at ``/api/docs/``).

Authentication: a session (browser; unsafe methods need the CSRF token) or a token from
``POST /api/token/`` with username and password, sent as ``Authorization: Token <key>``.
"""

from __future__ import annotations

from django.urls import path
from rest_framework.authtoken.views import obtain_auth_token
from rest_framework.routers import DefaultRouter

from salesops.core.api import AuditEventViewSet
from salesops.crm import api as crm_api
from salesops.crm import api_analytics as crm_analytics_api
from salesops.incentives import api as incentives_api
from salesops.incentives.api_estimates import EstimateView
from salesops.incentives.api_modelling import ModellingView
from salesops.org import api as org_api
from salesops.targets.api import TargetPlanViewSet

router = DefaultRouter()
router.register("regions", org_api.RegionViewSet, basename="region")
router.register("product-categories", org_api.ProductCategoryViewSet, basename="productcategory")
router.register("customer-segments", org_api.CustomerSegmentViewSet, basename="customersegment")
router.register("teams", org_api.TeamViewSet, basename="team")
router.register("products", org_api.ProductViewSet, basename="product")
router.register("salespeople", org_api.SalespersonViewSet, basename="salesperson")
router.register("assignments", org_api.AssignmentViewSet, basename="assignment")
router.register("customers", org_api.CustomerViewSet, basename="customer")
router.register("order-lines", org_api.OrderLineViewSet, basename="orderline")
router.register("payments", org_api.PaymentViewSet, basename="payment")
router.register("me", org_api.MeViewSet, basename="me")
router.register("audit-events", AuditEventViewSet, basename="auditevent")
router.register("target-plans", TargetPlanViewSet, basename="targetplan")
router.register("payouts", incentives_api.PayoutViewSet, basename="payout")
router.register("runs", incentives_api.RunViewSet, basename="comp-run")
router.register("adjustments", incentives_api.AdjustmentViewSet, basename="comp-adjustment")
router.register("disputes", incentives_api.DisputeViewSet, basename="comp-dispute")
router.register("stages", crm_api.StageViewSet, basename="crm-stage")
router.register("contacts", crm_api.ContactViewSet, basename="crm-contact")
router.register("opportunities", crm_api.OpportunityViewSet, basename="crm-opportunity")
router.register("activities", crm_api.ActivityViewSet, basename="crm-activity")
router.register("quotes", crm_api.QuoteViewSet, basename="crm-quote")
router.register("pending-approvals", crm_api.PendingApprovalViewSet, basename="crm-pending-approval")

urlpatterns = [
    path("token/", obtain_auth_token, name="api-token"),
    path("estimate/", EstimateView.as_view(), name="api-estimate"),
    path("modelling/", ModellingView.as_view(), name="api-modelling"),
    path("statements/<int:run_id>/<int:person_id>/", incentives_api.StatementView.as_view(), name="api-statement"),
    path("statements/<int:run_id>/<int:person_id>/why/<str:component>/", incentives_api.StatementWhyView.as_view(),
         name="api-statement-why"),
    path("customers/<int:pk>/overview/", crm_analytics_api.CustomerOverviewView.as_view(), name="api-customer-overview"),
    path("sales-process/deals/", crm_analytics_api.SalesProcessDealsView.as_view(), name="api-sales-process-deals"),
    path("sales-process/<str:figure>/", crm_analytics_api.SalesProcessView.as_view(), name="api-sales-process"),
    *router.urls,
]
