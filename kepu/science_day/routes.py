"""Imports the route modules (see the package docstring for who owns which URLs)."""
from . import review_routes  # noqa: F401
from . import admin_routes  # noqa: F401
from . import apply_routes  # noqa: F401
from . import public_routes  # noqa: F401
from . import listing_routes  # noqa: F401
from . import supplement_routes  # noqa: F401
from . import thanks_routes  # noqa: F401
from . import poster_routes  # noqa: F401
from . import resource_routes  # noqa: F401
from . import annual_routes  # noqa: F401
from . import summary_routes  # noqa: F401
from . import tuiyou_routes  # noqa: F401
from . import tuiyou_unit_routes  # noqa: F401
from . import stats_routes  # noqa: F401
from . import tuiyou_result_routes  # noqa: F401
