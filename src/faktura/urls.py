from django.contrib import admin
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

from faktura.api.router import api
from faktura.core import views as ops

admin.site.site_header = "Faktura"
admin.site.site_title = "Faktura"
admin.site.index_title = _("Verwaltung")

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("health/live", ops.live, name="health-live"),
    path("health/ready", ops.ready, name="health-ready"),
    path("metrics", ops.prometheus, name="metrics"),
]
