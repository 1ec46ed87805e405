"""Imports every module of the core that declares tables, so the shared metadata is complete.

Migrations, the contract kit's model/migration comparison and the tenancy meta-test all look at
``Model.metadata``; a core table missing from it would escape them.
"""

from . import models  # noqa: F401
from .businesshours import models as business_hours_models  # noqa: F401
from .collaboration import models as collaboration_models  # noqa: F401
from .customfields import models as custom_field_models  # noqa: F401
from .dataio import models as dataio_models  # noqa: F401
from .events import models as events_models  # noqa: F401
from .graph import history as graph_history  # noqa: F401
from .graph import models as graph_models  # noqa: F401
from .identity import models as identity_models  # noqa: F401
from .identity import operators as identity_operators  # noqa: F401
from .notifications import models as notifications_models  # noqa: F401
from .ui import models as ui_models  # noqa: F401
from .workflows import models as workflows_models  # noqa: F401
