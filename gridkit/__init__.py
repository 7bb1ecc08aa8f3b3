"""gridkit: grid-based management (网格化管理) for Python.

Divide a jurisdiction into management grids from road, village and building
layers, balance the work per grid, prove full coverage with no gaps or
overlaps, plan patrol routes and publish maps and tables.

GeoDataFrame in, GeoDataFrame out; inputs are never modified; every
geometric operation runs in a metric CRS (see :mod:`gridkit.crs`).
"""

from gridkit._errors import *  # noqa: F401,F403
from gridkit.adjacency import *  # noqa: F401,F403
from gridkit.checkpoints import *  # noqa: F401,F403
from gridkit.codes import *  # noqa: F401,F403
from gridkit.coverage import *  # noqa: F401,F403
from gridkit.crs import *  # noqa: F401,F403
from gridkit.diff import *  # noqa: F401,F403
from gridkit.distributed import *  # noqa: F401,F403
from gridkit.distributed_pipeline import *  # noqa: F401,F403
from gridkit.gcj02 import *  # noqa: F401,F403
from gridkit.io import *  # noqa: F401,F403
from gridkit.layers import *  # noqa: F401,F403
from gridkit.partition import *  # noqa: F401,F403
from gridkit.postman import *  # noqa: F401,F403
from gridkit.posters import *  # noqa: F401,F403
from gridkit.reach import *  # noqa: F401,F403
from gridkit.repair import *  # noqa: F401,F403
from gridkit.requirements import *  # noqa: F401,F403
from gridkit.roadgraph import *  # noqa: F401,F403
from gridkit.sample import *  # noqa: F401,F403
from gridkit.schedule import *  # noqa: F401,F403
from gridkit.siting import *  # noqa: F401,F403
from gridkit.spatial_parquet import *  # noqa: F401,F403
from gridkit.synthetic import *  # noqa: F401,F403
from gridkit.tables import *  # noqa: F401,F403
from gridkit.units import *  # noqa: F401,F403
from gridkit.visits import *  # noqa: F401,F403
from gridkit.webmap import *  # noqa: F401,F403
from gridkit.workload import *  # noqa: F401,F403

__version__ = "0.1.0"
