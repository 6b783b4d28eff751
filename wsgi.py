"""The WSGI entry point: gunicorn -c gunicorn.conf.py wsgi:app."""

import sys

from tapbank import create_app
from tapbank.config import ConfigurationError

try:
    app = create_app()
except ConfigurationError as refusal:
    sys.exit(f"tapbank refuses to start: {refusal}")
