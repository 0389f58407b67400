"""Imports every model module so that metadata (and Alembic) sees all tables."""
from .accounts.models import Grant, User  # noqa: F401
from .admin.models import Campaign  # noqa: F401
from .files.models import StoredFile  # noqa: F401
from .jobs import Job  # noqa: F401
from .orgs.models import Org, OrgAlias, UnitApplication  # noqa: F401
from .sms.models import SmsCode  # noqa: F401
from .workflow import AuditLog  # noqa: F401
from .works.models import Work, WorkAssignment, WorkUnitQuota  # noqa: F401
from .cases.models import *  # noqa: F401,F403
from .science_day.models import (Activity, ActivityPublic, ActivityPublicVersion,  # noqa: F401
                                 ActivityTally, InfoOfficer)
from .science_day.after_models import (ActivityScientist, ActivitySupplement,  # noqa: F401
                                       AnnualReport, Resource, ScientistThanks)
from .science_day.tuiyou_models import (ExcellentActivity, ExcellentUnit,  # noqa: F401
                                        TuiyouGrant, TuiyouPublication, TuiyouQuota)
