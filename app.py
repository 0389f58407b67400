import sys

from kepu import create_app
from kepu.config import ConfigError

try:
    app = create_app()
except ConfigError as e:  # a clear message, not a traceback, and no server start
    print(e, file=sys.stderr)
    raise SystemExit(1) from None
