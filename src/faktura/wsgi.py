import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "faktura.settings")
django.setup(set_prefix=False)

from faktura.core.handlers import Application  # noqa: E402  (needs the settings)

application = Application()
