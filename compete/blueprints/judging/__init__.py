from . import (
    pairing_views,  # noqa: F401
    pool_views,  # noqa: F401
    protocol_views,  # noqa: F401
    unseal_views,  # noqa: F401
)
from .views import bp

__all__ = ["bp"]
