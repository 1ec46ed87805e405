"""Imports every module of the core that declares tables, so the shared metadata is complete.

Migrations, the contract kit's model/migration comparison and the tenancy meta-test all look at
``Model.metadata``; a core table missing from it would escape them.
"""

from .graph import models as graph_models  # noqa: F401
from . import models  # noqa: F401
from .identity import models as identity_models  # noqa: F401
from .events import models as events_models  # noqa: F401
