from django.contrib import admin
from django.urls import path

import nexus_shop.metrics
from nexus_shop.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("metrics", nexus_shop.metrics.view),
]
