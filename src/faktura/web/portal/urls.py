from django.urls import path

from faktura.web.portal.views import home, public

app_name = "portal"

urlpatterns = [
    path("", home.home, name="home"),
    path("anmelden/", public.login, name="login"),
    path("kuendigen/", public.cancel_contract, name="cancel_contract"),
]
