from django.urls import path

from salesops.org import views

app_name = "org"
urlpatterns = [
    path("trees/", views.trees, name="trees"),
    path("trees/<str:kind>/", views.trees, name="tree"),
    path("trees/<str:kind>/new/", views.tree_node_edit, name="tree-node-new"),
    path("trees/<str:kind>/<int:pk>/", views.tree_node_edit, name="tree-node-edit"),
    path("trees/<str:kind>/<int:pk>/delete/", views.tree_node_delete, name="tree-node-delete"),
    path("people/", views.people, name="people"),
    path("people/new/", views.person_edit, name="person-new"),
    path("people/<int:pk>/", views.person, name="person"),
    path("people/<int:pk>/edit/", views.person_edit, name="person-edit"),
    path("people/<int:person_pk>/assignments/new/", views.assignment_edit, name="assignment-new"),
    path("people/<int:person_pk>/assignments/<int:pk>/", views.assignment_edit, name="assignment-edit"),
    path("customers/", views.customers, name="customers"),
    path("customers/new/", views.customer_edit, name="customer-new"),
    path("customers/<int:pk>/", views.customer, name="customer"),
    path("customers/<int:pk>/edit/", views.customer_edit, name="customer-edit"),
    path("products/", views.products, name="products"),
    path("products/new/", views.product_edit, name="product-new"),
    path("products/<int:pk>/", views.product_edit, name="product-edit"),
    path("lines/", views.lines, name="lines"),
    path("lines/new/", views.line_new, name="line-new"),
    path("lines/<int:pk>/", views.line, name="line"),
    path("lines/<int:pk>/payments/new/", views.payment_new, name="payment-new"),
    path("company/", views.company, name="company"),
]
