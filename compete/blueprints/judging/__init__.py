from . import (
    pool_views,  # noqa: F401
    protocol_views,  # noqa: F401
    unseal_views,  # noqa: F401
)
from .views import bp

__all__ = ["bp"]
