"""The WSGI entry point: gunicorn -c gunicorn.conf.py wsgi:app."""

import sys

from tapbank import create_app
from tapbank.config import ConfigurationError, config_from_environment

try:
    settings = config_from_environment()
    settings.check_api()  # an API process: production also needs the admin key
    app = create_app(settings)
except ConfigurationError as refusal:
    sys.exit(f"tapbank refuses to start: {refusal}")
