from django.urls import path

from portal.catalog import views

app_name = "catalog"
urlpatterns = [
    path("", views.catalog_list, name="list"),
    path("definitions/<str:definition_id>/", views.catalog_detail, name="detail"),
    path("definitions/<str:definition_id>/order/", views.order_start, name="order_start"),
    path("orders/new/<str:key>/", views.order_parameters, name="order_parameters"),
    path("orders/new/<str:key>/review/", views.order_review, name="order_review"),
    path("orders/<int:pk>/correct/", views.order_correct, name="order_correct"),
]
