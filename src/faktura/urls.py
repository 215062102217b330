from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from faktura.api.router import api
from faktura.core import views as ops

admin.site.site_header = "Faktura"
admin.site.site_title = "Faktura"
admin.site.index_title = _("Verwaltung")

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("health/live", ops.live, name="health-live"),
    path("health/ready", ops.ready, name="health-ready"),
    path("metrics", ops.prometheus, name="metrics"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("portal/", include("faktura.web.portal.urls")),
    path("", include("faktura.web.backoffice.urls")),
]
